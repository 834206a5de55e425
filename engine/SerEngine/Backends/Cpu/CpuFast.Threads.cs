namespace SerEngine.Backends.Cpu;

// Thread settings of the fast backend and the helpers its primitives share to cut a loop into
// chunks: small work runs inline on the calling thread (even a call to the backend's own workers,
// CpuWorkerPool.cs, costs a microsecond or two, more than a whole small elementwise op), large work
// is cut into a few chunks per thread.
public partial class CpuBackend
{
    /// <summary>Below this many elements (or multiply-adds) a memory-bound primitive runs on the calling thread.</summary>
    internal const int ParallelElements = 1 << 15;

    /// <summary>body(i) for i in [0, count), on up to <paramref name="threads"/> threads (the backend's workers).</summary>
    internal static void ParallelFor(int count, int threads, Action<int> body) => CpuWorkerPool.For(count, threads, body);

    /// <summary>A fast CPU backend using every processor.</summary>
    public CpuBackend()
    {
    }

    /// <summary>A fast CPU backend that uses at most <paramref name="threads"/> worker threads.</summary>
    /// <exception cref="ArgumentOutOfRangeException">threads is below 1.</exception>
    public CpuBackend(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "a CPU backend needs at least one thread");
        Threads = threads;
    }

    /// <summary>Worker threads this backend's primitives use at most.</summary>
    public int ThreadCount => Threads;

    /// <summary>
    /// Whether <see cref="ForChunks"/> runs [0, <paramref name="count"/>) as one chunk on the calling thread (so a primitive can
    /// call its body directly, with no delegate or closure to allocate, and cut nothing differently).
    /// </summary>
    internal bool RunsInline(int count, long work) => count <= 1 || Threads <= 1 || work < ParallelElements;

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>) cut into chunks: inline
    /// when <paramref name="work"/> (elements touched) is below <see cref="ParallelElements"/> or one
    /// thread is configured, else up to <paramref name="chunksPerThread"/> chunks per thread (more chunks let the
    /// workers take them in turn, so a memory-bound op keeps every thread busy when one of them is slowed).
    /// </summary>
    internal void ForChunks(int count, long work, Action<int, int> body, int chunksPerThread = 4)
    {
        if (count <= 0) return;
        int chunks = RunsInline(count, work) ? 1 : (int)Math.Min(count, Math.Min((long)chunksPerThread * Threads, work / (ParallelElements / 2)));
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        ForChunksOnWorkers(count, chunks, body);
    }

    /// <summary>ForChunks' parallel case (its own method, so the inline case allocates no closure of it).</summary>
    private void ForChunksOnWorkers(int count, int chunks, Action<int, int> body) =>
        CpuWorkerPool.For(chunks, Threads, i =>
        {
            int start = (int)((long)count * i / chunks), end = (int)((long)count * (i + 1) / chunks);
            if (start < end) body(start, end);
        });
}
