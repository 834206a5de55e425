using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// <c>conv2d.fwd[_bwd].NxCxHxW.kRxK</c>: conv2d of x [N, C, H, W] with w [K, C, R, R], padding R/2,
/// stride 1, no bias; forward only, or forward then the backward of sum(y) to both x and w.
/// </summary>
/// <param name="backward">Also run the backward pass.</param>
/// <param name="n">N.</param>
/// <param name="c">C.</param>
/// <param name="h">H.</param>
/// <param name="w">W.</param>
/// <param name="kernel">R (= S).</param>
/// <param name="k">K.</param>
public sealed class Conv2dCase(bool backward, int n, int c, int h, int w, int kernel, int k) : BenchCase
{
    /// <summary>The case called <paramref name="name"/> (<c>conv2d.fwd.32x16x25x62.k3x32</c>: any N, C, H, W, R and K), or null.</summary>
    public static Conv2dCase? Parse(string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^conv2d\.(fwd|fwd_bwd)\.([1-9]\d{0,3})x([1-9]\d{0,4})x([1-9]\d{0,4})x([1-9]\d{0,4})\.k([1-9]\d?)x([1-9]\d{0,4})$");
        if (!m.Success) return null;
        int At(int i) => int.Parse(m.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture);
        return new Conv2dCase(m.Groups[1].Value == "fwd_bwd", At(2), At(3), At(4), At(5), At(6), At(7));
    }

    /// <inheritdoc/>
    public override string Name => $"conv2d.{(backward ? "fwd_bwd" : "fwd")}.{n}x{c}x{h}x{w}.k{kernel}x{k}";

    /// <inheritdoc/>
    public override string Description => $"conv2d x [{n}, {c}, {h}, {w}], w [{k}, {c}, {kernel}, {kernel}], padding {kernel / 2}, no bias" +
        (backward ? ": forward, then backward of sum(y) to x and w" : ": forward");

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var rng = new Generator(3);
        Tensor x, wt;
        using (TensorScope.Suspend())
        {
            x = Tensor.RandomNormal(new Shape(n, c, h, w), rng, backend: backend);
            wt = Tensor.RandomNormal(new Shape(k, c, kernel, kernel), rng, 0f, 0.05f, backend);
        }
        x.RequiresGrad = backward;
        wt.RequiresGrad = backward;
        int pad = kernel / 2;
        int outH = h + 2 * pad - kernel + 1, outW = w + 2 * pad - kernel + 1;
        double flops = 2.0 * n * k * outH * outW * c * kernel * kernel * (backward ? 3 : 1);
        return new BenchStep(() =>
        {
            using var scope = TensorScope.Begin();
            x.ZeroGrad();
            wt.ZeroGrad();
            var y = Ops.Conv2d(x, wt, null, padding: (pad, pad));
            if (backward)
            {
                Ops.Sum(y).Backward();
                BenchInputs.ReadOne(wt.Grad!);
            }
            else
            {
                BenchInputs.ReadOne(y);
            }
        }, flops, Cleanup: () => { x.Dispose(); wt.Dispose(); });
    }
}

/// <summary>
/// <c>softmax.biased_masked.fwd_bwd.NxHxLxL</c>: y = softmax(0.125·s + bias) over the last axis with
/// keys at index ≥ <paramref name="validKeys"/> masked, s and bias [N, H, L, L]; forward, then the
/// backward of ones to s.
/// </summary>
/// <param name="n">N.</param>
/// <param name="heads">H.</param>
/// <param name="length">L.</param>
/// <param name="validKeys">Keys kept (the rest are masked).</param>
public sealed class BiasedSoftmaxCase(int n, int heads, int length, int validKeys) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"softmax.biased_masked.fwd_bwd.{n}x{heads}x{length}x{length}";

    /// <inheritdoc/>
    public override string Description => $"softmax(0.125·s + bias) over [{n}, {heads}, {length}, {length}], keys ≥ {validKeys} masked; forward, backward of ones to s";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var rng = new Generator(4);
        var shape = new Shape(n, heads, length, length);
        Tensor s, bias, mask, ones;
        using (TensorScope.Suspend())
        {
            s = Tensor.RandomNormal(shape, rng, backend: backend);
            bias = Tensor.RandomNormal(shape, rng, backend: backend);
            var m = new int[n * length];
            for (int i = 0; i < m.Length; i++) m[i] = i % length < validKeys ? 1 : 0;
            mask = Tensor.FromArray(m, new Shape(n, length), backend);
            ones = Tensor.Ones(shape, backend);
        }
        s.RequiresGrad = true;
        // forward reads s and bias, writes y; backward reads y and dy, writes ds
        double bytes = 6.0 * shape.Size * sizeof(float);
        return new BenchStep(() =>
        {
            using var scope = TensorScope.Begin();
            s.ZeroGrad();
            var y = Ops.BiasedSoftmax(s, bias, mask, 0.125f);
            y.Backward(ones);
            BenchInputs.ReadOne(s.Grad!);
        }, Bytes: bytes, Cleanup: () => { s.Dispose(); bias.Dispose(); mask.Dispose(); ones.Dispose(); });
    }
}

/// <summary><c>sgemm.N</c>: C = A·B for N×N float32 matrices (the backend's GEMM primitive into a preallocated C).</summary>
/// <param name="size">N.</param>
public sealed class SgemmCase(int size) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"sgemm.{size}";

    /// <inheritdoc/>
    public override string Description => $"C = A·B, {size}×{size} float32";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var rng = new Generator(5);
        var shape = new Shape(size, size);
        Tensor a, b, c;
        using (TensorScope.Suspend())
        {
            a = Tensor.RandomNormal(shape, rng, backend: backend);
            b = Tensor.RandomNormal(shape, rng, backend: backend);
            c = Tensor.Empty(shape, DType.Float32, backend);
        }
        return new BenchStep(() =>
        {
            backend.Gemm(false, false, 1, size, size, size, 1f, a.Storage, 0, b.Storage, 0, 0f, c.Storage, 0);
            BenchInputs.ReadOne(c);
        }, 2.0 * size * size * size, Cleanup: () => { a.Dispose(); b.Dispose(); c.Dispose(); });
    }
}
