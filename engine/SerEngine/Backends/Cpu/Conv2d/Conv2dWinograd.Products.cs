using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The products of one transform point ξ over a band's groups of six tiles with 256-bit vectors (ForwardTask in
// Conv2dWinograd.cs): Conv2dChannelVector.Kernel6x16's FMA chains, with the loop over the groups inside the kernel. With
// few input channels (FocusCalibrationNet's conv2 and conv3, focus_calibration_net.train_step.b32.26x63) a group is only
// 16 to 48 steps, and a call per group (eleven arguments, six tile pointers built by the caller) cost a large share of them.
// With 512-bit vectors a lone block (FocusCalibrationNet's conv2 backward-input has 16 output channels, conv3's forward 48)
// runs Products12x16: one 512-bit FMA per tile and step, two groups of six at a time (twelve chains in flight, as Kernel6x32),
// and a pair of blocks Products6x32 (Kernel6x32's chains with the loop over the groups inside, as Products6x16). Bands of whole
// rows of 16-tile vectors over 32 input channels or more (conv2's backward-input, conv3) take the tiles in the lanes instead
// (Conv2dWinograd.Lanes.cs).
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// M_ξ [group][6][16] = V_ξ · U_ξ for <paramref name="groups"/> groups of six tiles: group o's tiles lie at V_ξ positions
    /// t[6·o .. 6·o + 6) (vx + t[i]), input channel cc's row <paramref name="channelStride"/>·cc further; u is U_ξ's panel
    /// [C][16] of one block; group o's [6][16] goes to m + o·<paramref name="mGroup"/>. Each output is the FMA chain over the
    /// channels in order from zero, as Kernel6x16 runs it (same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Products6x16(int taps, float* u, long channelStride, float* vx, int* t, int groups, float* m, long mGroup)
    {
        for (int o = 0; o < groups; o++, t += Rows, m += mGroup)
        {
            float* x0 = vx + t[0], x1 = vx + t[1], x2 = vx + t[2], x3 = vx + t[3], x4 = vx + t[4], x5 = vx + t[5];
            float* w = u;
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            nint end = (nint)(taps * channelStride);
            for (nint q = 0; q < end; q += (nint)channelStride)
            {
                var w0 = Vector256.LoadAligned(w);
                var w1 = Vector256.LoadAligned(w + 8);
                var b = Vector256.Create(x0[q]);
                c00 = Fmadd(b, w0, c00); c01 = Fmadd(b, w1, c01);
                b = Vector256.Create(x1[q]);
                c10 = Fmadd(b, w0, c10); c11 = Fmadd(b, w1, c11);
                b = Vector256.Create(x2[q]);
                c20 = Fmadd(b, w0, c20); c21 = Fmadd(b, w1, c21);
                b = Vector256.Create(x3[q]);
                c30 = Fmadd(b, w0, c30); c31 = Fmadd(b, w1, c31);
                b = Vector256.Create(x4[q]);
                c40 = Fmadd(b, w0, c40); c41 = Fmadd(b, w1, c41);
                b = Vector256.Create(x5[q]);
                c50 = Fmadd(b, w0, c50); c51 = Fmadd(b, w1, c51);
                w += Lanes;
            }
            MicroTile.Store(m, 16, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        }
    }

    /// <summary>
    /// <see cref="Products6x16"/> with 512-bit vectors (the 16 channels of a tile in one register): two groups of six tiles per
    /// pass over the channels, an odd last group by Products6x16. Each lane runs the same FMA chain as there (same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Products12x16(int taps, float* u, long channelStride, float* vx, int* t, int groups, float* m, long mGroup)
    {
        int o = 0;
        for (; o + 1 < groups; o += 2, t += 2 * Rows, m += 2 * mGroup)
        {
            float* x0 = vx + t[0], x1 = vx + t[1], x2 = vx + t[2], x3 = vx + t[3], x4 = vx + t[4], x5 = vx + t[5];
            float* x6 = vx + t[6], x7 = vx + t[7], x8 = vx + t[8], x9 = vx + t[9], x10 = vx + t[10], x11 = vx + t[11];
            float* w = u;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
            Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
            nint end = (nint)(taps * channelStride);
            for (nint q = 0; q < end; q += (nint)channelStride)
            {
                var w0 = Vector512.LoadAligned(w);
                c0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[q]), w0, c0);
                c1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[q]), w0, c1);
                c2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[q]), w0, c2);
                c3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[q]), w0, c3);
                c4 = Vector512.FusedMultiplyAdd(Vector512.Create(x4[q]), w0, c4);
                c5 = Vector512.FusedMultiplyAdd(Vector512.Create(x5[q]), w0, c5);
                c6 = Vector512.FusedMultiplyAdd(Vector512.Create(x6[q]), w0, c6);
                c7 = Vector512.FusedMultiplyAdd(Vector512.Create(x7[q]), w0, c7);
                c8 = Vector512.FusedMultiplyAdd(Vector512.Create(x8[q]), w0, c8);
                c9 = Vector512.FusedMultiplyAdd(Vector512.Create(x9[q]), w0, c9);
                c10 = Vector512.FusedMultiplyAdd(Vector512.Create(x10[q]), w0, c10);
                c11 = Vector512.FusedMultiplyAdd(Vector512.Create(x11[q]), w0, c11);
                w += Lanes;
            }
            c0.Store(m); c1.Store(m + Lanes); c2.Store(m + 2 * Lanes); c3.Store(m + 3 * Lanes); c4.Store(m + 4 * Lanes); c5.Store(m + 5 * Lanes);
            float* n = m + mGroup;
            c6.Store(n); c7.Store(n + Lanes); c8.Store(n + 2 * Lanes); c9.Store(n + 3 * Lanes); c10.Store(n + 4 * Lanes); c11.Store(n + 5 * Lanes);
        }
        if (o < groups) Products6x16(taps, u, channelStride, vx, t, 1, m, mGroup);
    }

    /// <summary>
    /// Conv2dChannelVector.Kernel6x32 over <paramref name="groups"/> groups of six tiles (laid out as for <see cref="Products6x16"/>):
    /// two blocks' panels, u and u + <paramref name="uHigh"/>, into M at m and m + <paramref name="mHigh"/>. Each lane's chain is
    /// Kernel6x32's (same bits); the channel step is a stride instead of its offset table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Products6x32(int taps, float* u, long uHigh, long channelStride, float* vx, int* t, int groups, float* m, long mGroup, long mHigh)
    {
        for (int o = 0; o < groups; o++, t += Rows, m += mGroup)
        {
            float* x0 = vx + t[0], x1 = vx + t[1], x2 = vx + t[2], x3 = vx + t[3], x4 = vx + t[4], x5 = vx + t[5];
            float* w = u;
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            nint end = (nint)(taps * channelStride), high = (nint)uHigh;
            for (nint q = 0; q < end; q += (nint)channelStride)
            {
                var w0 = Vector512.LoadAligned(w);
                var w1 = Vector512.LoadAligned(w + high);
                var b = Vector512.Create(x0[q]);
                c00 = Vector512.FusedMultiplyAdd(b, w0, c00); c01 = Vector512.FusedMultiplyAdd(b, w1, c01);
                b = Vector512.Create(x1[q]);
                c10 = Vector512.FusedMultiplyAdd(b, w0, c10); c11 = Vector512.FusedMultiplyAdd(b, w1, c11);
                b = Vector512.Create(x2[q]);
                c20 = Vector512.FusedMultiplyAdd(b, w0, c20); c21 = Vector512.FusedMultiplyAdd(b, w1, c21);
                b = Vector512.Create(x3[q]);
                c30 = Vector512.FusedMultiplyAdd(b, w0, c30); c31 = Vector512.FusedMultiplyAdd(b, w1, c31);
                b = Vector512.Create(x4[q]);
                c40 = Vector512.FusedMultiplyAdd(b, w0, c40); c41 = Vector512.FusedMultiplyAdd(b, w1, c41);
                b = Vector512.Create(x5[q]);
                c50 = Vector512.FusedMultiplyAdd(b, w0, c50); c51 = Vector512.FusedMultiplyAdd(b, w1, c51);
                w += Lanes;
            }
            c00.Store(m); c10.Store(m + Lanes); c20.Store(m + 2 * Lanes); c30.Store(m + 3 * Lanes); c40.Store(m + 4 * Lanes); c50.Store(m + 5 * Lanes);
            float* n = m + mHigh;
            c01.Store(n); c11.Store(n + Lanes); c21.Store(n + 2 * Lanes); c31.Store(n + 3 * Lanes); c41.Store(n + 4 * Lanes); c51.Store(n + 5 * Lanes);
        }
    }
}
