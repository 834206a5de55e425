using System.Buffers;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d backward-weight with stride 1 on the shifted-window layout (Conv2dShiftedWindow.cs):
//   dw[k, t] = Σ_n Σ_v dyV_n[k, v] · P_n[v + off[t]], dyV = dy laid on the virtual grid of OutH rows
//   × Wp columns (zeros in the dropped columns): dot products along v, 3 channels × 4 taps per
//   register tile, images shared among threads (each sums into its own partial dw). The routing
//   gives it at most 64 output channels (Conv2dRouting.ShiftedWeightMaxChannels): with more, the
//   packed GEMM's packing is shared by enough output channels to win.
internal static partial class Conv2dShiftedWindow
{
    /// <summary>dw [K, C·R·S] = Σ_n Σ_v dyV_n[k, v] · P_n[v + off[t]] at stride 1 (see the file comment).</summary>
    public static unsafe void BackwardWeight(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads)
    {
        var s = PaddedConv.Forward(g);
        int wp = s.Wp, hout = s.Hout, wout = s.Wout, taps = s.Taps, img = s.ImageLength, k = g.K, images = g.N;
        int v = hout * wp, vPad = RoundUp(v, 8), tapBlocks = CeilDiv(taps, 4), kBlocks = CeilDiv(k, 3);
        var off = s.TapOffsets(tapBlocks * 4); // taps past the last read offset 0 and are dropped
        long macs = (long)g.N * k * taps * vPad;
        int chunks = macs < GemmParallelMacs ? 1 : Math.Min(g.N, threads);
        // images per group: enough that each kernel call runs ~20 steps per accumulator (its
        // horizontal sums and stores cost about as much as ten steps), within ~16 MB of buffers;
        // a call's own operands (3 dy rows, 4 taps of one channel) stay small whatever the group
        int perImage = img + k * vPad;
        int group = Math.Clamp(Math.Min(CeilDiv(StepsPerCall, vPad / 8), GroupFloats / perImage), 1, CeilDiv(images, chunks));
        var partial = new float[chunks * k * taps]; // [chunk][K, taps]
        ParallelFor(chunks, chunks, chunk =>
        {
            var buffer = ArrayPool<float>.Shared.Rent(group * perImage); // [group][ImageLength] images, then [group][K][vPad] dy
            fixed (float* pb = buffer, pdy = dy, pp = partial, px = x)
            fixed (int* poff = off)
            {
                float* pin = pb, pd = pb + (long)group * img;
                var sums = stackalloc float[12];
                float* part = pp + (long)chunk * k * taps;
                // this chunk's images: chunk, chunk + chunks, ...
                int mine = CeilDiv(images - chunk, chunks);
                for (int g0 = 0; g0 < mine; g0 += group)
                {
                    int count = Math.Min(group, mine - g0);
                    for (int i = 0; i < count; i++)
                    {
                        int n = chunk + (g0 + i) * chunks;
                        s.Pad(px + (long)n * s.Cin * s.Hin * s.Win, pin + (long)i * img);
                        // dy[n] on the virtual grid: row oh of channel k at [k, oh·Wp ..], zeros past OutW and past V
                        float* d = pd + (long)i * k * vPad;
                        new Span<float>(d, k * vPad).Clear();
                        for (int kk = 0; kk < k; kk++)
                            for (int oh = 0; oh < hout; oh++)
                                CopyFloats(d + (long)kk * vPad + oh * wp, pdy + (((long)n * k + kk) * hout + oh) * wout, wout);
                    }
                    for (int kb = 0; kb < kBlocks; kb++)
                    {
                        int k0 = 3 * kb, rows = Math.Min(3, k - k0);
                        float* d0 = pd + (long)k0 * vPad;
                        float* d1 = rows > 1 ? d0 + vPad : d0, d2 = rows > 2 ? d0 + 2 * vPad : d0;
                        for (int tb = 0; tb < tapBlocks; tb++)
                        {
                            int t0 = 4 * tb, cols = Math.Min(4, taps - t0);
                            KernelDot3x4(count, vPad / 8, d0, d1, d2, (long)k * vPad, pin, img, poff[t0], poff[t0 + 1], poff[t0 + 2], poff[t0 + 3], sums);
                            for (int i = 0; i < rows; i++)
                                for (int j = 0; j < cols; j++) part[(k0 + i) * taps + t0 + j] += sums[i * 4 + j];
                        }
                    }
                }
            }
            ArrayPool<float>.Shared.Return(buffer);
        });
        for (int i = 0; i < k * taps; i++)
        {
            float total = 0f;
            for (int c = 0; c < chunks; c++) total += partial[c * k * taps + i];
            dw[i] = total;
        }
    }

    /// <summary>Vector steps a backward-weight kernel call should run at least (images are grouped to get there).</summary>
    private const int StepsPerCall = 160;

    /// <summary>Most floats of padded images and virtual dy one backward-weight group may hold (16 MB).</summary>
    private const int GroupFloats = 4 << 20;
}
