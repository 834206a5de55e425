using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The products of one transform point ξ over a band's groups of six tiles with 256-bit vectors (ForwardTask in
// Conv2dWinograd.cs): Conv2dChannelVector.Kernel6x16's FMA chains, with the loop over the groups inside the kernel. With
// few input channels (FocusCalibrationNet's conv2 and conv3, focus_calibration_net.train_step.b32.26x63) a group is only
// 16 to 48 steps, and a call per group (eleven arguments, six tile pointers built by the caller) cost a large share of them.
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
}
