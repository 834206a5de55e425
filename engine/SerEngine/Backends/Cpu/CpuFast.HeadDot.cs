using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast per-head dot products (Backend.HeadDot.cs), one pass over x each way, x read where the heads lie ([N, T, H, D]).
// Forward: each y is FixedSum.Dot of its row of x and u, as SumTo summed the products' row (the same products, the
// same fixed order), through a double as SumTo's kept-row loop stores it; rows under 32 are summed in order in double,
// as SumTo's short-row loops do. Backward, per (head, 32-column block) (the threads take blocks): dx's rows are
// dy·u; du's sums run in lanes over (n, t) in order from zero, one float add per product, as SumTo's column sums
// added the runs of the product. So both give the composed default's bits.
// Legend: x, dx [N, T, H, D]; u, du [H, D]; y, dy [N, H, T].
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void HeadDotForward(Storage x, Storage u, Storage y, int n, int t, int h, int d)
    {
        if (d <= 1)
        {
            base.HeadDotForward(x, u, y, n, t, h, d); // SumTo of a one-wide axis copies: -0 stays -0
            return;
        }
        float[] xv = F(x), uv = F(u), yv = F(y);
        int rows = n * t * h;
        ForChunks(rows, (long)rows * d, (s, e) =>
        {
            for (int r = s; r < e; r++) // r = (i·T + j)·H + k: image i, token j, head k
            {
                int k = r % h, ij = r / h, i = ij / t, j = ij % t;
                double acc = 0;
                if (d < 32)
                    for (int c = 0; c < d; c++) acc += xv[r * d + c] * uv[k * d + c]; // SumTo's short rows: in order, in double
                else acc += FixedSum.Dot(new ReadOnlySpan<float>(xv, r * d, d), new ReadOnlySpan<float>(uv, k * d, d));
                yv[((long)i * h + k) * t + j] = (float)acc;
            }
        });
    }

    /// <inheritdoc/>
    public override void HeadDotBackward(Storage x, Storage u, Storage dy, Storage? dx, Storage? du, int n, int t, int h, int d)
    {
        if (dx is null && du is null) return;
        if (d <= 1)
        {
            base.HeadDotBackward(x, u, dy, dx, du, n, t, h, d); // SumTo collapses a one-wide axis: another order
            return;
        }
        float[] xv = F(x), uv = F(u), gv = F(dy);
        float[]? dxv = dx is null ? null : F(dx), duv = du is null ? null : F(du);
        // tasks: (head, 32-column block), so du's sums over (n, t) stay whole and in order within a task
        int blocks = (d + 31) / 32, tasks = h * blocks;
        void Task(int task) => HeadDotBackwardColumns(xv, uv, gv, dxv, duv, n, t, h, d, task / blocks, task % blocks * 32, Math.Min(d, task % blocks * 32 + 32));
        if (Threads <= 1 || (long)n * t * h * d < ParallelElements || tasks == 1)
            for (int task = 0; task < tasks; task++) Task(task);
        else
            ParallelFor(tasks, Threads, Task);
    }

    /// <summary>Head k, columns [c0, c1): dx = dy·u, and du's sums over (n, t) in order from zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HeadDotBackwardColumns(float[] x, float[] u, float[] dy, float[]? dx, float[]? du, int n, int t, int h, int d, int k,
        int c0, int c1)
    {
        float* acc = stackalloc float[32]; // du[k, c0..c1), summed from zero
        new Span<float>(acc, 32).Clear();
        int w = c1 - c0;
        fixed (float* px = x, pu = u, pg = dy, pdx = dx)
        {
            float* uk = pu + (long)k * d + c0;
            for (int i = 0; i < n; i++)
            {
                float* gi = pg + ((long)i * h + k) * t;
                for (int j = 0; j < t; j++)
                {
                    float g = gi[j];
                    long row = (((long)i * t + j) * h + k) * d + c0;
                    float* xr = px + row;
                    var vg = Vector256.Create(g);
                    int c = 0;
                    if (du is not null)
                    {
                        for (; c + 8 <= w; c += 8) (Vector256.Load(acc + c) + vg * Vector256.Load(xr + c)).Store(acc + c);
                        for (; c < w; c++) acc[c] += g * xr[c];
                    }
                    if (pdx == null) continue;
                    float* dr = pdx + row;
                    for (c = 0; c + 8 <= w; c += 8) (vg * Vector256.Load(uk + c)).Store(dr + c);
                    for (; c < w; c++) dr[c] = g * uk[c];
                }
            }
        }
        if (du is not null) new Span<float>(acc, w).CopyTo(du.AsSpan(k * d + c0, w));
    }
}
