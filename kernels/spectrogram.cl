// spectrogram.cl — the audio front end on the device: |STFT|^power (Backend.SpectrogramForward),
// amplitude to decibels (Backend.AmplitudeToDb) and the fused mel features (Backend.MelFeatures:
// spectrogram_fft's mel epilogue, then mel_features_floor when top_db needs the utterance's maximum).
//
// Dimension legend: N = nFft (DFT size), hop (samples between frame starts), T = frames, K = nFreq
// (output bins 0 .. K−1, K ≤ N/2 + 1). signal is the already padded 1-D signal
// [(T − 1)·hop + N], window [N] the full-length window, twiddle [2, N] the table
// cos(2πj/N) then sin(2πj/N) for j < N (built in double on the host, rounded to float), y [K, T].
//   X[k, t] = Σ_n signal[t·hop + n]·window[n]·(cos − i·sin)(2π·((k·n) mod N)/N)
//   y[k, t] = re² + im² (power 2), √(re² + im²) (power 1), else (√(re² + im²))^power
// The index (k·n) mod N is exact (unsigned 32-bit: the launch code keeps N ≤ 65536), so every
// twiddle is the correctly rounded table value however large k·n grows.
//
// Spectrogram variants, simplest to fastest (GpuBackend.SpectrogramVariant, $SERENGINE_SPECTROGRAM_VARIANT):
//   spectrogram_naive   one work-item per (k, t): the windowed frame and the twiddles are read from
//                       global memory, the index stepped by k mod N per sample.
//   spectrogram_tiled   DFT as a GEMM: the frame matrix F[n, t] = signal[t·hop + n]·window[n]
//                       (a strided view of the signal, window fused in) times the twiddle matrices
//                       C[k, n], S[k, n]. Each work-group owns a SPEC_TK × SPEC_TT tile of (bins, frames);
//                       SPEC_TN-deep slabs of F, C and S are staged in local memory, and each work-item
//                       accumulates SPEC_WK × SPEC_WT (re, im) pairs in registers. Each slab is summed
//                       on its own before it is added to the running total (blocked summation: float
//                       round-off grows with N/SPEC_TN + SPEC_TN, not N). Power and magnitude are fused
//                       into the store. Work-group (SPEC_TT/SPEC_WT) × (SPEC_TK/SPEC_WK); the engine
//                       passes -DSPEC_TK=32 -DSPEC_TT=64 -DSPEC_TN=32 -DSPEC_WK=4 -DSPEC_WT=4 (16×8
//                       work-items). Faster than naive on PoCL (Paper B's 2048-point frames), and its
//                       blocked sums are more accurate (timed by hand; AudioKernelTests checks the accuracy).
//   spectrogram_fft     DEFAULT. One work-group per frame: window, FFT and |X|^power in one launch, in
//                       local memory (fft.h: Stockham autosort passes of radix 8, 4, 2, 3, 5). Even N
//                       packs the real frame as L = N/2 complex points (z[m] = x[2m] + i·x[2m+1]) and
//                       splits the result (X = E + e^(−2πik/N)·O); odd N transforms L = N points. An L with
//                       a prime factor above 5 runs Bluestein: a = z·chirp, zero-padded to a power of two
//                       M ≥ 2L − 1, convolved with the conjugate chirp by two M-point FFTs. O(N log N) per
//                       frame instead of O(N·K). Its table `plan` (SpectrogramFftPlan: twiddles, chirp and
//                       chirp spectrum, double rounded once) replaces `twiddle`. Largest FFT: FFT_MAX
//                       points (-DFFT_MAX=2048: even N ≤ 4096 smooth, ≤ 2048 Bluestein); the launch code
//                       runs spectrogram_tiled for larger sizes (GpuBackend.SpectrogramKernelFor).
//                       Launch: T work-groups of 64 work-items (GpuBackend.SpecFftGroup) along dim 0.
//
// Mel features (Backend.MelFeatures; variants composed / fused, GpuBackend.MelFeatures.cs):
//   composed             SpectrogramForward, the mel GEMM (gemm.cl), log (elementwise.cl) or
//                        amplitude_to_db (+ _floor), the DCT GEMM: 3 to 6 launches.
//   fused                DEFAULT. spectrogram_fft with nMels > 0: the frame's |X|^power stays in local
//                        memory (the FFT's free half) and the same work-group projects it on the mel
//                        bands, each band summing only its non-zero span of the filterbank (about 2·K
//                        weights per frame instead of the GEMM's K·nMels), scales it (log or dB) and,
//                        when no top_db floor is asked for, applies the DCT from local memory: mel,
//                        log-mel, dB-mel and MFCC without top_db are ONE launch, and the [K, T]
//                        spectrogram never reaches global memory. top_db needs the maximum over the
//                        whole utterance before the floor, and the DCT comes after the floor, so with
//                        top_db the epilogue writes the dB mels and one maximum per frame, and
//                        mel_features_floor (one work-item per frame) reduces the maxima, floors and
//                        applies the DCT: TWO launches. Why not one launch with a grid-wide maximum:
//                        OpenCL 1.2 has no grid barrier, and an atomic maximum on the float's ordered
//                        bits needs its cell reset before every call (a fill, one more launch or copy);
//                        per-frame maxima are deterministic and cost T floats. Why not one work-group
//                        per utterance: it would leave all but one compute unit idle (one of 132 SMs
//                        on an H100), while both launches here spread over the frames (a group per frame, a work-item per frame).
// Launch (naive, tiled): dim 0 over frames t, dim 1 over bins k; global sizes are rounded up to whole groups, so the
// kernels bounds-check.
//
// Amplitude to dB (one variant, two passes, deterministic: no atomics):
//   amplitude_to_db        y = multiplier·log10(max(x, amin)) − offset (offset = multiplier·db_multiplier)
//                          over a grid-stride loop; each work-group writes the maximum of its
//                          elements to partialMax[group] (at most MAX_GROUP groups).
//   amplitude_to_db_floor  (only when top_db ≥ 0) every work-group reduces the partial maxima itself,
//                          then y = max(y, max − top_db) over a grid-stride loop.
// Work-group sizes are powers of two ≤ MAX_GROUP.
// CPU twins: CpuReference.Spectrogram.cs, CpuReference.AmplitudeToDb.cs (in double; these kernels
// accumulate in float, so results agree to float round-off, not bit for bit).

#ifndef SPEC_TK
#define SPEC_TK 32
#endif
#ifndef SPEC_TT
#define SPEC_TT 32
#endif
#ifndef SPEC_TN
#define SPEC_TN 32
#endif
#ifndef SPEC_WK
#define SPEC_WK 4
#endif
#ifndef SPEC_WT
#define SPEC_WT 2
#endif

#define SPEC_RK (SPEC_TK / SPEC_WK) // work-items along dim 1 (bins)
#define SPEC_RT (SPEC_TT / SPEC_WT) // work-items along dim 0 (frames)

#define MAX_GROUP 256

// Single-precision maths by name under CUDA (no overload resolution to double); OpenCL C's
// built-ins are already overloaded on float.
#ifdef CUDA
#define SPEC_SQRT(v) sqrtf(v)
#define SPEC_POW(a, b) powf((a), (b))
#define SPEC_LOG10(v) log10f(v)
#define SPEC_LOG(v) logf(v)
#define SPEC_FMAX(a, b) fmaxf((a), (b))
#else
#define SPEC_SQRT(v) sqrt(v)
#define SPEC_POW(a, b) pow((a), (b))
#define SPEC_LOG10(v) log10(v)
#define SPEC_LOG(v) log(v)
#define SPEC_FMAX(a, b) fmax((a), (b))
#endif

// |X|^power from the real and imaginary parts.
INLINE float spectrogram_power(const float re, const float im, const float power)
{
    const float p = re * re + im * im;
    if (power == 2.0f) return p;
    if (power == 1.0f) return SPEC_SQRT(p);
    return SPEC_POW(SPEC_SQRT(p), power);
}

KERNEL void spectrogram_naive(GLOBAL const float* RESTRICT signal,  // [(T − 1)·hop + N]
                              GLOBAL const float* RESTRICT window,  // [N]
                              GLOBAL const float* RESTRICT twiddle, // [2, N]: cos, sin
                              GLOBAL float* RESTRICT y,             // [K, T]
                              const int nFft, const int hop, const int frames, const int nFreq, const float power)
{
    const int t = GID(0), k = GID(1);
    if (t >= frames || k >= nFreq) return;
    GLOBAL const float* frame = signal + t * hop;
    float re = 0.0f, im = 0.0f;
    int j = 0; // (k·n) mod N
    for (int n = 0; n < nFft; n++)
    {
        const float f = frame[n] * window[n];
        re += f * twiddle[j];
        im -= f * twiddle[nFft + j];
        j += k;
        if (j >= nFft) j -= nFft;
    }
    y[k * frames + t] = spectrogram_power(re, im, power);
}

KERNEL void spectrogram_tiled(GLOBAL const float* RESTRICT signal,  // [(T − 1)·hop + N]
                              GLOBAL const float* RESTRICT window,  // [N]
                              GLOBAL const float* RESTRICT twiddle, // [2, N]: cos, sin
                              GLOBAL float* RESTRICT y,             // [K, T]
                              const int nFft, const int hop, const int frames, const int nFreq, const float power)
{
    LOCAL float Fs[SPEC_TN][SPEC_TT + 1]; // windowed samples [n][t] (+1: rows start on different banks)
    LOCAL float Cs[SPEC_TN][SPEC_TK];     // cos twiddles [n][k]
    LOCAL float Ss[SPEC_TN][SPEC_TK];     // sin twiddles [n][k]
    const int lx = LID(0), ly = LID(1), tid = ly * SPEC_RT + lx;
    const int t0 = GROUP(0) * SPEC_TT, k0 = GROUP(1) * SPEC_TK;

    float re[SPEC_WK][SPEC_WT], im[SPEC_WK][SPEC_WT];
    UNROLL
    for (int wk = 0; wk < SPEC_WK; wk++)
        UNROLL
        for (int wt = 0; wt < SPEC_WT; wt++) re[wk][wt] = im[wk][wt] = 0.0f;

    for (int n0 = 0; n0 < nFft; n0 += SPEC_TN)
    {
        // Stage the slab; consecutive work-items read consecutive samples of one frame.
        for (int e = tid; e < SPEC_TN * SPEC_TT; e += SPEC_RK * SPEC_RT)
        {
            const int nn = e % SPEC_TN, tt = e / SPEC_TN;
            const int n = n0 + nn, t = t0 + tt;
            Fs[nn][tt] = (n < nFft && t < frames) ? signal[t * hop + n] * window[n] : 0.0f;
        }
        for (int e = tid; e < SPEC_TN * SPEC_TK; e += SPEC_RK * SPEC_RT)
        {
            const int nn = e % SPEC_TN, kk = e / SPEC_TN;
            const int n = n0 + nn, k = k0 + kk;
            const int j = (n < nFft && k < nFreq) ? (int)(((uint)k * (uint)n) % (uint)nFft) : 0;
            Cs[nn][kk] = twiddle[j];
            Ss[nn][kk] = twiddle[nFft + j];
        }
        BARRIER;

        float sr[SPEC_WK][SPEC_WT], si[SPEC_WK][SPEC_WT]; // this slab's sums
        UNROLL
        for (int wk = 0; wk < SPEC_WK; wk++)
            UNROLL
            for (int wt = 0; wt < SPEC_WT; wt++) sr[wk][wt] = si[wk][wt] = 0.0f;
        for (int nn = 0; nn < SPEC_TN; nn++)
        {
            float f[SPEC_WT];
            UNROLL
            for (int wt = 0; wt < SPEC_WT; wt++) f[wt] = Fs[nn][lx + wt * SPEC_RT];
            UNROLL
            for (int wk = 0; wk < SPEC_WK; wk++)
            {
                const float c = Cs[nn][ly + wk * SPEC_RK], s = Ss[nn][ly + wk * SPEC_RK];
                UNROLL
                for (int wt = 0; wt < SPEC_WT; wt++)
                {
                    sr[wk][wt] += c * f[wt];
                    si[wk][wt] -= s * f[wt];
                }
            }
        }
        UNROLL
        for (int wk = 0; wk < SPEC_WK; wk++)
            UNROLL
            for (int wt = 0; wt < SPEC_WT; wt++)
            {
                re[wk][wt] += sr[wk][wt];
                im[wk][wt] += si[wk][wt];
            }
        BARRIER;
    }

    UNROLL
    for (int wk = 0; wk < SPEC_WK; wk++)
    {
        const int k = k0 + ly + wk * SPEC_RK;
        UNROLL
        for (int wt = 0; wt < SPEC_WT; wt++)
        {
            const int t = t0 + lx + wt * SPEC_RT;
            if (k < nFreq && t < frames) y[k * frames + t] = spectrogram_power(re[wk][wt], im[wk][wt], power);
        }
    }
}

// FFT_MAX (fft.h): the longest complex FFT a work-group holds in local memory.
#include "fft.h"

// Z[m] of the length-L transform of z, from the FFT's result in half b of (re, im): directly, or
// for Bluestein Z[m] = c[m]·conj(W[m]) with the chirp c[m] = e^(−iπ·m²/L) ([2, L]: cos, sin).
INLINE cfloat fft_result(LOCAL_PTR const float* re, LOCAL_PTR const float* im, const int b, const int m,
                         GLOBAL const float* chirp, const int L, const int bluestein)
{
    const cfloat w = cf(re[b * FFT_MAX + m], im[b * FFT_MAX + m]);
    return bluestein ? cf_mul(cf(chirp[m], -chirp[L + m]), cf_conj(w)) : w;
}

// X[k] of the real frame from the length-L transform Z: for even N,
// X[k] = E[k] + e^(−2πik/N)·O[k], E = (Z[k] + conj Z[L−k])/2, O = (Z[k] − conj Z[L−k])/(2i); odd N: Z[k].
INLINE cfloat fft_real_bin(LOCAL_PTR const float* re, LOCAL_PTR const float* im, const int b, const int k,
                           GLOBAL const float* plan, GLOBAL const float* chirp, const int nFft, const int L, const int bluestein)
{
    const cfloat zk = fft_result(re, im, b, k % L, chirp, L, bluestein);
    if (nFft % 2 != 0) return zk;
    const cfloat zc = cf_conj(fft_result(re, im, b, (L - k) % L, chirp, L, bluestein));
    const cfloat e = cf_scale(cf_add(zk, zc), 0.5f);
    const cfloat o = cf_scale(cf_mul_neg_i(cf_sub(zk, zc)), 0.5f);
    return cf_add(e, cf_mul(fft_twiddle(plan, nFft, k), o));
}

// MelFeatureScale: 0 none, 1 log(v + offset), 2 multiplier·log10(max(v, amin)) − offset.
INLINE float mel_scale(const float v, const int scale, const float multiplier, const float amin, const float offset)
{
    if (scale == 1) return SPEC_LOG(v + offset);
    if (scale == 2) return multiplier * SPEC_LOG10(SPEC_FMAX(v, amin)) - offset;
    return v;
}

KERNEL void spectrogram_fft(GLOBAL const float* RESTRICT signal, // [(T − 1)·hop + N]
                            GLOBAL const float* RESTRICT window, // [N]
                            GLOBAL const float* RESTRICT plan,   // twiddles [2, N]; Bluestein: then [2, M], chirp [2, L], chirp spectrum [2, M]
                            GLOBAL float* RESTRICT y,            // [K, T]; mel epilogue: [nMels, T], or [nMfcc, T] with the DCT
                            const int nFft, const int hop, const int frames, const int nFreq, const float power,
                            const int bluesteinM,                // M, or 0: L has no prime factor above 5
                            // the mel epilogue (nMels > 0; GpuBackend.MelFeatures' fused variant), see the file header
                            GLOBAL const float* RESTRICT mel,    // MelFeaturePlan.PackedTable: bands [nMels, 3], weights, DCT [nMels, nMfcc]
                            GLOBAL float* RESTRICT partialMax,   // [T]: each frame's maximum, when writeMax
                            const int nMels, const int nMfcc, const int dctOffset, const int melScale,
                            const float multiplier, const float amin, const float offset, const int writeMax)
{
    LOCAL float re[2 * FFT_MAX], im[2 * FFT_MAX]; // two halves [2, FFT_MAX] for the ping-pong passes
    const int t = GROUP(0);
    const int even = nFft % 2 == 0, L = even ? nFft / 2 : nFft, M = bluesteinM, S = M > 0 ? M : L;
    GLOBAL const float* frame = signal + t * hop;
    GLOBAL const float* twM = plan + 2 * nFft; // [2, M]
    GLOBAL const float* chirp = twM + 2 * M;   // [2, L]
    GLOBAL const float* chirpSpectrum = chirp + 2 * L; // [2, M]: FFT_M(conj chirp, wrapped)/M

    // z[m] = (x[2m] + i·x[2m+1]) windowed (N even: the real-input trick), times c[m] for Bluestein, zero-padded to S
    FOR_GROUP_STRIDE(m, S)
    {
        cfloat z = cf(0.0f, 0.0f);
        if (m < L)
        {
            z = even ? cf(frame[2 * m] * window[2 * m], frame[2 * m + 1] * window[2 * m + 1]) : cf(frame[m] * window[m], 0.0f);
            if (M > 0) z = cf_mul(z, cf(chirp[m], -chirp[L + m]));
        }
        re[m] = z.re;
        im[m] = z.im;
    }
    BARRIER;

    // The FFT of z (Bluestein: of a, then of conj(A·B), the convolution with the conjugate chirp as
    // conj(FFT(conj(FFT(a)·B))), B carrying the 1/M). Every barrier is reached on every path.
    const int transforms = M > 0 ? 2 : 1;
    GLOBAL const float* tw = M > 0 ? twM : plan;                  // [2, ntab]
    const int ntab = M > 0 ? M : nFft, step = M > 0 ? 1 : nFft / L; // e^(−2πi·q/S) = tw entry q·step
    int b = 0;                                                    // the half holding the data
    for (int f = 0; f < transforms; f++)
    {
        int p = 1;
        for (int rest = S; rest > 1;)
        {
            const int r = fft_radix(rest);
            FOR_GROUP_STRIDE(i, S / r)
                fft_butterfly(re + b * FFT_MAX, im + b * FFT_MAX, re + (1 - b) * FFT_MAX, im + (1 - b) * FFT_MAX, i, r, S, p, tw, ntab, step);
            BARRIER;
            b = 1 - b;
            p *= r;
            rest /= r;
        }
        FOR_GROUP_STRIDE(m, f + 1 < transforms ? M : 0) // between Bluestein's two FFTs: conj(A·B)
        {
            const cfloat v = cf_conj(cf_mul(cf(re[b * FFT_MAX + m], im[b * FFT_MAX + m]), cf(chirpSpectrum[m], chirpSpectrum[M + m])));
            re[b * FFT_MAX + m] = v.re;
            im[b * FFT_MAX + m] = v.im;
        }
        BARRIER;
    }

    if (nMels == 0) // the spectrogram: |X|^power straight to y
    {
        FOR_GROUP_STRIDE(k, nFreq)
        {
            const cfloat x = fft_real_bin(re, im, b, k, plan, chirp, nFft, L, M > 0);
            y[k * frames + t] = spectrogram_power(x.re, x.im, power);
        }
        return;
    }

    // Mel epilogue (nMels, nMfcc, writeMax are arguments: every branch below is uniform over the group).
    LOCAL_PTR float* pw = re + (1 - b) * FFT_MAX;     // |X|^power [nFreq] in the free half
    LOCAL_PTR float* scaled = im + (1 - b) * FFT_MAX; // the scaled mel energies [nMels], for the DCT
    FOR_GROUP_STRIDE(k, nFreq)
    {
        const cfloat x = fft_real_bin(re, im, b, k, plan, chirp, nFft, L, M > 0);
        pw[k] = spectrogram_power(x.re, x.im, power);
    }
    BARRIER;
    float vmax = -INFINITY;
    FOR_GROUP_STRIDE(m, nMels) // each band sums only its own bins (its filterbank column's non-zero span)
    {
        const int first = (int)mel[3 * m], count = (int)mel[3 * m + 1];
        GLOBAL const float* w = mel + 3 * nMels + (int)mel[3 * m + 2];
        float s = 0.0f;
        for (int j = 0; j < count; j++) s += w[j] * pw[first + j];
        const float v = mel_scale(s, melScale, multiplier, amin, offset);
        if (nMfcc > 0) scaled[m] = v;
        else y[m * frames + t] = v;
        vmax = SPEC_FMAX(vmax, v);
    }
    if (writeMax)
    {
        BARRIER; // pw is free again: it becomes the reduction's scratch
        vmax = group_max(pw, vmax);
        if (LID(0) == 0) partialMax[t] = vmax;
    }
    if (nMfcc > 0) // the DCT in this launch (no top_db floor): y [nMfcc, T]
    {
        BARRIER;
        FOR_GROUP_STRIDE(c, nMfcc)
        {
            float s = 0.0f;
            for (int m = 0; m < nMels; m++) s += mel[dctOffset + m * nMfcc + c] * scaled[m];
            y[c * frames + t] = s;
        }
    }
}

// Second launch of the fused mel features when top_db needs the utterance's maximum: every group
// reduces spectrogram_fft's per-frame maxima (deterministic, no atomics), then one work-item per
// frame floors its column and, with a DCT, projects it: y [nMfcc, T] = dctᵀ · max(x, max − top_db).
// The DCT's coefficients go MEL_DCT_CHUNK at a time in registers, so x is read ⌈nMfcc/8⌉ times.
#define MEL_DCT_CHUNK 8
KERNEL void mel_features_floor(GLOBAL float* x,                       // [nMels, T]: dB; floored in place when nMfcc = 0
                               GLOBAL const float* RESTRICT partialMax, // [groups]
                               GLOBAL const float* RESTRICT mel,        // MelFeaturePlan.PackedTable (its DCT at dctOffset)
                               GLOBAL float* y,                         // [nMfcc, T] (unused when nMfcc = 0)
                               const int nMels, const int frames, const int groups, const int nMfcc, const int dctOffset,
                               const float topDb)
{
    LOCAL float scratch[MAX_GROUP];
    float m = -INFINITY;
    for (int g = LID(0); g < groups; g += LSIZE(0)) m = SPEC_FMAX(m, partialMax[g]);
    const float floorDb = group_max(scratch, m) - topDb;
    const int t = GID(0);
    if (t >= frames) return;
    if (nMfcc == 0)
    {
        for (int i = 0; i < nMels; i++) x[i * frames + t] = SPEC_FMAX(x[i * frames + t], floorDb);
        return;
    }
    for (int c0 = 0; c0 < nMfcc; c0 += MEL_DCT_CHUNK)
    {
        float acc[MEL_DCT_CHUNK];
        UNROLL
        for (int j = 0; j < MEL_DCT_CHUNK; j++) acc[j] = 0.0f;
        for (int i = 0; i < nMels; i++)
        {
            const float v = SPEC_FMAX(x[i * frames + t], floorDb);
            GLOBAL const float* d = mel + dctOffset + i * nMfcc + c0;
            UNROLL
            for (int j = 0; j < MEL_DCT_CHUNK; j++) acc[j] += (c0 + j < nMfcc ? d[j] : 0.0f) * v;
        }
        UNROLL
        for (int j = 0; j < MEL_DCT_CHUNK; j++)
            if (c0 + j < nMfcc) y[(c0 + j) * frames + t] = acc[j];
    }
}

// Tree maximum over the work-group (LSIZE(0) a power of two); every work-item gets the result.
INLINE float db_group_max(LOCAL_PTR float* scratch, const float v)
{
    const int lid = LID(0);
    scratch[lid] = v;
    BARRIER;
    for (int gap = LSIZE(0) / 2; gap > 0; gap >>= 1)
    {
        if (lid < gap) scratch[lid] = SPEC_FMAX(scratch[lid], scratch[lid + gap]);
        BARRIER;
    }
    const float r = scratch[0];
    BARRIER;
    return r;
}

KERNEL void amplitude_to_db(GLOBAL const float* x,     // [n]
                            GLOBAL float* y,           // [n]; may alias x
                            GLOBAL float* partialMax,  // [NGROUPS(0)]
                            const int n, const float multiplier, const float amin, const float offset)
{
    LOCAL float scratch[MAX_GROUP];
    float m = -INFINITY;
    // uniform trip count, bound checked inside (see softmax.cl's FOR_GROUP_STRIDE on PoCL)
    for (int base = 0; base < n; base += GSIZE(0))
    {
        const int i = base + GID(0);
        if (i < n)
        {
            const float v = multiplier * SPEC_LOG10(SPEC_FMAX(x[i], amin)) - offset;
            y[i] = v;
            m = SPEC_FMAX(m, v);
        }
    }
    m = db_group_max(scratch, m);
    if (LID(0) == 0) partialMax[GROUP(0)] = m;
}

KERNEL void amplitude_to_db_floor(GLOBAL float* y,                 // [n]
                                  GLOBAL const float* partialMax,  // [groups]
                                  const int n, const int groups, const float topDb)
{
    LOCAL float scratch[MAX_GROUP];
    float m = -INFINITY;
    for (int g = LID(0); g < groups; g += LSIZE(0)) m = SPEC_FMAX(m, partialMax[g]);
    const float floorDb = db_group_max(scratch, m) - topDb;
    for (int base = 0; base < n; base += GSIZE(0))
    {
        const int i = base + GID(0);
        if (i < n) y[i] = SPEC_FMAX(y[i], floorDb);
    }
}
