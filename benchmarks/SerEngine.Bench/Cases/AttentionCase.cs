using System.Globalization;
using System.Text.RegularExpressions;
using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// <c>attention.fwd_bwd.NxHxTxD</c>: Ops.Attention over q, k, v [N, H, T, D] with a bias [N, H, T, T]
/// (FocusCalibrationNet's focus bias) and dropout 0.1 in training mode; forward, then the backward of
/// ones to O into q, k, v and the bias. Not a PyTorch-compared case (BENCH_CASES.md): it compares the
/// fused kernel with the composed primitives ($SERENGINE_ATTENTION_VARIANT = fused or composed).
/// </summary>
/// <param name="n">N.</param>
/// <param name="heads">H.</param>
/// <param name="t">T.</param>
/// <param name="d">D.</param>
public sealed partial class AttentionCase(int n, int heads, int t, int d) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"attention.fwd_bwd.{n}x{heads}x{t}x{d}";

    /// <inheritdoc/>
    public override string Description => $"attention q, k, v [{n}, {heads}, {t}, {d}] + bias [{n}, {heads}, {t}, {t}], dropout 0.1: forward, backward of ones to O";

    /// <summary>The case <paramref name="name"/> names (<c>attention.fwd_bwd.32x4x15x64</c>), or null.</summary>
    public static AttentionCase? Parse(string name)
    {
        var m = NamePattern().Match(name);
        if (!m.Success) return null;
        int At(int i) => int.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        return new AttentionCase(At(1), At(2), At(3), At(4));
    }

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var rng = new Generator(5);
        var shape = new Shape(n, heads, t, d);
        Tensor q, k, v, bias, ones;
        using (TensorScope.Suspend())
        {
            q = Tensor.RandomNormal(shape, rng, backend: backend);
            k = Tensor.RandomNormal(shape, rng, backend: backend);
            v = Tensor.RandomNormal(shape, rng, backend: backend);
            bias = Tensor.RandomNormal(new Shape(n, heads, t, t), rng, backend: backend);
            ones = Tensor.Ones(shape, backend);
        }
        foreach (var x in new[] { q, k, v, bias }) x.RequiresGrad = true;
        // forward Q Kᵀ and A V, backward dO Vᵀ, Aᵀ dO, g K and gᵀ Q: six products of 2·T²·D per item
        double flops = 6.0 * 2 * n * heads * t * t * d;
        return new BenchStep(() =>
        {
            using var scope = TensorScope.Begin();
            foreach (var x in new[] { q, k, v, bias }) x.ZeroGrad();
            var (o, _) = Ops.Attention(q, k, v, bias, null, 1f / MathF.Sqrt(d), 0.1f, training: true, rng);
            o.Backward(ones);
            BenchInputs.ReadOne(q.Grad!);
        }, flops, Cleanup: () => { q.Dispose(); k.Dispose(); v.Dispose(); bias.Dispose(); ones.Dispose(); });
    }

    [GeneratedRegex(@"^attention\.fwd_bwd\.([1-9]\d{0,3})x([1-9]\d{0,2})x([1-9]\d{0,3})x([1-9]\d{0,3})$")]
    private static partial Regex NamePattern();
}
