using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Models.Attention;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// kernels/attention.cl (Backend.AttentionForward/AttentionBackward fused on GPU backends) against
/// the CPU reference's composition (Gemm + BiasedSoftmax + Gemm): awkward T and D, one and seven
/// batch·head items, with and without bias, key mask (fully masked rows give zeros), dropout mask
/// and each upstream gradient, outputs pre-filled with NaN; shapes past the kernel's bounds compose;
/// FocusCalibrationAttention's gradients on the fused path against the unfused path and finite differences.
/// </summary>
public class AttentionKernelTests(ITestOutputHelper output)
{
    // (BH, T, D, itemsPerMask): one token, FocusCalibrationNet-like T 15, one past a 16-group, odd D,
    // the longest fused T, the largest fused D
    private static readonly (int BH, int T, int D, int PerMask)[] Sizes =
        [(1, 1, 1, 1), (7, 15, 5, 1), (1, 17, 33, 1), (7, 17, 64, 7), (1, 128, 7, 1), (2, 128, 64, 2), (3, 33, 3, 1)];

    // ilgpu-cpu composes its own primitives (no fused kernel): the module test below covers it, at a
    // size its simulated threads run quickly
    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void AttentionMatchesReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        foreach (var size in Sizes)
        {
            if (be is GpuBackend gpu) Assert.Equal("fused", gpu.ChooseAttention(size.T, size.D));
            foreach (var (bias, mask, drop) in new[] { (false, false, false), (true, false, false), (false, true, false), (true, true, true) })
                CompareWithReference(be, size.BH, size.T, size.D, size.PerMask, bias, mask, drop);
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void ShapesPastTheFusedBoundsCompose(string device)
    {
        if (KernelTwin.Device(device, output) is not GpuBackend be) return;
        Assert.Equal("composed", be.ChooseAttention(GpuBackend.AttentionMaxTokens + 1, 8));
        Assert.Equal("composed", be.ChooseAttention(8, GpuBackend.AttentionMaxHeadDim + 1));
        Assert.Equal("fused", be.ChooseAttention(GpuBackend.AttentionMaxTokens, GpuBackend.AttentionMaxHeadDim));
        CompareWithReference(be, 2, GpuBackend.AttentionMaxTokens + 2, 8, 1, bias: true, mask: true, drop: false);
        CompareWithReference(be, 2, 9, GpuBackend.AttentionMaxHeadDim + 1, 2, bias: true, mask: false, drop: true);
    }

    /// <summary>Forward, then backward from dO and dP together and from each alone, on both backends.</summary>
    private static void CompareWithReference(Backend be, int bh, int t, int d, int perMask, bool bias, bool mask, bool drop)
    {
        var cpu = KernelTwin.Reference;
        int td = bh * t * d, tt = bh * t * t, maskRows = (bh + perMask - 1) / perMask;
        string what = $"attention BH {bh} T {t} D {d} perMask {perMask} bias {bias} mask {mask} drop {drop}";
        float scale = 1f / MathF.Sqrt(d);
        using var q = KernelTwin.Of(be, KernelTwin.Normal(td, t * 31 + d, scale: 2f));
        using var k = KernelTwin.Of(be, KernelTwin.Normal(td, t * 37 + d));
        using var v = KernelTwin.Of(be, KernelTwin.Normal(td, t * 41 + d));
        using var biasT = KernelTwin.Of(be, KernelTwin.Normal(tt, t * 43 + d));
        var maskValues = new int[maskRows * t];
        var rng = new Random(bh * 1000 + t);
        for (int i = 0; i < maskValues.Length; i++) maskValues[i] = rng.Next(3) == 0 ? 0 : 1 + rng.Next(2); // any non-zero keeps
        int emptyRow = maskRows - 1;                                                                       // with several mask rows, the last keeps no key
        if (maskRows > 1)
            for (int j = 0; j < t; j++) maskValues[emptyRow * t + j] = 0;
        using var maskT = KernelTwin.Of(be, maskValues);
        var dropValues = new float[tt];
        for (int i = 0; i < tt; i++) dropValues[i] = rng.Next(5) == 0 ? 0f : 1.25f;
        using var dropT = KernelTwin.Of(be, dropValues);
        using var probs = Nan(be, tt);
        using var o = Nan(be, td);
        be.AttentionForward(q.Gpu, k.Gpu, v.Gpu, bias ? biasT.Gpu : null, mask ? maskT.Gpu : null, drop ? dropT.Gpu : null,
            probs.Gpu, o.Gpu, bh, t, d, perMask, scale);
        cpu.AttentionForward(q.Cpu, k.Cpu, v.Cpu, bias ? biasT.Cpu : null, mask ? maskT.Cpu : null, drop ? dropT.Cpu : null,
            probs.Cpu, o.Cpu, bh, t, d, perMask, scale);
        probs.AssertClose(1e-4, 1e-6, what + " P");
        o.AssertClose(1e-4, 1e-5, what + " O");
        var p = probs.GpuFloats();
        Assert.All(p, x => Assert.False(float.IsNaN(x), what + ": NaN in P"));
        if (mask && maskRows > 1)
            for (int item = emptyRow * perMask; item < bh; item++) // the items of the empty mask row: every row all zeros
            {
                Assert.All(p.Skip(item * t * t).Take(t * t), x => Assert.Equal(0f, x));
                Assert.All(o.GpuFloats().Skip(item * t * d).Take(t * d), x => Assert.Equal(0f, x));
            }

        // backward from the reference's P, so that only the backward kernel is compared
        be.Write(probs.Gpu, probs.CpuFloats());
        using var dOut = KernelTwin.Of(be, KernelTwin.Normal(td, t * 47 + d));
        using var dProbs = KernelTwin.Of(be, KernelTwin.Normal(tt, t * 53 + d));
        foreach (var (withDOut, withDProbs) in new[] { (true, true), (true, false), (false, true) })
        {
            string w = $"{what} dOut {withDOut} dProbs {withDProbs}";
            using var dq = Nan(be, td);
            using var dk = Nan(be, td);
            using var dv = Nan(be, td);
            using var dBias = Nan(be, tt);
            be.AttentionBackward(q.Gpu, k.Gpu, v.Gpu, probs.Gpu, drop ? dropT.Gpu : null, withDOut ? dOut.Gpu : null, withDProbs ? dProbs.Gpu : null,
                dq.Gpu, dk.Gpu, dv.Gpu, dBias.Gpu, bh, t, d, scale);
            cpu.AttentionBackward(q.Cpu, k.Cpu, v.Cpu, probs.Cpu, drop ? dropT.Cpu : null, withDOut ? dOut.Cpu : null, withDProbs ? dProbs.Cpu : null,
                dq.Cpu, dk.Cpu, dv.Cpu, dBias.Cpu, bh, t, d, scale);
            dq.AssertClose(1e-3, 1e-4, w + " dQ");
            dk.AssertClose(1e-3, 1e-4, w + " dK");
            dv.AssertClose(1e-3, 1e-4, w + " dV");
            dBias.AssertClose(1e-3, 1e-5, w + " dBias");
        }
        // only dQ requested: the others stay as they were
        using var dqOnly = Nan(be, td);
        using var dvUntouched = Nan(be, td);
        be.AttentionBackward(q.Gpu, k.Gpu, v.Gpu, probs.Gpu, drop ? dropT.Gpu : null, dOut.Gpu, null, dqOnly.Gpu, null, null, null, bh, t, d, scale);
        cpu.AttentionBackward(q.Cpu, k.Cpu, v.Cpu, probs.Cpu, drop ? dropT.Cpu : null, dOut.Cpu, null, dqOnly.Cpu, null, null, null, bh, t, d, scale);
        dqOnly.AssertClose(1e-3, 1e-4, what + " dQ alone");
    }

    private static KernelTwin Nan(Backend be, int n) => KernelTwin.Of(be, Enumerable.Repeat(float.NaN, n).ToArray());

    public static TheoryData<string, int> ModuleCases => new() { { "opencl", 5 }, { "opencl", 17 }, { "ilgpu-cpu", 15 } };

    [Theory]
    [MemberData(nameof(ModuleCases))]
    public void FocusCalibrationAttentionGradientsMatchTheUnfusedPath(string device, int t)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        // the same weights on both backends (the same seed), gradients of Σ y·gy + Σ A·gA on each
        var attnGpu = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, new Generator(5), be);
        var attnCpu = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, new Generator(5), cpu);
        var xv = KernelTwin.Normal(2 * t * 6, 61);
        var gy = KernelTwin.Normal(2 * t * 6, 67);
        var ga = KernelTwin.Normal(2 * 2 * t * t, 71);
        var results = new List<float[]>[2];
        foreach (var (i, attn, b) in new[] { (0, attnGpu, be), (1, attnCpu, (Backend)cpu) })
        {
            var x = Tensor.FromArray(xv, new Shape(2, t, 6), b);
            x.RequiresGrad = true;
            var (y, internals) = attn.Forward(x);
            Graph.Backward([y, internals.Attention], [Tensor.FromArray(gy, y.Shape, b), Tensor.FromArray(ga, internals.Attention.Shape, b)]);
            results[i] = [y.ToArray(), internals.Attention.ToArray(), x.Grad!.ToArray(), .. attn.Parameters().Select(p => p.Grad!.ToArray())];
        }
        for (int r = 0; r < results[0].Count; r++)
            KernelTwin.AssertClose(results[1][r], results[0][r], 2e-3, 2e-4, $"T {t}: result {r} (y, A, dx, then the parameters' gradients)");
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void FocusCalibrationAttentionFiniteDifferencesOnTheFusedPath(string device)
    {
        if (KernelTwin.Device(device, output) is not GpuBackend be) return;
        Assert.Equal("fused", be.ChooseAttention(17, 3));
        var rng = new Generator(34);
        var attn = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, rng, be);
        var x = GradCheck.Param(be, rng, 2, 17, 6);
        GradCheck.Check(_ => attn.Forward(x).Y, [x, .. attn.Parameters()], eps: 5e-3, rtol: 2e-2);
        // A depends on x through Q, K and the focus bias only
        GradCheck.Check(_ => attn.Forward(x).Internals.Attention, [x, attn.Query.Weight, attn.Key.Weight, attn.UP!, attn.UZ!, attn.FocusQuery!.Weight],
            eps: 5e-3, rtol: 2e-2);
    }
}
