namespace SerEngine.Audio;

/// <summary>
/// How many threads the front end may use for one signal (frames are independent and run in
/// parallel chunks). Defaults to every processor; <see cref="Limit"/> lowers it for a region (the
/// benchmark command runs the front end with the same thread count as the engine).
/// </summary>
public static class FrontEndThreads
{
    private static int _max = Environment.ProcessorCount;

    /// <summary>The current limit (≥ 1).</summary>
    public static int Max => Volatile.Read(ref _max);

    /// <summary>Sets the limit to <paramref name="threads"/> until the returned handle is disposed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">threads is below 1.</exception>
    public static IDisposable Limit(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "the front end needs at least one thread");
        int previous = Interlocked.Exchange(ref _max, threads);
        return new Restore(previous);
    }

    private sealed class Restore(int previous) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Volatile.Write(ref _max, previous);
        }
    }
}
