using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// The input transforms of Conv2dWinograd.F23.cs and Conv2dWinograd.F25.cs on 16 tiles of a tile row at a time
// (512-bit vectors, AVX-512F): every lane runs the 8-tile form's operations in the same order, so V holds the
// same bits whichever form wrote it (CpuFastConv2dWinogradWeightTests pins the two widths against each other).
internal static partial class Conv2dWinograd
{
    /// <summary>True when the 16-tile input transforms may run (<paramref name="wide"/> asked and AVX-512F present).</summary>
    private static bool WideTransforms(bool wide) => wide && Avx512F.IsSupported;

    /// <summary>The input transform of 8 tiles, or of 16 when <paramref name="wide"/> and a row holds them from j0; returns the tiles done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int InputTiles(int alpha, float* patch, int wp, float* slot, long xiStride, int tilesLeft, bool wide)
    {
        if (wide && tilesLeft >= 16)
        {
            if (alpha == 4) Input16(patch, wp, slot, xiStride);
            else Input16Alpha6(patch, wp, slot, xiStride);
            return 16;
        }
        if (alpha == 4) Input8(patch, wp, slot, xiStride);
        else Input8Alpha6(patch, wp, slot, xiStride);
        return 8;
    }

    /// <summary>The even and the odd floats of p[0..32), each in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector512<float> Even, Vector512<float> Odd) Deinterleave16(float* p)
    {
        var a = Vector512.Load(p);
        var b = Vector512.Load(p + 16);
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return (Avx512F.PermuteVar16x32x2(a, even, b), Avx512F.PermuteVar16x32x2(a, odd, b));
    }

    /// <summary><see cref="Input8"/> for 16 consecutive tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Input16(float* p, int wp, float* v, long xiStride)
    {
        var (q00, q01, q02, q03) = InputRow16(p);
        var (q10, q11, q12, q13) = InputRow16(p + wp);
        var (q20, q21, q22, q23) = InputRow16(p + 2 * wp);
        (q00 - q20).Store(v);
        (q01 - q21).Store(v + xiStride);
        (q02 - q22).Store(v + 2 * xiStride);
        (q03 - q23).Store(v + 3 * xiStride);
        (q10 + q20).Store(v + 4 * xiStride);
        (q11 + q21).Store(v + 5 * xiStride);
        (q12 + q22).Store(v + 6 * xiStride);
        (q13 + q23).Store(v + 7 * xiStride);
        (q20 - q10).Store(v + 8 * xiStride);
        (q21 - q11).Store(v + 9 * xiStride);
        (q22 - q12).Store(v + 10 * xiStride);
        (q23 - q13).Store(v + 11 * xiStride);
        var (q30, q31, q32, q33) = InputRow16(p + 3 * wp);
        (q10 - q30).Store(v + 12 * xiStride);
        (q11 - q31).Store(v + 13 * xiStride);
        (q12 - q32).Store(v + 14 * xiStride);
        (q13 - q33).Store(v + 15 * xiStride);
    }

    /// <summary><see cref="InputRow"/> of 16 tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) InputRow16(float* p)
    {
        var (d0, d1) = Deinterleave16(p);
        var (d2, d3) = Deinterleave16(p + 2);
        return (d0 - d2, d1 + d2, d2 - d1, d1 - d3);
    }

    /// <summary><see cref="Input8Alpha6"/> for 16 consecutive tiles.</summary>
    [SkipLocalsInit] // its stack buffers are written before they are read: zeroing them cost more than the transform
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Input16Alpha6(float* p, int wp, float* v, long xiStride)
    {
        var q = stackalloc Vector512<float>[36];
        for (int r = 0; r < 6; r++)
        {
            float* row = p + r * wp;
            var (d0, d1) = Deinterleave16(row);
            var (d2, d3) = Deinterleave16(row + 2);
            var (d4, d5) = Deinterleave16(row + 4);
            TransformB6(d0, d1, d2, d3, d4, d5, q + 6 * r);
        }
        var col = stackalloc Vector512<float>[6];
        for (int sigma = 0; sigma < 6; sigma++)
        {
            TransformB6(q[sigma], q[6 + sigma], q[12 + sigma], q[18 + sigma], q[24 + sigma], q[30 + sigma], col);
            for (int rho = 0; rho < 6; rho++) col[rho].Store(v + (6 * rho + sigma) * xiStride);
        }
    }

    /// <summary><see cref="TransformB6(Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}*)"/> on 16 lanes: the same operations in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransformB6(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3,
        Vector512<float> x4, Vector512<float> x5, Vector512<float>* y)
    {
        var four = Vector512.Create(4f);
        var five = Vector512.Create(5f);
        var x4m2 = x4 - x2;
        y[0] = Vector512.FusedMultiplyAdd(four, x0, x4) - five * x2;
        var a = four * (x1 + x2);
        var b = four * x1;
        y[1] = x3 + x4 - a;
        y[2] = b - four * x2 - x3 + x4;
        var c = (x3 - x1) * Vector512.Create(2f);
        y[3] = c + x4m2;
        y[4] = x4m2 - c;
        y[5] = Vector512.FusedMultiplyAdd(four, x1, x5) - five * x3;
    }
}
