using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GEMM with A read in place by the 256-bit 6×16 micro-kernel (CpuFast.GemmRows.cs has the rule, GemmReadsAInPlace, the
// macro kernel both widths run and the 512-bit 6×32 kernels): A[i0 + r, p] broadcast straight from six rows of an
// untransposed A, or from six neighbours in each row of a transposed one, instead of from a packed [kc][MR] micro-
// panel. Each element is still Kernel6x16Store's FMA chain over the KC slab, stored or added as Kernel6x16Store /
// Kernel6x16Add and the tile path do: C is the packed kernel's bit for bit. What goes is the packing pass over A (and
// the wait for it), the same share of the attention block's products (fca training step: 480 rows, k = 256 or 480) as
// at 512 bits, on the AVX2-only machines.
public partial class CpuBackend
{
    /// <summary>The 256-bit 6×16 tile kernels (this file) for <see cref="GemmMacroKernelInPlace{TTiles}"/>.</summary>
    private readonly struct InPlace256 : IInPlaceTiles
    {
        public static int NR => 16;
        public static unsafe void SixRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, bool add) => Kernel6x16Rows(kc, a, lda, b, c, ldc, add);
        public static unsafe void SixSteps(int kc, float* a, nint step, float* b, float* c, nint ldc, bool add) => Kernel6x16Steps(kc, a, step, b, c, ldc, add);
        public static unsafe void Four(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add) =>
            Kernel4x16(kc, a, rowStep, depthStep, b, c, ldc, add);
        public static unsafe void Two(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add) =>
            Kernel2x16(kc, a, rowStep, depthStep, b, c, ldc, add);
        public static unsafe void SixPacked(int kc, float* a, float* b, float* c, nint ldc) => Kernel6x16Store(kc, a, b, c, ldc);
    }

    /// <summary><see cref="Kernel6x16Store"/>'s chains with A's six rows read in place, <paramref name="lda"/> floats apart; C = acc or C + acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16Rows(int kc, float* a, nint lda, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector256.Create(a4[p]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector256.Create(a5[p]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            b += 16;
        }
        if (add) MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        else MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>
    /// The first four rows of a 6×16 tile (<see cref="Kernel6x16Store"/>'s chains for rows 0–3) with A read in place:
    /// A[r, p] at a[r·<paramref name="rowStep"/> + p·<paramref name="depthStep"/>]; C = acc, or C = C + acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel4x16(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a1 = a + rowStep, a2 = a1 + rowStep, a3 = a2 + rowStep;
        nint end = kc * depthStep;
        for (nint p = 0; p < end; p += depthStep)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            b += 16;
        }
        MicroTile.Row(c, c00, c01, add);
        MicroTile.Row(c + ldc, c10, c11, add);
        MicroTile.Row(c + 2 * ldc, c20, c21, add);
        MicroTile.Row(c + 3 * ldc, c30, c31, add);
    }

    /// <summary><see cref="Kernel4x16"/> for the first two rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel2x16(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        float* a1 = a + rowStep;
        nint end = kc * depthStep;
        for (nint p = 0; p < end; p += depthStep)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            b += 16;
        }
        MicroTile.Row(c, c00, c01, add);
        MicroTile.Row(c + ldc, c10, c11, add);
    }
}
