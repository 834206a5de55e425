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
    /// <summary>
    /// Checks every Float32 input of <paramref name="f"/> that requires gradients: every element, or with
    /// <paramref name="sample"/> &gt; 0 that many elements per input, drawn with <paramref name="seed"/>
    /// (for devices where one forward pass costs a second: ILGPU's CPU accelerator).
    /// </summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-2, double rtol = 1e-2, double atol = 1e-4, ulong seed = 7, int sample = 0)
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
            var values = x.ToArray();
            int[] at = Coordinates(values.Length, sample, rng);
            var allAnalytic = x.Grad!.ToArray();
            var analytic = at.Select(i => allAnalytic[i]).ToArray();
            var numeric = new double[at.Length];
            for (int k = 0; k < at.Length; k++)
            {
                int i = at[k];
                float orig = values[i];
                values[i] = orig + (float)eps;
                x.Backend.Write(x.Storage, values);
                double plus = Loss(f, inputs, r);
                values[i] = orig - (float)eps;
                x.Backend.Write(x.Storage, values);
                double minus = Loss(f, inputs, r);
                values[i] = orig;
                x.Backend.Write(x.Storage, values);
                numeric[k] = (plus - minus) / (2 * eps);
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
                $"gradient of input {idx} {x.Shape}: ‖numeric − analytic‖ = {lhs:G4} > {rhs:G4}; worst element {at[worst]}: numeric {numeric[worst]:G6} vs analytic {analytic[worst]:G6}");
        }
    }

    /// <summary>Every index of an n-element tensor, or <paramref name="sample"/> distinct ones drawn with <paramref name="rng"/>, ascending.</summary>
    private static int[] Coordinates(int n, int sample, Generator rng)
    {
        if (sample <= 0 || sample >= n) return Enumerable.Range(0, n).ToArray();
        var chosen = new SortedSet<int>();
        while (chosen.Count < sample) chosen.Add(rng.NextInt(n));
        return [.. chosen];
    }

    /// <summary>
    /// The analytic gradients of <paramref name="build"/>'s output (weighted by a fixed random R) on
    /// <paramref name="device"/> equal those on <paramref name="reference"/>, every element of every input:
    /// the complement of a sampled finite-difference check. <paramref name="build"/> must make the same
    /// tensors (same generator seeds) on whichever backend it is given.
    /// </summary>
    public static void SameGradients(Func<Backend, (Tensor Y, Tensor[] Inputs)> build, Backend device, Backend reference, double rtol = 1e-4, double atol = 1e-5)
    {
        float[][] Grads(Backend be)
        {
            var (y, inputs) = build(be);
            var rng = new Generator(7);
            var r = Tensor.FromArray(Enumerable.Range(0, checked((int)y.Size)).Select(_ => (float)rng.NextNormal()).ToArray(), y.Shape, be);
            Graph.Backward([y], [r]);
            return [.. inputs.Select(t => t.Grad!.ToArray())];
        }
        var got = Grads(device);
        var want = Grads(reference);
        Assert.Equal(want.Length, got.Length);
        for (int k = 0; k < want.Length; k++)
        {
            double diff = 0, norm = 0;
            for (int i = 0; i < want[k].Length; i++)
            {
                double e = got[k][i] - want[k][i];
                diff += e * e;
                norm += (double)want[k][i] * want[k][i];
            }
            double lhs = Math.Sqrt(diff), rhs = rtol * Math.Sqrt(norm) + atol * Math.Sqrt(want[k].Length);
            Assert.True(lhs <= rhs, $"gradient of input {k} on {device.Name}: ‖device − {reference.Name}‖ = {lhs:G4} > {rhs:G4}");
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
