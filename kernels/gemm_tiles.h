// gemm_tiles.h — the register-blocked GEMM tiling shared by gemm.cl (gemm_tiled_regblock) and
// conv2d.cl (implicit_gemm); each file takes it with `#include "gemm_tiles.h"` (KernelSource expands
// it in place). The launch code passes its own values as -D options (GpuBackend.Gemm.cs, GpuBackend.Conv2d.cs);
// these defaults only let a file compile alone.
//
// A work-group computes a TSM×TSN tile of C from TSK-deep slabs of the operands in local memory;
// each work-item accumulates a WPTM×WPTN block of C in registers.

#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 128
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 8
#endif
#ifndef WPTN
#define WPTN 8
#endif

#define RTSM (TSM / WPTM) // work-items along dim 1 of a register-blocked work-group
#define RTSN (TSN / WPTN) // work-items along dim 0

#define NT (RTSM * RTSN) // work-items per register-blocked work-group

// ---- conflict-free slab tiles (the *_padded, *_vec4, *_dbuf and *_unrolled variants) -------------
//
// A slab tile holds TSK rows q of TX columns x (x = i for op(A), j for op(B)); element (q, x) sits at
// q·TILE_STRIDE(TX) + TILE_SKEW(x). Padding, not a swizzle: two fixed offsets serve every access of the
// tile, and the register-tile reads keep compile-time offsets (a swizzle would XOR every index).
//   TILE_SKEW: one spare word after every 32, so 32 work-items storing word v of their float4 (4 apart)
//              hit 32 banks; TILE_STRIDE: row stride ≡ 32/TSK (mod 32), so TSK rows × 32/TSK columns
//              of a store down the columns hit 32 banks.
// Bank conflicts per warp of 32 (banks of 4-byte words), old tile [TSK][TX] → padded tile, with 64×128
// tiles, TSK 16, 16×8 work-items (a warp = 2 rows ly of 16 lx):
//   register-tile reads  As[q][ly + wm·8]: 2 words, 1-way → 1-way;  Bs[q][lx + wn·16]: 16 words, 1-way → 1-way
//   scalar staging (padded)  along x (op(A) stored [K, M], op(B) [K, N]): 1-way → 1-way
//                            along q (op(A) [M, K], op(B) [N, K], the conv weights):  16-way → 1-way
//   float4 staging (vec4 and later), each of its 4 scalar stores:  along x: 4-way → 1-way;
//                            along q: 4-way → 1-way
// The old kernels' reads were already conflict-free; their cost was the 16-way stores down a column.
#if (32 % TSK) != 0 || (32 % RTSM) != 0 || (32 % RTSN) != 0
#error "padded slab tiles: TSK, RTSM and RTSN must divide the 32 banks"
#endif
#if (TSM * TSK / 4) % NT != 0 || (TSN * TSK / 4) % NT != 0 || TSM % 4 != 0 || TSN % 4 != 0 || TSK % 4 != 0
#error "padded slab tiles: each work-item stages whole float4 groups of both slabs"
#endif
#define TILE_SKEW(x) ((x) + ((x) >> 5))
#define TILE_STRIDE(tx) (TILE_SKEW(tx) + (64 + 32 / TSK - TILE_SKEW(tx) % 32) % 32)
#define TSA TILE_STRIDE(TSM)        // row stride of the op(A) slab (66 words for TSM 64)
#define TSB TILE_STRIDE(TSN)        // row stride of the op(B) slab (162 words for TSN 128)
#define G4A (TSM * TSK / 4 / NT)    // float4 groups of the op(A) slab per work-item
#define G4B (TSN * TSK / 4 / NT)    // float4 groups of the op(B) slab per work-item

// Float4 group g of a TSK × tx slab: 4 consecutive q (alongQ) or 4 consecutive x. Consecutive
// work-items take consecutive groups along the operand's unit-stride direction (coalesced loads).
INLINE int tile_group_x(const int g, const int tx, const int alongQ) { return alongQ ? g / (TSK / 4) : g % (tx / 4) * 4; }
INLINE int tile_group_q(const int g, const int tx, const int alongQ) { return alongQ ? g % (TSK / 4) * 4 : g / (tx / 4); }

// Stores group v (elements (q, x) .. (q+3, x) or (q, x) .. (q, x+3)) into a padded slab tile.
INLINE void tile_put4(LOCAL_PTR float* t, const int stride, const int x, const int q, const int alongQ, const float4 v)
{
    if (alongQ)
    {
        const int o = q * stride + TILE_SKEW(x);
        t[o] = v.x;
        t[o + stride] = v.y;
        t[o + 2 * stride] = v.z;
        t[o + 3 * stride] = v.w;
    }
    else
    {
        LOCAL_PTR float* row = t + q * stride;
        row[TILE_SKEW(x)] = v.x;
        row[TILE_SKEW(x + 1)] = v.y;
        row[TILE_SKEW(x + 2)] = v.z;
        row[TILE_SKEW(x + 3)] = v.w;
    }
}

// Elements (x, q) .. of a strided operand, element (x, q) = base[x·xs + q·qs], one of xs, qs being 1
// (the group runs along it); zero outside [0, X) × [0, Q). vec (host-checked: the other stride and the
// base offset are multiples of 4) loads a whole group as one float4; the ragged edge loads scalars.
INLINE float4 tile_fetch4(GLOBAL const float* base, const int x, const int q, const int X, const int Q,
                          const int xs, const int qs, const int alongQ, const int vec)
{
    const int n = alongQ ? (x < X ? Q - q : 0) : (q < Q ? X - x : 0); // valid elements of the group
    if (n <= 0) return FLOAT4(0.0f, 0.0f, 0.0f, 0.0f);
    GLOBAL const float* p = base + x * xs + q * qs;
    if (vec && n >= 4) return LOAD4(p);
    return FLOAT4(p[0], n > 1 ? p[1] : 0.0f, n > 2 ? p[2] : 0.0f, n > 3 ? p[3] : 0.0f);
}

// acc[wm·WPTN + wn] += as[q][ly + wm·RTSM] · bs[q][lx + wn·RTSN] for one q of padded slab tiles; the
// skew of ly + wm·RTSM is that of wm·RTSM (RTSM divides 32, ly < RTSM): a compile-time offset.
INLINE void tile_fma_row(LOCAL_PTR const float* as, LOCAL_PTR const float* bs, const int q,
                         float* acc, const int lx, const int ly)
{
    float ar[WPTM], br[WPTN];
    UNROLL
    for (int wm = 0; wm < WPTM; wm++) ar[wm] = as[q * TSA + ly + TILE_SKEW(wm * RTSM)];
    UNROLL
    for (int wn = 0; wn < WPTN; wn++) br[wn] = bs[q * TSB + lx + TILE_SKEW(wn * RTSN)];
    UNROLL
    for (int wm = 0; wm < WPTM; wm++)
        UNROLL
        for (int wn = 0; wn < WPTN; wn++) acc[wm * WPTN + wn] += ar[wm] * br[wn];
}

// One staged slab pair into the register tile; unrolled (the *_unrolled variants) also unrolls the
// TSK-deep q loop, so every local offset is a constant and the loop has no counter.
INLINE void tile_accumulate(LOCAL_PTR const float* as, LOCAL_PTR const float* bs, float* acc,
                            const int lx, const int ly, const int unrolled)
{
    if (unrolled)
    {
        UNROLL
        for (int q = 0; q < TSK; q++) tile_fma_row(as, bs, q, acc, lx, ly);
    }
    else
    {
        for (int q = 0; q < TSK; q++) tile_fma_row(as, bs, q, acc, lx, ly);
    }
}

// The slab loop of the tile steps over q0 = qBegin, qBegin + TSK, .. < qEnd (work-group uniform).
// FETCH(q0) loads slab q0 into the work-item's registers, PUT(as, bs) stores them into a slab pair
// (both function-like macros of the caller). Single-buffered: fetch, store, barrier, multiply, barrier.
// Double-buffered (dbuf): slab t+1 is fetched while slab t is multiplied from the other buffer, then
// stored; one barrier per slab (it both publishes slab t+1 and retires slab t's buffer).
#define TILE_SLAB_LOOP(qBegin, qEnd, FETCH, PUT, As, Bs, acc, lx, ly, dbuf, unrolled)                           \
    if (!(dbuf))                                                                                               \
    {                                                                                                          \
        for (int q0 = (qBegin); q0 < (qEnd); q0 += TSK)                                                        \
        {                                                                                                      \
            FETCH(q0)                                                                                          \
            PUT(As, Bs)                                                                                        \
            BARRIER;                                                                                           \
            tile_accumulate(As, Bs, acc, lx, ly, unrolled);                                                    \
            BARRIER;                                                                                           \
        }                                                                                                      \
    }                                                                                                          \
    else if ((qBegin) < (qEnd))                                                                                \
    {                                                                                                          \
        FETCH(qBegin)                                                                                          \
        PUT(As, Bs)                                                                                            \
        BARRIER;                                                                                               \
        int cur = 0;                                                                                           \
        for (int q0 = (qBegin); q0 < (qEnd); q0 += TSK)                                                        \
        {                                                                                                      \
            const int more = q0 + TSK < (qEnd);                                                                \
            if (more) { FETCH(q0 + TSK) }                                                                      \
            tile_accumulate(As + cur * (TSK * TSA), Bs + cur * (TSK * TSB), acc, lx, ly, unrolled);            \
            if (more) { PUT(As + (cur ^ 1) * (TSK * TSA), Bs + (cur ^ 1) * (TSK * TSB)) }                      \
            BARRIER;                                                                                           \
            cur ^= 1;                                                                                          \
        }                                                                                                      \
    }
