using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

/// <summary>
/// The prologue and epilogue of the 6-row register tiles (the GEMM's 6×16 and 6×32 kernels, among them the
/// whole-depth 6×32 tile's running sums; the shifted-window and channel-vector conv2d kernels): twelve
/// accumulators, row r's two vectors in c<i>r</i>0 and c<i>r</i>1, loaded from or stored to six rows
/// <c>ld</c> floats apart (a [6, 16] tile buffer: ld = 16; C itself: ld = ldc). Each kernel keeps its
/// own loop: the operands differ, and the JIT keeps all twelve accumulators in registers only when
/// the loop body is written out in the method that owns them.
/// </summary>
internal static class MicroTile
{
    /// <summary>c<i>r</i>0 = rows[r·ld ..+8], c<i>r</i>1 = rows[r·ld + 8 ..+8] for r = 0..5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Load(float* rows, nint ld,
        out Vector256<float> c00, out Vector256<float> c01, out Vector256<float> c10, out Vector256<float> c11,
        out Vector256<float> c20, out Vector256<float> c21, out Vector256<float> c30, out Vector256<float> c31,
        out Vector256<float> c40, out Vector256<float> c41, out Vector256<float> c50, out Vector256<float> c51)
    {
        c00 = Vector256.Load(rows); c01 = Vector256.Load(rows + 8);
        c10 = Vector256.Load(rows + ld); c11 = Vector256.Load(rows + ld + 8);
        c20 = Vector256.Load(rows + 2 * ld); c21 = Vector256.Load(rows + 2 * ld + 8);
        c30 = Vector256.Load(rows + 3 * ld); c31 = Vector256.Load(rows + 3 * ld + 8);
        c40 = Vector256.Load(rows + 4 * ld); c41 = Vector256.Load(rows + 4 * ld + 8);
        c50 = Vector256.Load(rows + 5 * ld); c51 = Vector256.Load(rows + 5 * ld + 8);
    }

    /// <summary>rows[r·ld ..+16] = (c<i>r</i>0, c<i>r</i>1) for r = 0..5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(float* rows, nint ld,
        Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11,
        Vector256<float> c20, Vector256<float> c21, Vector256<float> c30, Vector256<float> c31,
        Vector256<float> c40, Vector256<float> c41, Vector256<float> c50, Vector256<float> c51)
    {
        c00.Store(rows); c01.Store(rows + 8);
        c10.Store(rows + ld); c11.Store(rows + ld + 8);
        c20.Store(rows + 2 * ld); c21.Store(rows + 2 * ld + 8);
        c30.Store(rows + 3 * ld); c31.Store(rows + 3 * ld + 8);
        c40.Store(rows + 4 * ld); c41.Store(rows + 4 * ld + 8);
        c50.Store(rows + 5 * ld); c51.Store(rows + 5 * ld + 8);
    }

    /// <summary>rows[r·ld ..+16] += (c<i>r</i>0, c<i>r</i>1) for r = 0..5 (one rounding per element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Add(float* rows, nint ld,
        Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11,
        Vector256<float> c20, Vector256<float> c21, Vector256<float> c30, Vector256<float> c31,
        Vector256<float> c40, Vector256<float> c41, Vector256<float> c50, Vector256<float> c51)
    {
        (Vector256.Load(rows) + c00).Store(rows); (Vector256.Load(rows + 8) + c01).Store(rows + 8);
        (Vector256.Load(rows + ld) + c10).Store(rows + ld); (Vector256.Load(rows + ld + 8) + c11).Store(rows + ld + 8);
        (Vector256.Load(rows + 2 * ld) + c20).Store(rows + 2 * ld); (Vector256.Load(rows + 2 * ld + 8) + c21).Store(rows + 2 * ld + 8);
        (Vector256.Load(rows + 3 * ld) + c30).Store(rows + 3 * ld); (Vector256.Load(rows + 3 * ld + 8) + c31).Store(rows + 3 * ld + 8);
        (Vector256.Load(rows + 4 * ld) + c40).Store(rows + 4 * ld); (Vector256.Load(rows + 4 * ld + 8) + c41).Store(rows + 4 * ld + 8);
        (Vector256.Load(rows + 5 * ld) + c50).Store(rows + 5 * ld); (Vector256.Load(rows + 5 * ld + 8) + c51).Store(rows + 5 * ld + 8);
    }

    /// <summary>The 6×32 tile of Vector512 accumulators: c<i>r</i>0 = rows[r·ld ..+16], c<i>r</i>1 = rows[r·ld + 16 ..+16] for r = 0..5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Load(float* rows, nint ld,
        out Vector512<float> c00, out Vector512<float> c01, out Vector512<float> c10, out Vector512<float> c11,
        out Vector512<float> c20, out Vector512<float> c21, out Vector512<float> c30, out Vector512<float> c31,
        out Vector512<float> c40, out Vector512<float> c41, out Vector512<float> c50, out Vector512<float> c51)
    {
        c00 = Vector512.Load(rows); c01 = Vector512.Load(rows + 16);
        c10 = Vector512.Load(rows + ld); c11 = Vector512.Load(rows + ld + 16);
        c20 = Vector512.Load(rows + 2 * ld); c21 = Vector512.Load(rows + 2 * ld + 16);
        c30 = Vector512.Load(rows + 3 * ld); c31 = Vector512.Load(rows + 3 * ld + 16);
        c40 = Vector512.Load(rows + 4 * ld); c41 = Vector512.Load(rows + 4 * ld + 16);
        c50 = Vector512.Load(rows + 5 * ld); c51 = Vector512.Load(rows + 5 * ld + 16);
    }

    /// <summary>The 6×32 tile of Vector512 accumulators: rows[r·ld ..+32] = (c<i>r</i>0, c<i>r</i>1) for r = 0..5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(float* rows, nint ld,
        Vector512<float> c00, Vector512<float> c01, Vector512<float> c10, Vector512<float> c11,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c30, Vector512<float> c31,
        Vector512<float> c40, Vector512<float> c41, Vector512<float> c50, Vector512<float> c51)
    {
        c00.Store(rows); c01.Store(rows + 16);
        c10.Store(rows + ld); c11.Store(rows + ld + 16);
        c20.Store(rows + 2 * ld); c21.Store(rows + 2 * ld + 16);
        c30.Store(rows + 3 * ld); c31.Store(rows + 3 * ld + 16);
        c40.Store(rows + 4 * ld); c41.Store(rows + 4 * ld + 16);
        c50.Store(rows + 5 * ld); c51.Store(rows + 5 * ld + 16);
    }

    /// <summary>The 6×32 tile of Vector512 accumulators: rows[r·ld ..+32] += (c<i>r</i>0, c<i>r</i>1) (one rounding per element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Add(float* rows, nint ld,
        Vector512<float> c00, Vector512<float> c01, Vector512<float> c10, Vector512<float> c11,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c30, Vector512<float> c31,
        Vector512<float> c40, Vector512<float> c41, Vector512<float> c50, Vector512<float> c51)
    {
        (Vector512.Load(rows) + c00).Store(rows); (Vector512.Load(rows + 16) + c01).Store(rows + 16);
        (Vector512.Load(rows + ld) + c10).Store(rows + ld); (Vector512.Load(rows + ld + 16) + c11).Store(rows + ld + 16);
        (Vector512.Load(rows + 2 * ld) + c20).Store(rows + 2 * ld); (Vector512.Load(rows + 2 * ld + 16) + c21).Store(rows + 2 * ld + 16);
        (Vector512.Load(rows + 3 * ld) + c30).Store(rows + 3 * ld); (Vector512.Load(rows + 3 * ld + 16) + c31).Store(rows + 3 * ld + 16);
        (Vector512.Load(rows + 4 * ld) + c40).Store(rows + 4 * ld); (Vector512.Load(rows + 4 * ld + 16) + c41).Store(rows + 4 * ld + 16);
        (Vector512.Load(rows + 5 * ld) + c50).Store(rows + 5 * ld); (Vector512.Load(rows + 5 * ld + 16) + c51).Store(rows + 5 * ld + 16);
    }

    /// <summary>One 16-float row of a Vector256 tile (the 4- and 2-row tails): row[..+16] = (lo, hi), or += with one rounding per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Row(float* row, Vector256<float> lo, Vector256<float> hi, bool add)
    {
        if (add)
        {
            lo = Vector256.Load(row) + lo;
            hi = Vector256.Load(row + 8) + hi;
        }
        lo.Store(row);
        hi.Store(row + 8);
    }

    /// <summary>One 32-float row of a Vector512 tile (the 4- and 2-row tails): row[..+32] = (lo, hi), or += with one rounding per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Row(float* row, Vector512<float> lo, Vector512<float> hi, bool add)
    {
        if (add)
        {
            lo = Vector512.Load(row) + lo;
            hi = Vector512.Load(row + 16) + hi;
        }
        lo.Store(row);
        hi.Store(row + 16);
    }
}
