using ILGPU;
using ILGPU.Algorithms;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>The fused attention softmax's switches: which optional buffers are real, mask rows, scale.</summary>
internal readonly record struct BiasedSoftmaxArgs(int Rows, int Cols, int HasBias, int HasMask, int RowsPerMask, float Scale);

/// <summary>
/// Row-wise softmax / log-softmax and the fused attention softmax, forward and backward: the twin of
/// kernels/softmax.cl (softmax_rows, softmax_rows_backward, biased_softmax, biased_softmax_backward).
/// One group per row (grid x = rows); each thread strides over the row, row maxima and sums are
/// group reductions (<see cref="GroupReduce"/>). Every buffer is [rows, cols]; keyMask is Int32
/// [rows / rowsPerMask, cols] (non-zero = keep). Optional buffers come with a has* flag and a
/// stand-in that is never read. Sums in float (the CPU reference sums in double).
/// </summary>
internal static class SoftmaxKernels
{
    /// <summary>softmax_rows: y = softmax(x) or log-softmax(x) (y may alias x).</summary>
    public static void Rows(ArrayView<float> x, ArrayView<float> y, int rows, int cols, int logSoftmax)
    {
        int row = Grid.IdxX;
        if (row >= rows) return; // uniform over the group
        int o = row * cols;
        float m = float.NegativeInfinity;
        for (int j = Group.IdxX; j < cols; j += Group.DimX) m = XMath.Max(m, x[o + j]);
        m = GroupReduce.Max(m);
        float s = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX) s += XMath.Exp(x[o + j] - m);
        s = GroupReduce.Sum(s);
        if (logSoftmax != 0)
        {
            float logSum = XMath.Log(s);
            for (int j = Group.IdxX; j < cols; j += Group.DimX) y[o + j] = x[o + j] - m - logSum;
        }
        else
        {
            for (int j = Group.IdxX; j < cols; j += Group.DimX) y[o + j] = XMath.Exp(x[o + j] - m) / s;
        }
    }

    /// <summary>softmax_rows_backward: softmax dx = y·(dy − Σ dy·y); log-softmax dx = dy − e^y·Σ dy.</summary>
    public static void RowsBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows, int cols, int logSoftmax)
    {
        int row = Grid.IdxX;
        if (row >= rows) return;
        int o = row * cols;
        float dot = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX) dot += logSoftmax != 0 ? dy[o + j] : dy[o + j] * y[o + j];
        dot = GroupReduce.Sum(dot);
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
            dx[o + j] = logSoftmax != 0 ? dy[o + j] - XMath.Exp(y[o + j]) * dot : y[o + j] * (dy[o + j] - dot);
    }

    /// <summary>
    /// biased_softmax: z = scale·x + bias, y = softmax over the kept keys; masked keys exactly 0, a row
    /// with every key masked all 0 (never NaN).
    /// </summary>
    public static void Biased(ArrayView<float> x, ArrayView<float> bias, ArrayView<int> keyMask, ArrayView<float> y, BiasedSoftmaxArgs a)
    {
        int row = Grid.IdxX;
        if (row >= a.Rows) return;
        int o = row * a.Cols, mo = a.HasMask != 0 ? row / a.RowsPerMask * a.Cols : 0;
        float m = float.NegativeInfinity;
        for (int j = Group.IdxX; j < a.Cols; j += Group.DimX)
            if (a.HasMask == 0 || keyMask[mo + j] != 0) m = XMath.Max(m, a.Scale * x[o + j] + (a.HasBias != 0 ? bias[o + j] : 0f));
        m = GroupReduce.Max(m);
        // Every key masked (or every score −inf): the row is all zeros, never NaN. The group maximum of no
        // kept key is not always −inf (ILGPU.Algorithms' MaxFloat starts from float.MinValue), so the sum
        // decides: a kept finite score adds e^0 = 1, no kept key gives 0 (or NaN from −inf − −inf).
        // No early return: every thread reaches the reductions.
        float s = 0f;
        for (int j = Group.IdxX; j < a.Cols; j += Group.DimX)
            if (a.HasMask == 0 || keyMask[mo + j] != 0) s += XMath.Exp(a.Scale * x[o + j] + (a.HasBias != 0 ? bias[o + j] : 0f) - m);
        s = GroupReduce.Sum(s);
        bool anyKept = s > 0f;
        for (int j = Group.IdxX; j < a.Cols; j += Group.DimX)
        {
            bool kept = anyKept && (a.HasMask == 0 || keyMask[mo + j] != 0);
            y[o + j] = kept ? XMath.Exp(a.Scale * x[o + j] + (a.HasBias != 0 ? bias[o + j] : 0f) - m) / s : 0f;
        }
    }

    /// <summary>biased_softmax_backward: g = y·(dy − Σ dy·y); dx = scale·g, dBias = g (each when its flag is set).</summary>
    public static void BiasedBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int hasDx,
        ArrayView<float> dBias, int hasDBias, int rows, int cols, float scale)
    {
        int row = Grid.IdxX;
        if (row >= rows) return;
        int o = row * cols;
        float dot = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX) dot += dy[o + j] * y[o + j];
        dot = GroupReduce.Sum(dot);
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
        {
            float g = y[o + j] * (dy[o + j] - dot);
            if (hasDx != 0) dx[o + j] = scale * g;
            if (hasDBias != 0) dBias[o + j] = g;
        }
    }
}
