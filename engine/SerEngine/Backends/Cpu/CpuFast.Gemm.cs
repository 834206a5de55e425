using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// Fast GEMM: C[m, n] = alpha · A[m, k] · B[k, n] + beta · C, the GotoBLAS/BLIS scheme.
//   for each task (batch item × column block × row block × k split), on its own thread:
//     for pc over k in steps of KC:   pack B[pc.., j0..] into NR-column micro-panels ([kc][NR], ~L2/L3)
//       for ic over rows in steps of MC: pack A[ic.., pc..] into MR-row micro-panels ([kc][MR], ~L2)
//         for every MR×NR tile: the register-blocked micro-kernel (CpuFast.GemmKernel.cs)
// Packing reads the operands through a source (IGemmPackA / IGemmPackB, CpuFast.GemmOperands.cs), so the same driver
// multiplies plain matrices (either transposed), and the implicit im2col matrices of conv2d
// without ever forming them (Conv2d/Conv2dImplicitGemm.cs). Packing zero-pads the edges, so the micro-kernel
// always runs full tiles and only the store is clipped.
// Threads: tasks are independent (each packs what it needs), planned so that there are a few per
// thread; a split along k sums its partial products at the end. An A, or a small B, that several tasks
// would each pack again is packed once up front by all threads together and shared (PackShared).
// With a vector kernel, one item's A that lies in memory and fits in L2 (or a large untransposed one) is not packed: the kernel reads it
// in place (GemmReadsAInPlace, CpuFast.GemmRows.cs; the 256-bit form CpuFast.GemmRows256.cs).

public partial class CpuBackend
{
    /// <summary>Depth of a packed block (the k step): a micro-panel of B, KC·NR floats, stays in L1.</summary>
    internal const int GemmKC = 256;

    /// <summary>Rows of a packed A block (MC·KC floats, kept in L2); a multiple of MR.</summary>
    internal const int GemmMC = 96;

    /// <summary>Largest column block of a task (a packed B block of KC·NC floats); a multiple of every NR.</summary>
    internal const int GemmNC = 2048;

    /// <summary>An A of at least this many floats (an L2 cache's worth) is planned with fewer column blocks per thread.</summary>
    internal const long GemmWideA = 1L << 18;

    /// <summary>Below this many multiply-adds a GEMM runs on the calling thread only.</summary>
    internal const long GemmParallelMacs = 1L << 17;

    /// <summary>The micro-kernel this instance uses (tests pin one to check each against the reference).</summary>
    internal GemmKernelKind GemmKernel { get; init; } = BestGemmKernel;

    /// <summary>Worker threads for GEMM and conv2d (defaults to the processor count).</summary>
    internal int Threads { get; init; } = Environment.ProcessorCount;

    [ThreadStatic] private static float[]? _packA;
    [ThreadStatic] private static float[]? _packB;

    /// <summary>This thread's pinned packing buffers (allocated once per thread), aligned to 64 bytes.</summary>
    private static unsafe (IntPtr A, IntPtr B) PackBuffers()
    {
        _packA ??= GC.AllocateUninitializedArray<float>(GemmMC * GemmKC + 16, pinned: true);
        _packB ??= GC.AllocateUninitializedArray<float>(GemmKC * GemmNC + 16, pinned: true);
        return (Align64(_packA), Align64(_packB));
    }

    /// <summary>The first 64-byte-aligned address inside a pinned array (so no vector load of a panel splits a cache line).</summary>
    internal static unsafe IntPtr Align64(float[] pinned)
    {
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (p + 63) & ~(nint)63;
    }

    /// <inheritdoc/>
    public override unsafe void Gemm(bool transA, bool transB, int batch, int m, int n, int k,
        float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC)
    {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        fixed (float* pa = F(a), pb = F(b), pc = F(c))
        {
            if (GemmUsesDots(transA, transB, m, k) && (strideC != 0 || batch == 1))
            {
                GemmDots(batch, m, n, k, alpha, pa, strideA, pb, strideB, beta, pc, strideC);
                return;
            }
            if (GemmUsesTiny(transB, batch, m, n, k))
            {
                GemmTiny(transA, batch, m, n, k, alpha, pa, strideA, pb, strideB, beta, pc, strideC);
                return;
            }
            var srcA = new PlainA(pa, strideA, transA, m, k);
            var srcB = new PlainB(pb, strideB, transB, k, n);
            if (strideC == 0 && batch > 1)
            {
                // every item writes the same C: run them one after another, as the reference does
                for (int i = 0; i < batch; i++)
                    GemmRun(new ShiftA(srcA, i), new ShiftB(srcB, i), 1, m, n, k, alpha, beta, pc, 0, Threads);
                return;
            }
            GemmRun(srcA, srcB, batch, m, n, k, alpha, beta, pc, strideC, Threads, aShared: strideA == 0, shareB: true);
        }
    }

    /// <summary>
    /// The driver: C_item [m, n] (row-major, items <paramref name="strideC"/> floats apart) =
    /// alpha · A_item · B_item + beta · C_item for every item, on up to <paramref name="threads"/> threads.
    /// </summary>
    /// <remarks>
    /// <paramref name="prepackedA"/> is A already packed for every task (PackGemmA; every item shares it).
    /// <paramref name="packAInto"/> (with no <paramref name="prepackedA"/>; batch 1 or a shared A) is a buffer of
    /// RoundUp(m, MR)·k floats, 64-byte aligned, that A is packed into up front; later products may pass it as <paramref name="prepackedA"/>.
    /// <paramref name="aShared"/> says every item reads the same A (stride 0). A is then packed once,
    /// up front and in parallel, whenever the tasks would otherwise each pack it again (several items,
    /// several column blocks): a conv2d's weights are packed once per call instead of once per image.
    /// </remarks>
    internal unsafe void GemmRun<TA, TB>(TA a, TB b, int batch, int m, int n, int k,
        float alpha, float beta, float* c, long strideC, int threads, bool aShared = false, float* prepackedA = null, bool shareB = false,
        float* columnBias = null, float* packAInto = null, float* rowBias = null, RowsEpilogue epilogue = default)
        where TA : struct, IGemmPackA where TB : struct, IGemmPackB
    {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        if (k <= 0)
        {
            for (int i = 0; i < batch; i++)
                for (long e = 0; e < (long)m * n; e++)
                {
                    float* ce = c + i * strideC + e;
                    *ce = beta == 0f ? 0f : beta * *ce;
                }
            return;
        }
        var job = GemmJob<TA, TB>.Rent(a, b, GemmKernel, batch, m, n, k, alpha, beta, c, strideC);
        long macs = (long)batch * m * n * k;
        bool parallel = threads > 1 && macs >= GemmParallelMacs;
        job.Plan(parallel ? threads : 1);
        // a bias per column of C (batch 1) is added by each task after its block's last k slab; after partial
        // products of a k split it is added at the end instead
        // a bias per row of C (beta 0) and a step on finished rows run in the tasks on their own rows when each task
        // holds whole rows (one column block, no k split), so no serial pass over C keeps the workers waiting
        bool rowsInTasks = job.KSplits == 1 && job.WholeRows && beta == 0f;
        if (rowBias != null && !rowsInTasks)
        {
            // C = beta·C + bias[i] on every row first (one pass over C), then C += alpha·A·B
            for (int item = 0; item < batch; item++)
                for (int i = 0; i < m; i++)
                {
                    float* row = c + item * strideC + (long)i * n;
                    float bi = rowBias[i];
                    if (beta == 0f) new Span<float>(row, n).Fill(bi);
                    else for (int j = 0; j < n; j++) row[j] = beta * row[j] + bi;
                }
            beta = 1f;
            job.Reset(a, b, GemmKernel, batch, m, n, k, alpha, beta, c, strideC);
            job.Plan(parallel ? threads : 1);
        }
        if (rowsInTasks)
        {
            job.RowBias = rowBias;
            job.Epilogue = epilogue;
        }
        if (columnBias != null && batch == 1 && job.KSplits == 1) job.ColumnBias = columnBias;
        float* aInPlace = a.InPlace(0, out long rowStep, out long depthStep);
        if (GemmReadsAInPlace(GemmKernel, batch, m, k, aInPlace != null, depthStep, prepackedA != null || packAInto != null))
        {
            job.AInPlace = aInPlace; // no packing of A at all (CpuFast.GemmRows.cs)
            (job.ARowStep, job.ADepthStep) = (rowStep, depthStep);
        }
        // A packed here into the caller's buffer, for the caller's later products with the same A (prepackedA)
        bool packHere = prepackedA == null && packAInto != null && (aShared || batch == 1);
        float[]? packedA = null;
        if (prepackedA == null && !packHere && job.AInPlace == null && (aShared || batch == 1) && job.APackings > 1 && (long)RoundUp(m, GemmMR) * k <= GemmPrepackFloats)
            packedA = System.Buffers.ArrayPool<float>.Shared.Rent(RoundUp(m, GemmMR) * k);
        // a small B that four or more row blocks would each pack again is packed once, beside A, and shared by the
        // tasks (with two, the threads' reads of each other's packed halves cost about what the second packing did)
        float[]? packedB = null;
        if (shareB && batch == 1 && job.BPackings >= 4 && (long)RoundUp(n, GemmNR(GemmKernel)) * k <= GemmPrepackBFloats)
            packedB = System.Buffers.ArrayPool<float>.Shared.Rent(RoundUp(n, GemmNR(GemmKernel)) * k + 16);
        fixed (float* ppa = packedA, ppb = packedB)
        {
            job.PackedA = prepackedA != null ? prepackedA : packHere ? packAInto : ppa; // PackGemmA's panels (the layout of PackShared), or packed here
            job.PackedB = ppb == null ? null : (float*)(((nint)ppb + 63) & ~(nint)63);
            if (packedA is not null || packHere || packedB is not null) job.PackShared(parallel ? threads : 1, packedA is not null || packHere);
            if (!parallel)
            {
                for (int t = 0; t < job.Tasks; t++) job.Run(t);
            }
            else
            {
                RunTasks(job, m, n, threads);
            }
        }
        if (packedA is not null) System.Buffers.ArrayPool<float>.Shared.Return(packedA);
        if (packedB is not null) System.Buffers.ArrayPool<float>.Shared.Return(packedB);
        bool biasAdded = job.ColumnBias != null;
        job.Return();
        if (columnBias != null && !biasAdded)
            for (int i = 0; i < batch; i++) AddColumnBias(c + i * strideC, n, m, n, columnBias);
        if (epilogue.Step != RowStep.None && !rowsInTasks)
            for (int item = 0; item < batch; item++) epilogue.Apply(item, c + item * strideC, 0, m, n);
    }

    /// <summary>Most floats of B packed once up front and shared (2 MB, within an L2 of the two threads); larger B operands are packed per task.</summary>
    internal const int GemmPrepackBFloats = 1 << 19;

    /// <summary>Most floats of A packed up front (64 MB); larger A operands are packed per task.</summary>
    internal const int GemmPrepackFloats = 1 << 24;

    private static unsafe void RunTasks<TA, TB>(GemmJob<TA, TB> job, int m, int n, int threads)
        where TA : struct, IGemmPackA where TB : struct, IGemmPackB
    {
        float[]? partial = job.KSplits > 1 ? GC.AllocateUninitializedArray<float>((job.KSplits - 1) * m * n) : null;
        float* c = job.C;
        fixed (float* pp = partial)
        {
            job.Partial = pp;
            ParallelFor(job.Tasks, threads, new GemmTasks<TA, TB>(job));
            if (partial is not null)
            {
                // C += Σ partial products of the later k splits (each already scaled by alpha)
                long mn = (long)m * n;
                for (int s = 1; s < job.KSplits; s++)
                    System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(c, (int)mn),
                        new ReadOnlySpan<float>(pp + (s - 1) * mn, (int)mn), new Span<float>(c, (int)mn));
            }
        }
    }

    /// <summary>A GEMM job's tasks as a worker-pool body (no delegate per call).</summary>
    private readonly struct GemmTasks<TA, TB>(GemmJob<TA, TB> job) : IPoolBody where TA : struct, IGemmPackA where TB : struct, IGemmPackB
    {
        public void Run(int item) => job.Run(item);
    }

    /// <summary>
    /// Column and row blocks for <paramref name="threads"/> threads with <paramref name="panelWidth"/>-column
    /// micro-panels, aiming at <paramref name="perThread"/> tasks per thread, column blocks of at least
    /// <paramref name="minPanels"/> panels. The k split is planned with (16, 4, 4) on every CPU: it sets the float order.
    /// </summary>
    private static (int Cols, int Rows) GemmBlocks(int batch, int m, int n, int threads, int panelWidth, int perThread, int minPanels)
    {
        int want = perThread * threads;
        int cols = CeilDiv(n, GemmNC), rows = 1;
        // more column blocks (each repeats the packing of its A rows unless A is packed once: cheap while blocks are wide)
        int maxCols = Math.Max(1, CeilDiv(n, minPanels * panelWidth));
        if (batch * cols < want) cols = Math.Max(cols, Math.Min(maxCols, CeilDiv(want, batch)));
        // then row blocks (each repeats the packing of its B columns)
        int maxRows = Math.Max(1, CeilDiv(m, 8 * GemmMR));
        if (batch * cols < want) rows = Math.Min(maxRows, CeilDiv(want, batch * cols));
        return (cols, rows);
    }

    /// <summary>
    /// How many parts a product on <paramref name="threads"/> (> 1) threads splits k into before <see cref="GemmJob{TA, TB}.Plan"/>
    /// rounds the parts to whole KC slabs: more than one when the output is too small to share (partial products summed at
    /// the end). The split decides the order in which partial products are added, so it is planned with 16-column panels on
    /// every CPU (the blocks follow this CPU's tile): AVX2 and AVX-512 machines add alike.
    /// </summary>
    private static int GemmKSplitsWanted(int batch, int m, int n, int k, int threads)
    {
        var (cols16, rows16) = GemmBlocks(batch, m, n, threads, GemmNR(GemmKernelKind.Vector256), 4, 4);
        long partialFloats = (long)m * n;
        if (batch == 1 && cols16 * rows16 < 2 * threads && k >= 2 * GemmKC && partialFloats <= (1 << 22))
            return (int)Math.Min(Math.Min(CeilDiv(k, GemmKC), CeilDiv(2 * threads, cols16 * rows16)),
                1 + (1L << 24) / partialFloats); // partial products: at most 64 MB
        return 1;
    }

    /// <summary>One GEMM call cut into independent tasks: (item, column block, row block, k split).</summary>
    private sealed unsafe class GemmJob<TA, TB>(TA a, TB b, GemmKernelKind kind, int batch, int m, int n, int k,
        float alpha, float beta, float* c, long strideC)
        where TA : struct, IGemmPackA where TB : struct, IGemmPackB
    {
        private int _colBlocks, _rowBlocks, _colsPerTask, _rowsPerTask, _depthPerSplit;

        // the calling thread's job between its GEMM calls (null while one is in use), so a call allocates no job
        [ThreadStatic] private static GemmJob<TA, TB>? t_spare;

        /// <summary>
        /// A job for one call: the calling thread's spare one, reset to these operands, or a new one. The workers read
        /// it only while the call runs; <see cref="Return"/> gives it back when the call is done.
        /// </summary>
        public static GemmJob<TA, TB> Rent(TA a, TB b, GemmKernelKind kind, int batch, int m, int n, int k,
            float alpha, float beta, float* c, long strideC)
        {
            var job = t_spare;
            if (job is null) return new GemmJob<TA, TB>(a, b, kind, batch, m, n, k, alpha, beta, c, strideC);
            t_spare = null;
            job.Reset(a, b, kind, batch, m, n, k, alpha, beta, c, strideC);
            return job;
        }

        /// <summary>Keeps this job as the calling thread's spare for its next call (it must not be used after).</summary>
        public void Return() => t_spare = this;

        /// <summary>This job as <see cref="Rent"/>'s constructor would make it for these operands: no plan, nothing packed.</summary>
        public void Reset(TA newA, TB newB, GemmKernelKind newKind, int newBatch, int newM, int newN, int newK,
            float newAlpha, float newBeta, float* newC, long newStrideC)
        {
            (a, b, kind, batch, m, n, k) = (newA, newB, newKind, newBatch, newM, newN, newK);
            (alpha, beta, strideC) = (newAlpha, newBeta, newStrideC);
            c = newC;
            _colBlocks = _rowBlocks = _colsPerTask = _rowsPerTask = _depthPerSplit = 0;
            KSplits = 1;
            PackedA = PackedB = AInPlace = ColumnBias = RowBias = Partial = null;
            (ARowStep, ADepthStep, Epilogue) = (0, 0, default);
        }

        public int Tasks => batch * _colBlocks * _rowBlocks * KSplits;

        public int KSplits { get; private set; } = 1;

        /// <summary>The output (item 0).</summary>
        public float* C => c;

        /// <summary>
        /// A packed once for the whole call, or null: slab p (depth p·KC ..) holds every MR-row
        /// micro-panel of A, [RoundUp(m, MR)][kc], starting at p·KC·RoundUp(m, MR).
        /// </summary>
        public float* PackedA { get; set; }

        /// <summary>How many times the planned tasks would pack all of A between them.</summary>
        public long APackings => (long)batch * _colBlocks * CeilDiv(_colsPerTask, GemmNC);

        /// <summary>
        /// B packed once for the whole call, or null: slab p (depth p·KC ..) holds every NR-column micro-panel
        /// of B, [RoundUp(n, NR)][kc], starting at p·KC·RoundUp(n, NR) (item 0 only).
        /// </summary>
        public float* PackedB { get; set; }

        /// <summary>Item 0's A read in place by the tasks (<see cref="GemmReadsAInPlace"/>), or null: A is packed.</summary>
        public float* AInPlace { get; set; }

        /// <summary>A[i, p] = AInPlace[i·ARowStep + p·ADepthStep].</summary>
        public long ARowStep { get; set; }

        /// <inheritdoc cref="ARowStep"/>
        public long ADepthStep { get; set; }

        /// <summary>A bias per column of C added to each block after its last k slab (batch 1, no k split), or null.</summary>
        public float* ColumnBias { get; set; }

        /// <summary>A bias per row of C [m] that each task writes into its block before the first k slab (beta 0, no k split), or null.</summary>
        public float* RowBias { get; set; }

        /// <summary>A step each task runs on its finished rows (<see cref="WholeRows"/>, no k split), or none.</summary>
        public RowsEpilogue Epilogue { get; set; }

        /// <summary>Whether every task holds whole rows of C (one column block).</summary>
        public bool WholeRows => _colBlocks == 1;

        /// <summary>How many times the planned tasks would pack all of B between them (each row block packs its columns).</summary>
        public long BPackings => (long)batch * _rowBlocks;

        /// <summary>
        /// Fills <see cref="PackedA"/> (when <paramref name="packA"/>) and <see cref="PackedB"/> (when set) for
        /// item 0: the (slab, row block) pieces of A and (slab, column group) pieces of B, shared among threads in one pass.
        /// </summary>
        public void PackShared(int threads, bool packA)
        {
            int nr = GemmNR(kind), slabs = CeilDiv(k, GemmKC), mPad = RoundUp(m, GemmMR), nPad = RoundUp(n, nr);
            int rowBlocks = packA ? CeilDiv(m, GemmMC) : 0, colGroups = PackedB == null ? 0 : CeilDiv(n, 4 * nr);
            float* packedA = PackedA, packedB = PackedB;
            var srcA = a;
            var srcB = b;
            void Piece(int t)
            {
                int pieces = rowBlocks + colGroups, p = t / pieces, r = t % pieces;
                int p0 = p * GemmKC, kc = Math.Min(GemmKC, k - p0);
                if (r < rowBlocks)
                {
                    int i0 = r * GemmMC, mc = Math.Min(GemmMC, m - i0);
                    srcA.Pack(packedA + (long)p0 * mPad + (long)i0 * kc, 0, i0, mc, p0, kc);
                }
                else
                {
                    int j0 = (r - rowBlocks) * 4 * nr, nc = Math.Min(4 * nr, n - j0);
                    srcB.Pack(packedB + (long)p0 * nPad + (long)j0 * kc, 0, p0, kc, j0, nc, nr);
                }
            }
            int count = slabs * (rowBlocks + colGroups);
            long floats = (packA ? (long)m * k : 0) + (packedB == null ? 0 : (long)n * k);
            if (threads <= 1 || floats < 1 << 16)
                for (int t = 0; t < count; t++) Piece(t);
            else
                ParallelFor(count, threads, Piece);
        }

        /// <summary>[KSplits − 1][m, n] partial products of the later k splits (batch 1 only).</summary>
        public float* Partial { get; set; }

        /// <summary>Cuts the work into a few tasks per thread, preferring cuts that repeat no packing.</summary>
        public void Plan(int threads)
        {
            int nr = GemmNR(kind);
            _colBlocks = CeilDiv(n, GemmNC);
            _rowBlocks = 1;
            if (threads > 1)
            {
                // a single product (its A packed once and shared, so a column block repeats no packing) gets eight blocks
                // per thread, two panels wide at least, and four when its A outgrows L2 (every column block streams all
                // of A again): small blocks let the other thread take over the work of one the host slows down
                int perThread = batch == 1 ? ((long)m * k >= GemmWideA ? 4 : 8) : 4;
                (_colBlocks, _rowBlocks) = GemmBlocks(batch, m, n, threads, nr, perThread, batch == 1 ? 2 : 4);
                KSplits = GemmKSplitsWanted(batch, m, n, k, threads);
            }
            // blocks get whole micro-panels, spread evenly, the bigger blocks first (PanelRange)
            _colBlocks = Math.Min(_colBlocks, CeilDiv(n, nr));
            _colsPerTask = CeilDiv(CeilDiv(n, nr), _colBlocks) * nr;
            _rowBlocks = Math.Min(_rowBlocks, CeilDiv(m, GemmMR));
            _rowsPerTask = CeilDiv(CeilDiv(m, GemmMR), _rowBlocks) * GemmMR;
            _depthPerSplit = RoundUp(CeilDiv(k, KSplits), GemmKC);
            KSplits = CeilDiv(k, _depthPerSplit);
        }

        /// <summary>
        /// Block b of <paramref name="blocks"/> over <paramref name="panels"/> micro-panels of
        /// <paramref name="width"/>: [start, end) clipped to <paramref name="length"/>. The first
        /// (panels mod blocks) blocks get one panel more, so that threads taking blocks in order end
        /// together (1600 columns in 8 blocks: four of 13 panels of 16, then four of 12; seven of 208
        /// columns and one of 144 left a thread idle 4 % of the time).
        /// </summary>
        private static (int Start, int End) PanelRange(int b, int blocks, int panels, int width, int length)
        {
            int size = panels / blocks, extra = panels % blocks;
            int start = b * size + Math.Min(b, extra), end = start + size + (b < extra ? 1 : 0);
            return (Math.Min(length, start * width), Math.Min(length, end * width));
        }

        public void Run(int task)
        {
            int ks = task % KSplits;
            task /= KSplits;
            int rb = task % _rowBlocks;
            task /= _rowBlocks;
            int cb = task % _colBlocks;
            int item = task / _colBlocks;

            var (j0, j1) = PanelRange(cb, _colBlocks, CeilDiv(n, GemmNR(kind)), GemmNR(kind), n);
            var (i0, i1) = PanelRange(rb, _rowBlocks, CeilDiv(m, GemmMR), GemmMR, m);
            int nc = j1 - j0, mRows = i1 - i0;
            int p0 = ks * _depthPerSplit, pEnd = Math.Min(k, p0 + _depthPerSplit);
            float* cItem = ks == 0 ? c + item * strideC : Partial + (ks - 1) * (long)m * n;
            float betaFirst = ks == 0 ? beta : 0f;
            var (bufA, bufB) = PackBuffers();
            float* pa = (float*)bufA, pb = (float*)bufB;
            for (int jc = j0; jc < j0 + nc; jc += GemmNC)
            {
                int ncBlock = Math.Min(GemmNC, j0 + nc - jc);
                if (AInPlace != null && PackedB == null && RowBias == null
                    && GemmUsesFullDepth(kind, m, k, ADepthStep, alpha, betaFirst, pEnd - p0))
                {
                    // column groups whose B (every slab) stays in L2, each tile over the whole depth (CpuFast.GemmFullDepth.cs)
                    int width = GemmFullDepthCols(pEnd - p0);
                    for (int jg = jc; jg < jc + ncBlock; jg += width)
                    {
                        int cols = Math.Min(width, jc + ncBlock - jg), ncPad = RoundUp(cols, GemmNR(kind));
                        for (int pc = p0; pc < pEnd; pc += GemmKC)
                            b.Pack(pb + (long)(pc - p0) * ncPad, item, pc, Math.Min(GemmKC, pEnd - pc), jg, cols, GemmNR(kind));
                        GemmFullDepthInPlace(mRows, cols, pEnd - p0, AInPlace + i0 * ARowStep + p0, ARowStep, pb, pa,
                            cItem + (long)i0 * n + jg, n, betaFirst == 1f);
                    }
                    if (ColumnBias != null) AddColumnBias(cItem + (long)i0 * n + jc, n, mRows, ncBlock, ColumnBias + jc);
                    continue;
                }
                for (int pc = p0; pc < pEnd; pc += GemmKC)
                {
                    int kc = Math.Min(GemmKC, pEnd - pc);
                    float* bp = pb;
                    if (PackedB != null) bp = PackedB + (long)pc * RoundUp(n, GemmNR(kind)) + (long)jc * kc;
                    else b.Pack(pb, item, pc, kc, jc, ncBlock, GemmNR(kind));
                    float bt = pc == p0 ? betaFirst : 1f;
                    if (RowBias != null && pc == p0) bt = 1f; // the rows start at their bias, written below
                    float* slab = PackedA == null ? null : PackedA + (long)pc * RoundUp(m, GemmMR);
                    for (int ic = i0; ic < i0 + mRows; ic += GemmMC)
                    {
                        int mc = Math.Min(GemmMC, i0 + mRows - ic);
                        float* ap = pa;
                        if (slab != null) ap = slab + (long)ic * kc;
                        else if (AInPlace == null) a.Pack(pa, item, ic, mc, pc, kc);
                        if (RowBias != null && pc == p0)
                            for (int r = 0; r < mc; r++) new Span<float>(cItem + (long)(ic + r) * n + jc, ncBlock).Fill(RowBias[ic + r]);
                        if (AInPlace != null && kind == GemmKernelKind.Vector256)
                            GemmMacroKernelInPlace<InPlace256>(mc, ncBlock, kc, AInPlace + ic * ARowStep + pc * ADepthStep, ARowStep, ADepthStep, pa, bp,
                                cItem + (long)ic * n + jc, n, alpha, bt);
                        else if (AInPlace != null)
                            GemmMacroKernelInPlace<InPlace512>(mc, ncBlock, kc, AInPlace + ic * ARowStep + pc * ADepthStep, ARowStep, ADepthStep, pa, bp,
                                cItem + (long)ic * n + jc, n, alpha, bt);
                        else GemmMacroKernel(kind, mc, ncBlock, kc, ap, bp, cItem + (long)ic * n + jc, n, alpha, bt);
                        if (ColumnBias != null && pc + kc == pEnd) AddColumnBias(cItem + (long)ic * n + jc, n, mc, ncBlock, ColumnBias + jc);
                    }
                }
            }
            if (Epilogue.Step != RowStep.None) Epilogue.Apply(item, cItem, i0, mRows, n); // the task's rows are whole and finished
        }
    }

    /// <summary>An A source seen at a fixed item (used to run the items of a shared C one by one).</summary>
    private readonly unsafe struct ShiftA(PlainA inner, int item) : IGemmPackA
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int _, int i0, int mc, int p0, int kc) => inner.Pack(dst, item, i0, mc, p0, kc);

        public float* InPlace(int _, out long rowStep, out long depthStep) => inner.InPlace(item, out rowStep, out depthStep);
    }

    /// <summary>A B source seen at a fixed item.</summary>
    private readonly unsafe struct ShiftB(PlainB inner, int item) : IGemmPackB
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int _, int p0, int kc, int j0, int nc, int nr) => inner.Pack(dst, item, p0, kc, j0, nc, nr);
    }

    /// <summary>dst[0..count) = src[0..count) for the short runs of packing (inline vector moves, no memmove call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void CopyFloats(float* dst, float* src, int count)
    {
        int t = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; t + 8 <= count; t += 8) Vector256.Store(Vector256.Load(src + t), dst + t);
        for (; t < count; t++) dst[t] = src[t];
    }

    internal static int CeilDiv(int a, int b) => (a + b - 1) / b;

    internal static int RoundUp(int a, int b) => CeilDiv(a, b) * b;
}
