namespace SerEngine.Backends.Cpu;

// GEMM with a prepacked A (a weight matrix in inference: Yᵀ [m, n] = W [m, k] · Xᵀ, n = the few tokens
// of a sequence): PackGemmA packs W once into the MR-row micro-panels of the blocked driver, slab by
// slab of KC (the layout of GemmJob.PackShared), so that each product only packs its small B and runs
// the register-blocked micro-kernel. With m = the long side (hundreds of weight rows) and n = 15
// tokens in one 16-wide panel, the tiles waste 6 % instead of the 17 % of six-row tiles over 15 rows,
// and no call reads or packs the weight's raw layout.
public partial class CpuBackend
{
    /// <summary>A packed by <see cref="PackGemmA"/>: slab p (depth p·KC ..) holds [RoundUp(m, MR)][kc] floats from p·KC·RoundUp(m, MR).</summary>
    private sealed class CpuPackedGemmA(Backend backend, Storage source, bool trans, int rows, int depth, float[] panels)
        : PackedGemmA(backend, source, trans, rows, depth)
    {
        /// <summary>The packed micro-panels (pinned; the first 64-byte-aligned address starts them).</summary>
        public float[] Panels { get; } = panels;
    }

    /// <inheritdoc/>
    public override unsafe PackedGemmA PackGemmA(Storage a, bool transA, int m, int k)
    {
        if (m <= 0 || k <= 0) return base.PackGemmA(a, transA, m, k);
        int mPad = RoundUp(m, GemmMR);
        var panels = PagePrefault.Populate(GC.AllocateUninitializedArray<float>(mPad * k + 16, pinned: true)); // packed again after every weight update
        float* dst = (float*)Align64(panels);
        fixed (float* pa = F(a))
        {
            var src = new PlainA(pa, 0, transA, m, k);
            for (int p0 = 0; p0 < k; p0 += GemmKC)
                src.Pack(dst + (long)p0 * mPad, 0, 0, m, p0, Math.Min(GemmKC, k - p0));
        }
        return new CpuPackedGemmA(this, a, transA, m, k, panels);
    }

    /// <inheritdoc/>
    public override void GemmPackedA(PackedGemmA a, bool transB, int batch, int n,
        float alpha, Storage b, int strideB, float beta, Storage c, int strideC, Storage? rowBias = null)
    {
        if (a is not CpuPackedGemmA || !ReferenceEquals(a.Backend, this) || (strideC == 0 && batch > 1))
        {
            base.GemmPackedA(a, transB, batch, n, alpha, b, strideB, beta, c, strideC, rowBias);
            return;
        }
        GemmPackedARows(a, transB, batch, n, alpha, b, strideB, beta, c, strideC, rowBias, default);
    }

    /// <summary>
    /// GemmPackedA on this backend's packed A, then <paramref name="epilogue"/> on every row of C (CpuFast.GemmPackedEpilogue.cs):
    /// on the narrow path inside each task, else after the product.
    /// </summary>
    private unsafe void GemmPackedARows(PackedGemmA a, bool transB, int batch, int n,
        float alpha, Storage b, int strideB, float beta, Storage c, int strideC, Storage? rowBias, RowsEpilogue epilogue)
    {
        var packed = (CpuPackedGemmA)a;
        if (batch <= 0 || n <= 0) return;
        int m = a.Rows, k = a.Depth;
        fixed (float* pb = F(b), pc = F(c), pbias = rowBias is null ? null : F(rowBias))
        {
            var srcB = new PlainB(pb, strideB, transB, k, n);
            if (GemmNarrowApplies(batch, m, n, k, alpha, pbias != null ? 1f : beta))
            {
                // each task puts the bias on its own rows before its products (no serial pass over C while the workers wait)
                GemmNarrow((float*)Align64(packed.Panels), pb, strideB, transB, batch, m, n, k, beta, pc, strideC, pbias, epilogue);
                return;
            }
            // the row bias and the epilogue: in the tasks on their own rows where the plan allows, else around the product (GemmRun)
            var srcA = new PlainA(null, 0, a.Trans, m, k); // never read: every task takes the prepacked panels
            GemmRun(srcA, srcB, batch, m, n, k, alpha, beta, pc, strideC, Threads, prepackedA: (float*)Align64(packed.Panels),
                rowBias: pbias, epilogue: epilogue);
        }
    }
}
