using ILGPU;
using ILGPU.Algorithms;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>One spectrogram launch: N = nFft, hop, T = frames, K = nFreq, |X|^power.</summary>
internal readonly record struct SpectrogramArgs(int NFft, int Hop, int Frames, int NFreq, float Power);

/// <summary>
/// The audio front end on the device, the twin of kernels/spectrogram.cl: |STFT|^power
/// (spectrogram_naive, spectrogram_tiled) and amplitude to dB (amplitude_to_db, amplitude_to_db_floor).
/// The mel projection and the MFCC's DCT are GEMMs (GemmKernels) with matrices built on the host.
/// signal [(T − 1)·hop + N] already padded, window [N], twiddle [2, N] = cos(2πj/N) then sin(2πj/N)
/// (double on the host, rounded once), y [K, T]:
///   X[k, t] = Σ_n signal[t·hop + n]·window[n]·(cos − i·sin)(2π·((k·n) mod N)/N).
/// (k·n) mod N is formed in unsigned 32-bit arithmetic (N ≤ 65536), so every twiddle is exact.
/// spectrogram_tiled (DEFAULT): the DFT as a GEMM of the frame matrix (window fused) with the twiddle
/// matrices; SPEC_TK bins × SPEC_TT frames per group, SPEC_TN-deep slabs in shared memory, SPEC_WK ×
/// SPEC_WT (re, im) pairs per thread, each slab summed on its own before it joins the total (blocked
/// summation). Group (SPEC_TT/SPEC_WT) × (SPEC_TK/SPEC_WK) = 16×8.
/// </summary>
internal static class SpectrogramKernels
{
    public const int TK = 32, TT = 64, TN = 32, WK = 4, WT = 4;
    public const int RK = TK / WK, RT = TT / WT; // threads along y (bins, 8) and x (frames, 16)
    public const int NaiveGroupT = 16, NaiveGroupK = 8;

    private static float Power(float re, float im, float power)
    {
        float p = re * re + im * im;
        if (power == 2f) return p;
        if (power == 1f) return XMath.Sqrt(p);
        return XMath.Pow(XMath.Sqrt(p), power);
    }

    /// <summary>spectrogram_naive: one thread per (k, t); frame and twiddles from global memory.</summary>
    public static void Naive(ArrayView<float> signal, ArrayView<float> window, ArrayView<float> twiddle, ArrayView<float> y, SpectrogramArgs a)
    {
        int t = Grid.IdxX * Group.DimX + Group.IdxX, k = Grid.IdxY * Group.DimY + Group.IdxY;
        if (t >= a.Frames || k >= a.NFreq) return;
        int frame = t * a.Hop;
        float re = 0f, im = 0f;
        int j = 0; // (k·n) mod N
        for (int n = 0; n < a.NFft; n++)
        {
            float f = signal[frame + n] * window[n];
            re += f * twiddle[j];
            im -= f * twiddle[a.NFft + j];
            j += k;
            if (j >= a.NFft) j -= a.NFft;
        }
        y[k * a.Frames + t] = Power(re, im, a.Power);
    }

    /// <summary>spectrogram_tiled (see the class summary).</summary>
    public static void Tiled(ArrayView<float> signal, ArrayView<float> window, ArrayView<float> twiddle, ArrayView<float> y, SpectrogramArgs a)
    {
        var Fs = SharedMemory.Allocate<float>(TN * (TT + 1)); // windowed samples [n][t] (+1: rows start on different banks)
        var Cs = SharedMemory.Allocate<float>(TN * TK);       // cos twiddles [n][k]
        var Ss = SharedMemory.Allocate<float>(TN * TK);       // sin twiddles [n][k]
        var re = LocalMemory.Allocate<float>(WK * WT);
        var im = LocalMemory.Allocate<float>(WK * WT);
        var sr = LocalMemory.Allocate<float>(WK * WT); // this slab's sums
        var si = LocalMemory.Allocate<float>(WK * WT);
        var f = LocalMemory.Allocate<float>(WT);
        int lx = Group.IdxX, ly = Group.IdxY, tid = ly * RT + lx;
        int t0 = Grid.IdxX * TT, k0 = Grid.IdxY * TK;
        for (int e = 0; e < WK * WT; e++)
        {
            re[e] = 0f;
            im[e] = 0f;
        }

        for (int n0 = 0; n0 < a.NFft; n0 += TN)
        {
            // Stage the slab; consecutive threads read consecutive samples of one frame.
            for (int e = tid; e < TN * TT; e += RK * RT)
            {
                int nn = e % TN, tt = e / TN, n = n0 + nn, t = t0 + tt;
                Fs[nn * (TT + 1) + tt] = n < a.NFft && t < a.Frames ? signal[t * a.Hop + n] * window[n] : 0f;
            }
            for (int e = tid; e < TN * TK; e += RK * RT)
            {
                int nn = e % TN, kk = e / TN, n = n0 + nn, k = k0 + kk;
                int j = n < a.NFft && k < a.NFreq ? (int)((uint)k * (uint)n % (uint)a.NFft) : 0;
                Cs[nn * TK + kk] = twiddle[j];
                Ss[nn * TK + kk] = twiddle[a.NFft + j];
            }
            Group.Barrier();

            for (int e = 0; e < WK * WT; e++)
            {
                sr[e] = 0f;
                si[e] = 0f;
            }
            for (int nn = 0; nn < TN; nn++)
            {
                for (int wt = 0; wt < WT; wt++) f[wt] = Fs[nn * (TT + 1) + lx + wt * RT];
                for (int wk = 0; wk < WK; wk++)
                {
                    float c = Cs[nn * TK + ly + wk * RK], s = Ss[nn * TK + ly + wk * RK];
                    for (int wt = 0; wt < WT; wt++)
                    {
                        sr[wk * WT + wt] += c * f[wt];
                        si[wk * WT + wt] -= s * f[wt];
                    }
                }
            }
            for (int e = 0; e < WK * WT; e++)
            {
                re[e] += sr[e];
                im[e] += si[e];
            }
            Group.Barrier();
        }

        for (int wk = 0; wk < WK; wk++)
        {
            int k = k0 + ly + wk * RK;
            for (int wt = 0; wt < WT; wt++)
            {
                int t = t0 + lx + wt * RT;
                if (k < a.NFreq && t < a.Frames) y[k * a.Frames + t] = Power(re[wk * WT + wt], im[wk * WT + wt], a.Power);
            }
        }
    }

    /// <summary>
    /// amplitude_to_db: y = multiplier·log10(max(x, amin)) − offset over a grid-stride loop; each group
    /// writes the maximum of its elements to partialMax[group].
    /// </summary>
    public static void AmplitudeToDb(ArrayView<float> x, ArrayView<float> y, ArrayView<float> partialMax, int n, float multiplier, float amin, float offset)
    {
        float m = float.NegativeInfinity;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            float v = multiplier * XMath.Log10(XMath.Max(x[i], amin)) - offset;
            y[i] = v;
            m = XMath.Max(m, v);
        }
        m = GroupReduce.Max(m);
        if (Group.IdxX == 0) partialMax[Grid.IdxX] = m;
    }

    /// <summary>amplitude_to_db_floor: every group reduces the partial maxima, then y = max(y, max − topDb).</summary>
    public static void AmplitudeToDbFloor(ArrayView<float> y, ArrayView<float> partialMax, int n, int groups, float topDb)
    {
        float m = float.NegativeInfinity;
        for (int g = Group.IdxX; g < groups; g += Group.DimX) m = XMath.Max(m, partialMax[g]);
        float floorDb = GroupReduce.Max(m) - topDb;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = XMath.Max(y[i], floorDb);
    }
}
