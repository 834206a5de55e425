using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Conv2d with stride 1 as a "shifted-window" implicit GEMM that packs nothing but the weights.
// Each image is copied once with its zero padding into P [C, Hp, Wp] (Hp = H + padTop + padBottom,
// Wp = W + padLeft + padRight, plus a little zero slack). Outputs are computed on a virtual grid of
// OutH rows × Wp columns (the columns past OutW are computed and dropped): flattening that grid to
// v = oh·Wp + ow, tap t = (c, r, s) of output v reads P[v + off[t]] with off[t] = c·Hp·Wp + r·dh·Wp + s·dw,
// so for a tile of 16 consecutive v every tap is one contiguous 16-float load straight from P. The
// micro-kernel is the GEMM's 6×16 register tile (6 output channels × 16 outputs) with its B operand
// read through the offset table instead of a packed panel:
//   forward          y[n, k, v] = bias[k] + Σ_t w[k, t] · P_n[v + off[t]]          (A = w [K, C·R·S] in 6-row panels)
//   backward-input   the same with dy as the image (padding dh·(R−1) − padTop etc.) and the weights
//                    flipped and transposed (A[c, (k, r', s')] = w[k, c, R−1−r', S−1−s']), giving dx
// Compared with im2col packing this reads each input value from cache instead of writing C·R·S
// copies of it, which is most of the time when the channel counts are small (FocusCalibrationNet).
// Wasted work: the Wp − OutW dropped columns of each row (3–12 % for these layers).
public partial class CpuBackend
{
    /// <summary>True when forward runs the shifted-window kernel: stride 1, several input channels, 256-bit SIMD.</summary>
    internal static bool Conv2dUsesShifted(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.C > 1 && Vector256.IsHardwareAccelerated;

    /// <summary>True when backward-input runs the shifted-window kernel (stride 1, padding at most the dilated kernel extent).</summary>
    internal static bool Conv2dBackwardInputUsesShifted(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && Vector256.IsHardwareAccelerated
        && g.PadTop <= g.DilationH * (g.R - 1) && g.PadBottom <= g.DilationH * (g.R - 1)
        && g.PadLeft <= g.DilationW * (g.S - 1) && g.PadRight <= g.DilationW * (g.S - 1);

    private unsafe void Conv2dForwardShifted(float[] x, float[] w, float[]? bias, float[] y, in Conv2dGeometry g)
    {
        int taps = g.C * g.R * g.S, panels = CeilDiv(g.K, GemmMR);
        var packed = ArrayPool<float>.Shared.Rent(panels * taps * GemmMR); // [K/6][taps][6]
        fixed (float* pw = w, pp = packed)
        {
            for (int kp = 0; kp < panels; kp++)
                for (int t = 0; t < taps; t++)
                    for (int i = 0; i < GemmMR; i++)
                    {
                        int k = kp * GemmMR + i;
                        pp[((long)kp * taps + t) * GemmMR + i] = k < g.K ? pw[(long)k * taps + t] : 0f;
                    }
        }
        var s = new ShiftedConv(g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight, g.DilationH, g.DilationW);
        Run(s, x, packed, bias, y);
        ArrayPool<float>.Shared.Return(packed);
    }

    private unsafe void Conv2dBackwardInputShifted(float[] dy, float[] w, float[] dx, in Conv2dGeometry g)
    {
        // dx = conv(dy, w flipped and transposed) with the complementary padding
        int taps = g.K * g.R * g.S, panels = CeilDiv(g.C, GemmMR), rs = g.R * g.S;
        var packed = ArrayPool<float>.Shared.Rent(panels * taps * GemmMR); // [C/6][(k, r', s')][6]
        fixed (float* pw = w, pp = packed)
        {
            for (int cp = 0; cp < panels; cp++)
                for (int k = 0; k < g.K; k++)
                    for (int r = 0; r < g.R; r++)
                        for (int s2 = 0; s2 < g.S; s2++)
                        {
                            int t = (k * g.R + r) * g.S + s2;
                            float* d = pp + ((long)cp * taps + t) * GemmMR;
                            for (int i = 0; i < GemmMR; i++)
                            {
                                int c = cp * GemmMR + i;
                                d[i] = c < g.C ? pw[((long)k * g.C + c) * rs + (g.R - 1 - r) * g.S + (g.S - 1 - s2)] : 0f;
                            }
                        }
        }
        int eh = g.DilationH * (g.R - 1), ew = g.DilationW * (g.S - 1);
        var s = new ShiftedConv(g.N, g.K, g.OutH, g.OutW, g.C, g.R, g.S, eh - g.PadTop, eh - g.PadBottom, ew - g.PadLeft, ew - g.PadRight, g.DilationH, g.DilationW);
        Run(s, dy, packed, null, dx);
        ArrayPool<float>.Shared.Return(packed);
    }

    /// <summary>Sizes of one shifted-window convolution: input [N, Cin, Hin, Win] → output [N, Cout, Hout, Wout].</summary>
    private readonly record struct ShiftedConv(int N, int Cin, int Hin, int Win, int Cout, int R, int S,
        int PadTop, int PadBottom, int PadLeft, int PadRight, int DilH, int DilW)
    {
        public int Hp => Hin + PadTop + PadBottom;
        public int Wp => Win + PadLeft + PadRight;
        public int Hout => Hp - DilH * (R - 1);
        public int Wout => Wp - DilW * (S - 1);
        public int Taps => Cin * R * S;

        /// <summary>Floats of one padded image: the planes plus zero slack for the tiles' dropped columns.</summary>
        public int ImageLength => Cin * Hp * Wp + 16 + DilW * (S - 1);
    }

    /// <summary>Pads every image, then runs the 6×16 tiles (images × virtual-output ranges shared among threads).</summary>
    private unsafe void Run(ShiftedConv s, float[] input, float[] packedW, float[]? bias, float[] output)
    {
        int hp = s.Hp, wp = s.Wp, hout = s.Hout, wout = s.Wout, taps = s.Taps, img = s.ImageLength;
        int v = hout * wp, vTiles = CeilDiv(v, 16), panels = CeilDiv(s.Cout, GemmMR);
        var off = new int[taps];
        for (int c = 0; c < s.Cin; c++)
            for (int r = 0; r < s.R; r++)
                for (int q = 0; q < s.S; q++)
                    off[(c * s.R + r) * s.S + q] = c * hp * wp + r * s.DilH * wp + q * s.DilW;
        var padded = ArrayPool<float>.Shared.Rent(s.N * img); // [N][ImageLength]
        long macs = (long)s.N * panels * GemmMR * vTiles * 16 * taps;
        int threads = macs < GemmParallelMacs ? 1 : Threads;
        // each image padded once: zeros everywhere, then the input rows copied in
        ParallelFor(s.N, threads, n =>
        {
            var dst = padded.AsSpan(n * img, img);
            dst.Clear();
            for (int c = 0; c < s.Cin; c++)
                for (int h = 0; h < s.Hin; h++)
                    input.AsSpan(((n * s.Cin + c) * s.Hin + h) * s.Win, s.Win)
                        .CopyTo(dst.Slice(c * hp * wp + (h + s.PadTop) * wp + s.PadLeft));
        });
        // tasks: (image, range of v tiles); at least a few per thread
        int perImage = threads == 1 ? 1 : Math.Clamp(CeilDiv(4 * threads, s.N), 1, vTiles);
        int tiles = CeilDiv(vTiles, perImage);
        ParallelFor(s.N * perImage, threads, task =>
        {
            int n = task / perImage, t0 = task % perImage * tiles, t1 = Math.Min(vTiles, t0 + tiles);
            float* tile = stackalloc float[GemmMR * 16 + 16];
            tile = (float*)(((nint)tile + 63) & ~(nint)63);
            fixed (float* pin = padded, pa = packedW, po = output, pb = bias)
            fixed (int* poff = off)
            {
                float* image = pin + (long)n * img;
                for (int t = t0; t < t1; t++)
                {
                    int v0 = t * 16;
                    for (int kp = 0; kp < panels; kp++)
                    {
                        KernelShifted6x16(taps, pa + (long)kp * taps * GemmMR, image + v0, poff, tile);
                        StoreShifted(tile, po + (long)n * s.Cout * hout * wout, kp * GemmMR, s.Cout, v0, v, wp, wout, hout, pb);
                    }
                }
            }
        });
        ArrayPool<float>.Shared.Return(padded);
    }

    /// <summary>body(i) for i in [0, count), on up to <paramref name="threads"/> threads.</summary>
    private static void ParallelFor(int count, int threads, Action<int> body)
    {
        if (threads <= 1 || count <= 1)
            for (int i = 0; i < count; i++) body(i);
        else
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }

    /// <summary>
    /// Writes tile [6, 16] (channels k0.., virtual outputs v0..v0+15) into out [Cout, Hout, Wout] plus
    /// bias, dropping rows past Cout and columns whose ow ≥ Wout or v ≥ V.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreShifted(float* tile, float* outImage, int k0, int cout, int v0, int v, int wp, int wout, int hout, float* bias)
    {
        int rows = Math.Min(GemmMR, cout - k0);
        int oh = v0 / wp, ow = v0 - oh * wp;
        long plane = (long)hout * wout;
        if (ow + 16 <= wout && v0 + 16 <= v)
        {
            // the whole tile inside one output row
            for (int i = 0; i < rows; i++)
            {
                var b = Vector256.Create(bias == null ? 0f : bias[k0 + i]);
                float* dst = outImage + (k0 + i) * plane + (long)oh * wout + ow;
                (Vector256.Load(tile + i * 16) + b).Store(dst);
                (Vector256.Load(tile + i * 16 + 8) + b).Store(dst + 8);
            }
            return;
        }
        for (int j = 0; j < 16 && v0 + j < v; j++)
        {
            if (ow < wout)
                for (int i = 0; i < rows; i++)
                    outImage[(k0 + i) * plane + (long)oh * wout + ow] = tile[i * 16 + j] + (bias == null ? 0f : bias[k0 + i]);
            if (++ow == wp)
            {
                ow = 0;
                oh++;
            }
        }
    }

    /// <summary>
    /// The 6×16 register tile over <paramref name="taps"/> steps: a is the packed weight panel
    /// [taps][6], tap t's 16 inputs are b[off[t] .. off[t] + 15]; result to tile [6, 16].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelShifted6x16(int taps, float* a, float* b, int* off, float* tile)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < taps; p++)
        {
            float* bp = b + off[p];
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var av = Vector256.Create(a[0]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            a += GemmMR;
        }
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
    }
}
