using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine.Tests;

/// <summary>
/// Finite-difference gradient checks. The loss is L = Σ f(inputs) · R with a fixed random R, the
/// analytic gradient comes from Backward(), the numeric one from central differences
/// (L(x + ε) − L(x − ε)) / 2ε per element, with L accumulated in double on the host. The engine's
/// tensors are float32, so ε is large enough for float32 round-off (1e-2 by default) and the
/// comparison is norm-wise: ‖numeric − analytic‖ ≤ rtol·‖numeric‖ + atol·√n.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks every Float32 input of <paramref name="f"/> that requires gradients.</summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-2, double rtol = 1e-2, double atol = 1e-4, ulong seed = 7)
    {
        Tensor probe;
        using (Graph.NoGrad()) probe = f(inputs);
        var rng = new Generator(seed);
        var r = new double[probe.Size];
        for (int i = 0; i < r.Length; i++) r[i] = rng.NextNormal();
        var rTensor = Tensor.FromArray(r.Select(v => (float)v).ToArray(), probe.Shape, probe.Backend);

        foreach (var t in inputs) t.ZeroGrad();
        var y = f(inputs);
        Graph.Backward([y], [rTensor]);

        for (int idx = 0; idx < inputs.Length; idx++)
        {
            var x = inputs[idx];
            if (!x.RequiresGrad) continue;
            Assert.True(x.Grad is not null, $"input {idx} {x.Shape} received no gradient");
            var analytic = x.Grad!.ToArray();
            var values = x.ToArray();
            var numeric = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                float orig = values[i];
                values[i] = orig + (float)eps;
                x.Backend.Write(x.Storage, values);
                double plus = Loss(f, inputs, r);
                values[i] = orig - (float)eps;
                x.Backend.Write(x.Storage, values);
                double minus = Loss(f, inputs, r);
                values[i] = orig;
                x.Backend.Write(x.Storage, values);
                numeric[i] = (plus - minus) / (2 * eps);
            }
            double diff = 0, norm = 0;
            int worst = 0;
            double worstErr = -1;
            for (int i = 0; i < numeric.Length; i++)
            {
                double e = numeric[i] - analytic[i];
                diff += e * e;
                norm += numeric[i] * numeric[i];
                if (Math.Abs(e) > worstErr) { worstErr = Math.Abs(e); worst = i; }
            }
            double lhs = Math.Sqrt(diff), rhs = rtol * Math.Sqrt(norm) + atol * Math.Sqrt(numeric.Length);
            Assert.True(lhs <= rhs,
                $"gradient of input {idx} {x.Shape}: ‖numeric − analytic‖ = {lhs:G4} > {rhs:G4}; worst element {worst}: numeric {numeric[worst]:G6} vs analytic {analytic[worst]:G6}");
        }
    }

    private static double Loss(Func<Tensor[], Tensor> f, Tensor[] inputs, double[] r)
    {
        using var _ = Graph.NoGrad();
        var y = f(inputs).ToArray();
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += y[i] * r[i];
        return s;
    }

    /// <summary>A leaf tensor of normal values that requires gradients.</summary>
    public static Tensor Param(Backend backend, Generator rng, params int[] dims)
    {
        var t = Tensor.RandomNormal(new Shape(dims), rng, backend: backend);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>The two CPU backends, for [Theory] data.</summary>
    public static TheoryData<string> CpuBackends => new() { "cpu-reference", "cpu" };
}
