using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

/// <summary>Which register-blocked micro-kernel the fast GEMM runs (the widest the CPU accelerates by default).</summary>
internal enum GemmKernelKind
{
    /// <summary>Plain loops over a 6×16 tile (no SIMD); the fallback and a test of the packing.</summary>
    Scalar,
    /// <summary>6×16 tile: 12 Vector256 accumulators, FMA when the CPU has it.</summary>
    Vector256,
    /// <summary>6×32 tile: 12 Vector512 accumulators (AVX-512).</summary>
    Vector512,
}

// The GEMM micro-kernels. Each computes one MR×NR tile of C from a packed A micro-panel
// (kc steps of MR values, [kc][MR]) and a packed B micro-panel ([kc][NR]):
//   acc[MR, NR] = Σ_p a[p, :]ᵀ · b[p, :]   (an outer product per step, all in registers)
//   C[0..rows, 0..cols] = alpha·acc + beta·C   (beta = 0: C is not read, so NaN there is ignored)
// The kernel leaves the tile in a small aligned buffer (KernelNxMStore with the buffer as C); a store
// step then writes the rows and columns that exist. Full 6×16 and 6×32 tiles with alpha 1 and beta 0 or 1
// (nearly all of them) skip the buffer: Kernel6x16Store / Kernel6x16Add and Kernel6x32Store / Kernel6x32Add write C themselves. The hot methods are compiled fully optimised at once (AggressiveOptimization):
// they need no profile data, and the first calls of a process should not run unoptimised code.
public partial class CpuBackend
{
    /// <summary>Rows of the micro-tile (every kernel).</summary>
    internal const int GemmMR = 6;

    /// <summary>Columns of the micro-tile of a kernel kind.</summary>
    internal static int GemmNR(GemmKernelKind kind) => kind == GemmKernelKind.Vector512 ? 32 : 16;

    /// <summary>The kernel this CPU runs best.</summary>
    internal static GemmKernelKind BestGemmKernel =>
        Vector512.IsHardwareAccelerated ? GemmKernelKind.Vector512
        : Vector256.IsHardwareAccelerated ? GemmKernelKind.Vector256
        : GemmKernelKind.Scalar;

    /// <summary>
    /// Runs the micro-kernel over one packed block: every MR×NR tile of an mc×nc block of C whose
    /// packed A block holds ⌈mc/MR⌉ micro-panels and packed B block ⌈nc/NR⌉ micro-panels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmMacroKernel(GemmKernelKind kind, int mc, int nc, int kc,
        float* packedA, float* packedB, float* c, int ldc, float alpha, float beta)
    {
        int nr = GemmNR(kind);
        float* tile = stackalloc float[GemmMR * 32 + 16];
        tile = (float*)(((nint)tile + 63) & ~(nint)63); // [MR, NR], 64-byte aligned
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* bp = packedB + (long)jr * kc;    // [kc][NR]
            for (int ir = 0; ir < mc; ir += GemmMR)
            {
                int rows = Math.Min(GemmMR, mc - ir);
                float* ap = packedA + (long)ir * kc; // [kc][MR]
                float* ct = c + (long)ir * ldc + jr;
                if (Sse.IsSupported)
                {
                    // the tile of C is read (beta ≠ 0) or written after the kernel: start fetching its lines now
                    for (int r = 0; r < rows; r++)
                    {
                        Sse.Prefetch0(ct + (long)r * ldc);
                        Sse.Prefetch0(ct + (long)r * ldc + nr - 1);
                    }
                }
                if (kind == GemmKernelKind.Vector512 && rows == GemmMR && cols == 32 && alpha == 1f && (beta == 0f || beta == 1f))
                {
                    // the same for the 6×32 tiles: straight into C
                    if (beta == 0f) Kernel6x32Store(kc, ap, bp, ct, ldc);
                    else Kernel6x32Add(kc, ap, bp, ct, ldc);
                    continue;
                }
                if (kind == GemmKernelKind.Vector256 && rows == GemmMR && cols == 16 && alpha == 1f)
                {
                    // the common full tile: straight into C (no round trip through the tile buffer)
                    if (beta == 0f)
                    {
                        Kernel6x16Store(kc, ap, bp, ct, ldc);
                        continue;
                    }
                    if (beta == 1f)
                    {
                        Kernel6x16Add(kc, ap, bp, ct, ldc);
                        continue;
                    }
                }
                switch (kind)
                {
                    case GemmKernelKind.Vector512: Kernel6x32Store(kc, ap, bp, tile, 32); break;
                    case GemmKernelKind.Vector256: Kernel6x16Store(kc, ap, bp, tile, 16); break;
                    default: KernelScalar(kc, ap, bp, tile); break;
                }
                if (rows == GemmMR && cols == nr) StoreTile(tile, nr, ct, ldc, alpha, beta);
                else StoreEdge(tile, nr, ct, ldc, rows, cols, alpha, beta);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    // fused also where the CPU lacks AVX-512 (then emulated), so 512-bit kernels (GEMM, convolution tiles) round as the
    // 256-bit ones on any machine
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Fmadd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : Vector512.FusedMultiplyAdd(a, b, c);

    /// <summary>
    /// 6×16 tile with Vector256 over a packed micro-panel: rows r = 0..5 keep two accumulators each (columns 0–7, 8–15);
    /// C = acc (alpha 1, beta 0: C is not read), rows <paramref name="ldc"/> floats apart — C itself, or the [6, 16] tile
    /// buffer with ldc 16. <see cref="Kernel6x16Steps"/> with the panel's step MR (its loop keeps the twelve accumulators in
    /// registers, its store after the loop included; checked with DOTNET_JitDisasm, no PGO data).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Kernel6x16Store(int kc, float* a, float* b, float* c, nint ldc) => Kernel6x16Steps(kc, a, GemmMR, b, c, ldc, add: false);

    /// <summary><see cref="Kernel6x16Store"/> for alpha 1, beta 1: C = C + acc (one rounding, as the tile path's FMA with beta 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Kernel6x16Add(int kc, float* a, float* b, float* c, nint ldc) => Kernel6x16Steps(kc, a, GemmMR, b, c, ldc, add: true);

    /// <summary>
    /// 6×16 tile with Vector256 (two accumulators per row: columns 0–7, 8–15): A's six values of step p at
    /// a + p·<paramref name="step"/> (GemmMR for a packed micro-panel; a transposed A's row stride when it is read in place),
    /// C = acc, or with <paramref name="add"/> C = C + acc; the 256-bit twin of <see cref="Kernel6x32Steps"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16Steps(int kc, float* a, nint step, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
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
            a += step;
            b += 16;
        }
        if (add) MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        else MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary><see cref="Kernel6x32Steps"/> over a packed micro-panel, C = acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Kernel6x32Store(int kc, float* a, float* b, float* c, nint ldc) => Kernel6x32Steps(kc, a, GemmMR, b, c, ldc, add: false);

    /// <summary><see cref="Kernel6x32Steps"/> over a packed micro-panel, C = C + acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Kernel6x32Add(int kc, float* a, float* b, float* c, nint ldc) => Kernel6x32Steps(kc, a, GemmMR, b, c, ldc, add: true);

    /// <summary>
    /// 6×32 tile with Vector512 (two accumulators per row: columns 0–15, 16–31): A's six values of step p at
    /// a + p·<paramref name="step"/> (GemmMR for a packed micro-panel; a transposed A's row stride when it is read in place),
    /// C = acc as <see cref="Kernel6x16Store"/> (ldc 32 for the tile buffer), or with <paramref name="add"/> C = C + acc
    /// (alpha 1, beta 1: one rounding, as the tile path's FMA with beta 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x32Steps(int kc, float* a, nint step, float* b, float* c, nint ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[0]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            a += step;
            b += 32;
        }
        if (add) MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        else MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>The same tile as plain loops (NR = 16), for CPUs without 256-bit SIMD; result to tile [6, 16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelScalar(int kc, float* a, float* b, float* tile)
    {
        new Span<float>(tile, GemmMR * 16).Clear();
        for (int p = 0; p < kc; p++, a += GemmMR, b += 16)
            for (int r = 0; r < GemmMR; r++)
            {
                float av = a[r];
                float* tr = tile + r * 16;
                for (int j = 0; j < 16; j++) tr[j] += av * b[j];
            }
    }

    /// <summary>A full MR×NR tile: C = alpha·tile + beta·C (beta = 0: C is not read), vectorised.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreTile(float* tile, int nr, float* c, int ldc, float alpha, float beta)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            StoreEdge(tile, nr, c, ldc, GemmMR, nr, alpha, beta);
            return;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        for (int r = 0; r < GemmMR; r++, c += ldc, tile += nr)
            for (int j = 0; j < nr; j += 8)
            {
                var v = Vector256.Load(tile + j) * va;
                if (beta != 0f) v = Fmadd(vb, Vector256.Load(c + j), v);
                v.Store(c + j);
            }
    }

    /// <summary>C[0..rows, 0..cols] = alpha·tile + beta·C from a row-major tile of width <paramref name="nr"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreEdge(float* tile, int nr, float* c, int ldc, int rows, int cols, float alpha, float beta)
    {
        if (Vector256.IsHardwareAccelerated && cols >= 8)
        {
            // runs of 8, the last one ending at cols (15 of 16 columns: a projection over 15 tokens
            // stores every tile here); it may overlap the run before, so it is computed from C before
            // that run is stored and stored after it (the overlap gets the same values twice)
            var va = Vector256.Create(alpha);
            var vb = Vector256.Create(beta);
            for (int r = 0; r < rows; r++)
            {
                float* cr = c + (long)r * ldc, tr = tile + r * nr;
                var last = Vector256.Load(tr + cols - 8) * va;
                if (beta != 0f) last = Fmadd(vb, Vector256.Load(cr + cols - 8), last);
                for (int j = 0; j + 8 < cols; j += 8)
                {
                    var v = Vector256.Load(tr + j) * va;
                    if (beta != 0f) v = Fmadd(vb, Vector256.Load(cr + j), v);
                    v.Store(cr + j);
                }
                last.Store(cr + cols - 8);
            }
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + (long)r * ldc, tr = tile + r * nr;
            if (beta == 0f)
                for (int j = 0; j < cols; j++) cr[j] = alpha * tr[j];
            else
                for (int j = 0; j < cols; j++) cr[j] = alpha * tr[j] + beta * cr[j];
        }
    }
}
