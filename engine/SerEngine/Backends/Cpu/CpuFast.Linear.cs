using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// A linear layer's forward with its bias added by the GEMM tasks: after the last k slab of each block of y the
// task adds b to the block's rows while they are in cache (GemmJob.ColumnBias), instead of a second pass over y.
// Each element is the GEMM's sum, then one float add of b[j], as Gemm followed by a broadcast Binary add gives.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override unsafe void LinearForward(Storage x, Storage w, Storage? bias, Storage y, int m, int outF, int inF)
    {
        if (bias is not null && m > 0 && outF > 0 && GemmUsesDots(false, true, m, inF))
        {
            // the dot products, then + b row by row (the base's Binary add, without its shape objects)
            Gemm(false, true, 1, m, outF, inF, 1f, x, 0, w, 0, 0f, y, 0);
            fixed (float* py = F(y), pb = F(bias)) AddColumnBias(py, outF, m, outF, pb);
            return;
        }
        // the products Gemm sends to its tiny path, and empty ones, keep the two primitives
        if (bias is null || m <= 0 || outF <= 0 || inF <= 0 || GemmUsesTiny(true, 1, m, outF, inF))
        {
            base.LinearForward(x, w, bias, y, m, outF, inF);
            return;
        }
        fixed (float* px = F(x), pw = F(w), py = F(y), pb = F(bias))
            GemmRun(new PlainA(px, 0, false, m, inF), new PlainB(pw, 0, true, inF, outF), 1, m, outF, inF, 1f, 0f, py, 0, Threads,
                aShared: true, shareB: true, columnBias: pb);
    }

    /// <inheritdoc/>
    public override unsafe bool LinearBackwardInputAdd(Storage dy, Storage w, Storage dx, int m, int outF, int inF)
    {
        // one k slab and no k split: each element is the slab's sum added once to dx (beta 1), as Gemm then Binary add;
        // more slabs would add each slab's sum to dx in turn, and the one-row and tiny paths have their own orders
        if (m <= 0 || inF <= 0 || outF <= 0 || outF > GemmKC || GemmUsesDots(false, false, m, outF) || GemmUsesTiny(false, 1, m, inF, outF))
            return false;
        fixed (float* pdy = F(dy), pw = F(w), pdx = F(dx))
            GemmRun(new PlainA(pdy, 0, false, m, outF), new PlainB(pw, 0, false, outF, inF), 1, m, inF, outF, 1f, 1f, pdx, 0, Threads,
                aShared: true, shareB: true);
        return true;
    }

    /// <inheritdoc/>
    public override unsafe void LinearForwardMany(Storage x, IReadOnlyList<Storage> weights, IReadOnlyList<Storage?> biases, IReadOnlyList<Storage> ys, int m, int outF, int inF)
    {
        // x is packed for the GEMM once, by the first layer's product, and the others read those panels (a copy: same bits)
        if (weights.Count < 2 || m <= 0 || outF <= 0 || inF <= 0 || GemmUsesDots(false, true, m, inF) || GemmUsesTiny(true, 1, m, outF, inF)
            || (long)RoundUp(m, GemmMR) * inF > GemmPrepackFloats)
        {
            base.LinearForwardMany(x, weights, biases, ys, m, outF, inF);
            return;
        }
        if (GemmReadsAInPlace(GemmKernel, 1, m, inF, inPlace: true, depthStep: 1, prepacked: false))
        {
            // every product reads x's rows in place: nothing to share
            fixed (float* px = F(x))
                for (int l = 0; l < weights.Count; l++)
                    fixed (float* pw = F(weights[l]), py = F(ys[l]), pb = biases[l] is null ? null : F(biases[l]!))
                        GemmRun(new PlainA(px, 0, false, m, inF), new PlainB(pw, 0, true, inF, outF), 1, m, outF, inF, 1f, 0f, py, 0, Threads,
                            aShared: true, shareB: true, columnBias: pb);
            return;
        }
        var panels = System.Buffers.ArrayPool<float>.Shared.Rent(RoundUp(m, GemmMR) * inF + 16);
        try
        {
            fixed (float* px = F(x), pp = panels)
            {
                float* packed = (float*)(((nint)pp + 63) & ~(nint)63);
                var a = new PlainA(px, 0, false, m, inF);
                for (int l = 0; l < weights.Count; l++)
                    fixed (float* pw = F(weights[l]), py = F(ys[l]), pb = biases[l] is null ? null : F(biases[l]!))
                        GemmRun(a, new PlainB(pw, 0, true, inF, outF), 1, m, outF, inF, 1f, 0f, py, 0, Threads, aShared: true, shareB: true,
                            columnBias: pb, prepackedA: l == 0 ? null : packed, packAInto: l == 0 ? packed : null);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(panels);
        }
    }

    /// <summary>c[r, j] = c[r, j] + bias[j] for <paramref name="rows"/> rows of <paramref name="cols"/> columns, <paramref name="ldc"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void AddColumnBias(float* c, long ldc, int rows, int cols, float* bias)
    {
        for (int r = 0; r < rows; r++, c += ldc)
        {
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= cols; j += 8) (Vector256.Load(c + j) + Vector256.Load(bias + j)).Store(c + j);
            for (; j < cols; j++) c[j] += bias[j];
        }
    }
}
