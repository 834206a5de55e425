using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace SerEngine.Backends.Cpu;

// The fast backend's own worker threads. A Parallel.For's cost per call (task objects, queueing,
// and waking pool threads that went to sleep) is as much as the work of a batch-1 primitive
// (focus_calibration_net.infer.b1.26x63 runs a dozen short parallel ones). These workers are started once, take the items of a call from a shared counter together
// with the calling thread, and after a call keep spinning for a short while (SpinMicroseconds)
// so that the next call finds them awake; then they block until woken.
// One call at a time: a second thread calling while a call runs (tests run in parallel), or a
// call made from inside a body, does not wait for the pool (Parallel.For, or inline when nested).
internal static class CpuWorkerPool
{
    /// <summary>How long an idle worker keeps polling for the next call before it blocks.</summary>
    private const int SpinMicroseconds = 300;

    [ThreadStatic] private static bool _inside;

    private static readonly Lock Gate = new();
    private static readonly List<Thread> Workers = [];
    private static readonly SemaphoreSlim Wake = new(0);
    private static Job? _current;
    private static int _sleepers;

    /// <summary>
    /// Runs body(i) for i in [0, count) on the calling thread and up to <paramref name="threads"/> − 1
    /// workers; returns when every call has returned, rethrowing the first exception.
    /// </summary>
    public static void For(int count, int threads, Action<int> body)
    {
        if (count <= 0) return;
        if (threads <= 1 || count == 1 || _inside)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        threads = Math.Min(threads, count);
        if (!Gate.TryEnter())
        {
            // another thread holds the workers: share the items among thread-pool threads instead, with
            // the same contract (every item runs, the first exception is rethrown as itself)
            var job = new Job(body, count, threads);
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => job.Work());
            job.Error?.Throw();
            return;
        }
        try
        {
            Run(count, threads, body);
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static void Run(int count, int threads, Action<int> body)
    {
        while (Workers.Count < threads - 1)
        {
            var t = new Thread(WorkerLoop) { IsBackground = true, Name = $"SerEngine cpu worker {Workers.Count + 1}" };
            Workers.Add(t);
            t.Start();
        }
        var job = new Job(body, count, threads - 1);
        Interlocked.Exchange(ref _current, job); // a full fence: the read of _sleepers below sees every sleeper that missed the job
        int sleepers = Volatile.Read(ref _sleepers);
        if (sleepers > 0) Wake.Release(Math.Min(sleepers, threads - 1));
        _inside = true;
        try
        {
            job.Work();
        }
        finally
        {
            _inside = false;
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref job.Remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
        job.Error?.Throw();
    }

    private static void WorkerLoop()
    {
        _inside = true;
        Job? last = null;
        while (true)
        {
            var job = Volatile.Read(ref _current);
            if (job == last)
            {
                long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
                while ((job = Volatile.Read(ref _current)) == last && Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
                if (job == last)
                {
                    Interlocked.Increment(ref _sleepers);
                    if (Volatile.Read(ref _current) == last) Wake.Wait();
                    Interlocked.Decrement(ref _sleepers);
                    continue;
                }
            }
            last = job;
            if (job is not null && Interlocked.Decrement(ref job.Seats) >= 0) job.Work();
        }
    }

    /// <summary>One call: its items, taken from a counter by whichever thread comes first.</summary>
    private sealed class Job(Action<int> body, int count, int seats)
    {
        /// <summary>Items not yet finished.</summary>
        public int Remaining = count;

        /// <summary>Workers that may still join (the call's thread limit).</summary>
        public int Seats = seats;

        private readonly int _count = count;
        private int _next;

        public ExceptionDispatchInfo? Error;

        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count)
            {
                try
                {
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Error, ExceptionDispatchInfo.Capture(e), null);
                }
                Interlocked.Decrement(ref Remaining);
            }
        }
    }
}
