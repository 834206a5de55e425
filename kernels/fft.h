// fft.h — a forward complex FFT of one work-group in local memory: Stockham autosort passes of
// radix 8, 4, 2, 3 and 5 (spectrogram.cl's spectrogram_fft takes it with `#include "fft.h"`).
//
// Dimension legend: S the FFT length (a product of 2, 3 and 5, S ≤ FFT_MAX), p the length of the
// sub-transforms finished by earlier passes, R a pass's radix. re, im [2, FFT_MAX] local floats:
// two ping-pong halves of FFT_MAX points each. tw [2, ntab] the table cos(2πm/ntab) then
// sin(2πm/ntab), m < ntab, with ntab = S·step (a table for a multiple of S serves S with a stride).
//
// One pass (Stockham, out of place, no bit reversal): for every i < S/R, k = i mod p,
//   x_j = in[i + j·S/R]·e^(−2πi·j·k/(p·R)),  y = DFT_R(x),  out[(i − k)·R + k + j·p] = y_j.
// Radices are taken greedily (8, then 4, 2, 3, 5), uniformly over the group, so every work-item
// runs the same passes and the barriers between them are uniform. The loop over passes lives in the
// kernel itself (spectrogram_fft): PoCL 3.1 lost every local store of a helper function that held
// that loop and its barrier.

#include "group.h" // FOR_GROUP_STRIDE

#ifndef FFT_MAX
#define FFT_MAX 2048 // points per local half: 2 halves × (re, im) × 4 B × 2048 = 32 KiB (CUDA's static limit is 48 KiB)
#endif

typedef struct { float re, im; } cfloat;

INLINE cfloat cf(const float re, const float im) { cfloat c; c.re = re; c.im = im; return c; }
INLINE cfloat cf_add(const cfloat a, const cfloat b) { return cf(a.re + b.re, a.im + b.im); }
INLINE cfloat cf_sub(const cfloat a, const cfloat b) { return cf(a.re - b.re, a.im - b.im); }
INLINE cfloat cf_mul(const cfloat a, const cfloat b) { return cf(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re); }
INLINE cfloat cf_conj(const cfloat a) { return cf(a.re, -a.im); }
INLINE cfloat cf_scale(const cfloat a, const float s) { return cf(a.re * s, a.im * s); }
INLINE cfloat cf_mul_neg_i(const cfloat a) { return cf(a.im, -a.re); } // a·(−i)

// e^(−2πi·m/ntab) from the table (m < ntab).
INLINE cfloat fft_twiddle(GLOBAL const float* tw, const int ntab, const int m) { return cf(tw[m], -tw[ntab + m]); }

// Radix-2, 4 and 8 butterflies, forward (e^(−2πi·jk/R)).
#define FFT_BFLY2(x) { const cfloat a0 = x[0]; x[0] = cf_add(a0, x[1]); x[1] = cf_sub(a0, x[1]); }
#define FFT_BFLY4(x, o) { \
    const cfloat t0 = cf_add(x[o], x[o + 2]), t1 = cf_sub(x[o], x[o + 2]); \
    const cfloat t2 = cf_add(x[o + 1], x[o + 3]), t3 = cf_mul_neg_i(cf_sub(x[o + 1], x[o + 3])); \
    x[o] = cf_add(t0, t2); x[o + 1] = cf_add(t1, t3); x[o + 2] = cf_sub(t0, t2); x[o + 3] = cf_sub(t1, t3); }

INLINE void fft_bfly8(cfloat* x)
{
    const float h = 0.70710678118654752f; // √½
    cfloat e[4], o[4];
    e[0] = x[0]; e[1] = x[2]; e[2] = x[4]; e[3] = x[6];
    o[0] = x[1]; o[1] = x[3]; o[2] = x[5]; o[3] = x[7];
    FFT_BFLY4(e, 0);
    FFT_BFLY4(o, 0);
    o[1] = cf_mul(o[1], cf(h, -h)); // e^(−iπ/4)
    o[2] = cf_mul_neg_i(o[2]);      // e^(−iπ/2)
    o[3] = cf_mul(o[3], cf(-h, -h)); // e^(−3iπ/4)
    UNROLL
    for (int j = 0; j < 4; j++)
    {
        x[j] = cf_add(e[j], o[j]);
        x[j + 4] = cf_sub(e[j], o[j]);
    }
}

INLINE void fft_bfly3(cfloat* x)
{
    const float s = 0.86602540378443865f; // sin(2π/3)
    const cfloat t = cf_add(x[1], x[2]), u = cf_scale(cf_mul_neg_i(cf_sub(x[1], x[2])), s);
    const cfloat a = cf_sub(x[0], cf_scale(t, 0.5f));
    x[0] = cf_add(x[0], t);
    x[1] = cf_add(a, u);
    x[2] = cf_sub(a, u);
}

INLINE void fft_bfly5(cfloat* x)
{
    const float c1 = 0.30901699437494742f, c2 = -0.80901699437494742f; // cos(2π/5), cos(4π/5)
    const float s1 = 0.95105651629515357f, s2 = 0.58778525229247313f;  // sin(2π/5), sin(4π/5)
    const cfloat t1 = cf_add(x[1], x[4]), t2 = cf_add(x[2], x[3]), t3 = cf_sub(x[1], x[4]), t4 = cf_sub(x[2], x[3]);
    const cfloat a1 = cf_add(x[0], cf_add(cf_scale(t1, c1), cf_scale(t2, c2)));
    const cfloat a2 = cf_add(x[0], cf_add(cf_scale(t1, c2), cf_scale(t2, c1)));
    const cfloat b1 = cf_mul_neg_i(cf_add(cf_scale(t3, s1), cf_scale(t4, s2))); // −i·(s1·t3 + s2·t4)
    const cfloat b2 = cf_mul_neg_i(cf_sub(cf_scale(t3, s2), cf_scale(t4, s1))); // −i·(s2·t3 − s1·t4)
    x[0] = cf_add(x[0], cf_add(t1, t2));
    x[1] = cf_add(a1, b1);
    x[4] = cf_sub(a1, b1);
    x[2] = cf_add(a2, b2);
    x[3] = cf_sub(a2, b2);
}

// Butterfly i of a radix-R pass from (ir, ii) to (or_, oi); the loops over j have a constant trip
// count, so x stays in registers.
#define FFT_BUTTERFLY(R, BUTTERFLY) \
    { \
        const int count = S / R, stride = (S / (p * R)) * step; /* table steps per unit of j·k */ \
        const int k = i % p; \
        cfloat x[R]; \
        UNROLL \
        for (int j = 0; j < R; j++) \
        { \
            x[j] = cf(ir[i + j * count], ii[i + j * count]); \
            if (j > 0 && k > 0) x[j] = cf_mul(x[j], fft_twiddle(tw, ntab, j * k * stride)); \
        } \
        BUTTERFLY; \
        const int o = (i - k) * R + k; \
        UNROLL \
        for (int j = 0; j < R; j++) \
        { \
            or_[o + j * p] = x[j].re; \
            oi[o + j * p] = x[j].im; \
        } \
    }

// Butterfly i (< S/r) of the radix-r pass that follows sub-transforms of length p.
INLINE void fft_butterfly(LOCAL_PTR const float* ir, LOCAL_PTR const float* ii, LOCAL_PTR float* or_, LOCAL_PTR float* oi,
                          const int i, const int r, const int S, const int p, GLOBAL const float* tw, const int ntab, const int step)
{
    if (r == 8) FFT_BUTTERFLY(8, fft_bfly8(x))
    else if (r == 4) FFT_BUTTERFLY(4, FFT_BFLY4(x, 0))
    else if (r == 2) FFT_BUTTERFLY(2, FFT_BFLY2(x))
    else if (r == 3) FFT_BUTTERFLY(3, fft_bfly3(x))
    else FFT_BUTTERFLY(5, fft_bfly5(x))
}

// The radix of the next pass over the `rest` points still to combine: 8, 4, 2, 3, then 5.
INLINE int fft_radix(const int rest) { return rest % 8 == 0 ? 8 : rest % 4 == 0 ? 4 : rest % 2 == 0 ? 2 : rest % 3 == 0 ? 3 : 5; }
