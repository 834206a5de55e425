namespace SerEngine.Backends.Cpu;

// Thread settings of the fast backend and the helpers its primitives share to cut a loop into
// chunks: small work runs inline on the calling thread (even a call to the backend's own workers,
// CpuWorkerPool.cs, costs a microsecond or two, more than a whole small elementwise op), large work
// is cut into a few chunks per thread. Bodies are structs (IPoolBody, IChunkBody) on the paths a batch-1
// inference takes, so a call allocates nothing; the Action overloads serve the others.
public partial class CpuBackend
{
    /// <summary>Below this many elements (or multiply-adds) a memory-bound primitive runs on the calling thread.</summary>
    internal const int ParallelElements = 1 << 15;

    /// <summary>body(i) for i in [0, count), on up to <paramref name="threads"/> threads (the backend's workers).</summary>
    internal static void ParallelFor(int count, int threads, Action<int> body) => CpuWorkerPool.For(count, threads, body);

    /// <summary>body.Run(i) for i in [0, count), on up to <paramref name="threads"/> threads (the backend's workers), allocating nothing.</summary>
    internal static void ParallelFor<TBody>(int count, int threads, in TBody body) where TBody : struct, IPoolBody =>
        CpuWorkerPool.For(count, threads, body);

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

    /// <summary>Chunks per thread that <see cref="ForChunks{TBody}"/> aims at unless told otherwise.</summary>
    internal const int ChunksPerThread = 4;

    /// <summary>
    /// How many chunks <see cref="ForChunks{TBody}"/> cuts [0, <paramref name="count"/>) into: one (inline) when
    /// <paramref name="work"/> (elements touched) is below <see cref="ParallelElements"/> or one thread is configured, else up to
    /// <paramref name="chunksPerThread"/> per thread (more chunks let the workers take them in turn, so a memory-bound op keeps
    /// every thread busy when one of them is slowed), one per <see cref="ParallelElements"/>/2 of work at most.
    /// </summary>
    internal int ChunkCount(int count, long work, int chunksPerThread) =>
        count <= 1 || Threads <= 1 || work < ParallelElements ? 1 : (int)Math.Min(count, Math.Min((long)chunksPerThread * Threads, work / (ParallelElements / 2)));

    /// <summary>
    /// Runs <paramref name="body"/>.Run(start, end) over [0, <paramref name="count"/>) cut into <see cref="ChunkCount"/> chunks
    /// (chunk i is [count·i/chunks, count·(i+1)/chunks)): one chunk runs on the calling thread, more on the workers. Allocates nothing.
    /// </summary>
    internal void ForChunks<TBody>(int count, long work, in TBody body, int chunksPerThread = ChunksPerThread) where TBody : struct, IChunkBody
    {
        if (count <= 0) return;
        int chunks = ChunkCount(count, work, chunksPerThread);
        if (chunks <= 1)
        {
            body.Run(0, count);
            return;
        }
        CpuWorkerPool.For(chunks, Threads, new Chunks<TBody>(body, count, chunks));
    }

    /// <summary>Runs <paramref name="body"/>(start, end) as <see cref="ForChunks{TBody}"/> does (a delegate, for calls off the allocation-free paths).</summary>
    internal void ForChunks(int count, long work, Action<int, int> body, int chunksPerThread = ChunksPerThread) =>
        ForChunks(count, work, new ActionChunks(body), chunksPerThread);

    /// <summary>Item i of a ForChunks call: chunk i of [0, count) cut into <paramref name="chunks"/>.</summary>
    private readonly struct Chunks<TBody>(TBody body, int count, int chunks) : IPoolBody where TBody : struct, IChunkBody
    {
        public void Run(int item)
        {
            int start = (int)((long)count * item / chunks), end = (int)((long)count * (item + 1) / chunks);
            if (start < end) body.Run(start, end);
        }
    }

    /// <summary>A delegate as a chunk body.</summary>
    private readonly struct ActionChunks(Action<int, int> body) : IChunkBody
    {
        public void Run(int start, int end) => body(start, end);
    }
}

/// <summary>The body of a <see cref="CpuBackend.ForChunks{TBody}"/> call: a struct holding what the chunks read (no closure).</summary>
internal interface IChunkBody
{
    /// <summary>Runs the items [<paramref name="start"/>, <paramref name="end"/>) (chunks run concurrently, each once).</summary>
    void Run(int start, int end);
}
