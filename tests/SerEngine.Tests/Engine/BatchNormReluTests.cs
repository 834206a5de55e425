using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Nn;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Ops.BatchNormRelu (ReLU(BatchNorm2d(x)), several inputs concatenated along channels) against the
/// separate ops it replaces (BatchNorm2d, Relu, Concat): on the fast cpu backend (1 and 2 threads) the
/// output, the running buffers and every gradient are the same bits; on cpu-reference (whose primitives
/// are the defaults, the separate ones) too; and the fast result agrees with the reference one. Sizes
/// with rows of a multiple of eight values and with a tail, training and eval, one and two inputs.
/// Likewise Ops.BatchNormReluMaxPool against BatchNorm2d, Relu and MaxPool2d. A bias already in x (InputBias)
/// gets the gradient its own Add (SumTo, as a convolution's bias) would give, bit for bit. With a column
/// mask (AttentionFcn's valid frames) Ops.BatchNormRelu against the masked BatchNorm2d and Relu, likewise.
/// </summary>
public class BatchNormReluTests
{
    // N, channels of each input, H, W
    public static TheoryData<int, int[], int, int, bool> Cases => new()
    {
        { 2, [3], 3, 5, true },
        { 2, [3], 3, 5, false },
        { 4, [8, 8], 5, 31, true },     // the concat of FocusCalibrationNet's first two branches, smaller
        { 4, [8, 8], 5, 31, false },
        { 3, [5, 2, 4], 4, 8, true },    // rows of exactly eight values, three inputs
        { 8, [32], 9, 62, true },        // above the threshold for threads
        { 3, [4], 5, 9, true },          // HW 45: the summing row backward's 32-, 8- and one-value steps
        { 2, [3, 2], 8, 9, true },       // HW 72: two 32-value steps and one of eight, no scalar tail
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FusedGivesTheSeparateOpsBitForBit(int n, int[] channels, int h, int w, bool training)
    {
        foreach (var be in new Backend[] { new CpuBackend(1), new CpuBackend(2), FastAgreement.Ref })
        {
            var fused = Run(be, n, channels, h, w, training, fused: true);
            var separate = Run(be, n, channels, h, w, training, fused: false);
            Assert.Equal(separate.Length, fused.Length);
            for (int i = 0; i < fused.Length; i++) Assert.Equal(separate[i], fused[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastAgreesWithTheReference(int n, int[] channels, int h, int w, bool training)
    {
        var expected = Run(FastAgreement.Ref, n, channels, h, w, training, fused: true);
        var actual = Run(new CpuBackend(2), n, channels, h, w, training, fused: true);
        for (int i = 0; i < expected.Length; i++)
            if (training && i % 6 == 0 && i > 0) NearZero(actual[i], actual[i - 3], $"input-bias gradient {i}");
            else FastAgreement.Agree(expected[i], actual[i], $"output/buffer/gradient {i}");
    }

    // N, C, H, W, pool kernel, training
    public static TheoryData<int, int, int, int, int, bool> PoolCases => new()
    {
        { 2, 3, 5, 7, 2, true },
        { 2, 3, 5, 7, 2, false },
        { 4, 8, 25, 62, 2, true },      // FocusCalibrationNet's conv2 map, fewer images and channels
        { 3, 5, 12, 31, 2, true },      // its conv3 map: odd width, a pooled row under eight outputs
        { 2, 4, 9, 40, 3, true },
        { 3, 3, 7, 17, 2, true },       // odd height and width, one row of exactly eight outputs (the 2×2 register kernels)
        { 2, 2, 4, 16, 2, false },      // eval mode through the 2×2 register kernels
        { 2, 3, 6, 33, 2, true },       // odd width, exactly sixteen outputs a row (the 512-bit forward kernel, one group)
        { 2, 2, 4, 46, 2, true },       // 23 outputs a row: the 512-bit kernel's second group overlaps the first
        { 2, 2, 4, 32, 2, false },      // eval mode through the 512-bit forward kernel
    };

    [Theory]
    [InlineData(4, 3, 25, 62)]
    [InlineData(3, 2, 7, 17)]
    public void FusedPoolKeepsSignedZeroGradientsBitForBit(int n, int c, int h, int w)
    {
        // dy with +0 and −0 entries: the fused backward's masked gradient is +0 + dy, as the separate MaxPool2dBackward's sum
        foreach (var be in new Backend[] { new CpuBackend(1), new CpuBackend(2) })
        {
            var fused = RunPool(be, n, c, h, w, 2, true, fused: true, signedZeros: true);
            var separate = RunPool(be, n, c, h, w, 2, true, fused: false, signedZeros: true);
            for (int i = 0; i < fused.Length; i++) // bits: float equality takes −0 for +0
                Assert.Equal(separate[i].Select(BitConverter.SingleToInt32Bits), fused[i].Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void FusedPoolGivesTheSeparateOpsBitForBit(int n, int c, int h, int w, int k, bool training)
    {
        foreach (var be in new Backend[] { new CpuBackend(1), new CpuBackend(2), FastAgreement.Ref })
        {
            var fused = RunPool(be, n, c, h, w, k, training, fused: true);
            var separate = RunPool(be, n, c, h, w, k, training, fused: false);
            for (int i = 0; i < fused.Length; i++) Assert.Equal(separate[i], fused[i]);
        }
    }

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void FastPoolAgreesWithTheReference(int n, int c, int h, int w, int k, bool training)
    {
        var expected = RunPool(FastAgreement.Ref, n, c, h, w, k, training, fused: true);
        var actual = RunPool(new CpuBackend(2), n, c, h, w, k, training, fused: true);
        for (int i = 0; i < expected.Length; i++)
            if (training && i == 6) NearZero(actual[i], actual[3], "input-bias gradient");
            else FastAgreement.Agree(expected[i], actual[i], $"output/buffer/gradient {i}");
    }

    // N, C, H, W, valid columns of each item, training
    public static TheoryData<int, int, int, int, int[], bool> MaskedCases => new()
    {
        { 3, 4, 5, 13, [13, 9, 6], true },
        { 3, 4, 5, 13, [13, 9, 6], false },
        { 2, 3, 4, 8, [8, 8], true },                 // every column valid: no mask
        { 16, 8, 7, 40, [40, 38, 36, 35, 33, 31, 30, 29, 28, 27, 26, 25, 24, 17, 9, 3], true }, // above the threshold for threads
    };

    [Theory]
    [MemberData(nameof(MaskedCases))]
    public void MaskedFusedGivesTheSeparateOpsBitForBit(int n, int c, int h, int w, int[] valid, bool training)
    {
        foreach (var be in new Backend[] { new CpuBackend(1), new CpuBackend(2), FastAgreement.Ref })
        {
            var fused = RunMasked(be, n, c, h, w, valid, training, fused: true);
            var separate = RunMasked(be, n, c, h, w, valid, training, fused: false);
            for (int i = 0; i < fused.Length; i++) Assert.Equal(separate[i], fused[i]);
        }
    }

    [Theory]
    [MemberData(nameof(MaskedCases))]
    public void MaskedFastAgreesWithTheReference(int n, int c, int h, int w, int[] valid, bool training)
    {
        var expected = RunMasked(FastAgreement.Ref, n, c, h, w, valid, training, fused: true);
        var actual = RunMasked(new CpuBackend(2), n, c, h, w, valid, training, fused: true);
        for (int i = 0; i < expected.Length; i++) FastAgreement.Agree(expected[i], actual[i], $"output/buffer/gradient {i}");
    }

    /// <summary>y, the running mean and variance, the gradients of x, weight and bias, of Σ(ReLU(BN(x, valid))·R).</summary>
    private static float[][] RunMasked(Backend be, int n, int c, int h, int w, int[] valid, bool training, bool fused)
    {
        var rng = new Generator(29);
        var x = Tensor.RandomNormal(new Shape(n, c, h, w), rng, mean: 0.2f, backend: be);
        x.RequiresGrad = true;
        var bn = new BatchNorm2d(c, backend: be);
        bn.Weight.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, mean: 1f, backend: be).ToArray());
        bn.Bias.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray());
        bn.RunningMean.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray());
        bn.RunningVar.CopyFrom([.. Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray().Select(v => 0.5f + MathF.Abs(v))]);
        if (!training) bn.Eval();
        var y = fused ? bn.ForwardRelu(x, valid) : bn.Forward(x, valid).Relu();
        var r = Tensor.RandomNormal(y.Shape, new Generator(5), backend: be);
        Ops.Sum(Ops.Mul(y, r)).Backward();
        return [y.ToArray(), bn.RunningMean.ToArray(), bn.RunningVar.ToArray(), x.Grad!.ToArray(), bn.Weight.Grad!.ToArray(), bn.Bias.Grad!.ToArray()];
    }

    /// <summary>
    /// In training the batch norm's dx sums to zero per channel (it is orthogonal to a constant shift of x), so an
    /// input bias's gradient is rounding noise, which no two summation orders share: it must stay small against dx.
    /// </summary>
    private static void NearZero(float[] inputBiasGrad, float[] dx, string what)
    {
        double scale = Math.Sqrt(dx.Sum(v => (double)v * v));
        foreach (float v in inputBiasGrad) Assert.True(Math.Abs(v) <= 1e-4 * scale + 1e-6, $"{what}: {v} against ‖dx‖ = {scale:G4}");
    }

    /// <summary>y, the running mean and variance, the gradients of x, weight and bias, of Σ(MaxPool(ReLU(BN(x)))·R).</summary>
    private static float[][] RunPool(Backend be, int n, int c, int h, int w, int k, bool training, bool fused, bool signedZeros = false)
    {
        var rng = new Generator(23);
        var x = Tensor.RandomNormal(new Shape(n, c, h, w), rng, mean: -0.2f, backend: be);
        x.RequiresGrad = true;
        var bn = new BatchNorm2d(c, backend: be);
        bn.Weight.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, mean: 1f, backend: be).ToArray());
        bn.Bias.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, mean: -0.5f, backend: be).ToArray()); // many windows all ≤ 0
        bn.RunningMean.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray());
        bn.RunningVar.CopyFrom([.. Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray().Select(v => 0.5f + MathF.Abs(v))]);
        if (!training) bn.Eval();
        var ib = Tensor.RandomNormal(new Shape(c), rng, backend: be); // a bias already in x (a convolution's)
        ib.RequiresGrad = true;
        var y = fused ? bn.ForwardReluMaxPool(Ops.Add(x, ib.Detach().Reshape(1, c, 1, 1)), (k, k), ib)
            : Ops.MaxPool2d(bn.Forward(Ops.Add(x, ib.Reshape(1, c, 1, 1))).Relu(), (k, k));
        var r = Tensor.RandomNormal(y.Shape, new Generator(5), backend: be);
        if (signedZeros)
        {
            var rv = r.ToArray();
            for (int i = 0; i < rv.Length; i += 7) rv[i] = -0f;
            for (int i = 3; i < rv.Length; i += 11) rv[i] = 0f;
            r = Tensor.FromArray(rv, y.Shape, be);
        }
        Ops.Sum(Ops.Mul(y, r)).Backward();
        return [y.ToArray(), bn.RunningMean.ToArray(), bn.RunningVar.ToArray(), x.Grad!.ToArray(), bn.Weight.Grad!.ToArray(), bn.Bias.Grad!.ToArray(), ib.Grad!.ToArray()];
    }

    /// <summary>y, each layer's running mean and variance, the gradient of each x, weight and bias, of Σ(y·R) for a fixed random R.</summary>
    private static float[][] Run(Backend be, int n, int[] channels, int h, int w, bool training, bool fused)
    {
        var rng = new Generator(17);
        var xs = new List<Tensor>();
        var inputBiases = new List<Tensor>();
        var layers = new List<BatchNorm2d>();
        foreach (int c in channels)
        {
            var x = Tensor.RandomNormal(new Shape(n, c, h, w), rng, mean: 0.3f, backend: be);
            x.RequiresGrad = true;
            xs.Add(x);
            var ib = Tensor.RandomNormal(new Shape(c), rng, backend: be); // a bias already in x (a convolution's)
            ib.RequiresGrad = true;
            inputBiases.Add(ib);
            var bn = new BatchNorm2d(c, backend: be);
            bn.Weight.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, mean: 1f, backend: be).ToArray());
            bn.Bias.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray());
            bn.RunningMean.CopyFrom(Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray());
            bn.RunningVar.CopyFrom([.. Tensor.RandomNormal(new Shape(c), rng, backend: be).ToArray().Select(v => 0.5f + MathF.Abs(v))]);
            if (!training) bn.Eval();
            layers.Add(bn);
        }
        // the separate ops add the input bias with its own gradient (SumTo, as a convolution's); the fused op gets it as InputBias
        Tensor Biased(int i, bool detached) => Ops.Add(xs[i], (detached ? inputBiases[i].Detach() : inputBiases[i]).Reshape(1, channels[i], 1, 1));
        Tensor y;
        if (fused) y = xs.Count == 1 ? layers[0].ForwardRelu(Biased(0, true), inputBiases[0])
            : Ops.BatchNormRelu([.. xs.Select((x, i) => layers[i].ReluInput(Biased(i, true), inputBiases[i]))], training);
        else
        {
            var parts = xs.Select((x, i) => layers[i].Forward(Biased(i, false)).Relu()).ToList();
            y = parts.Count == 1 ? parts[0] : Ops.Concat(parts, 1);
        }
        var r = Tensor.RandomNormal(y.Shape, new Generator(5), backend: be);
        Ops.Sum(Ops.Mul(y, r)).Backward();
        var outputs = new List<float[]> { y.ToArray() };
        for (int i = 0; i < xs.Count; i++)
            outputs.AddRange([layers[i].RunningMean.ToArray(), layers[i].RunningVar.ToArray(),
                xs[i].Grad!.ToArray(), layers[i].Weight.Grad!.ToArray(), layers[i].Bias.Grad!.ToArray(), inputBiases[i].Grad!.ToArray()]);
        return [.. outputs];
    }
}
