using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace SerEngine.Backends.Cpu;

// The fast backend's own worker threads. A Parallel.For's cost per call (task objects, queueing,
// and waking pool threads that went to sleep) is as much as the work of a batch-1 primitive
// (focus_calibration_net.infer.b1.26x63 runs a dozen short parallel ones). These workers are started once, take the items of a call
// together with the calling thread (each from its own contiguous part first, see Job), and after a call keep spinning for a short while (SpinMicroseconds)
// so that the next call finds them awake; then they block until woken.
// One call at a time: a second thread calling while a call runs (tests run in parallel), or a
// call made from inside a body, does not wait for the pool (Parallel.For, or inline when nested).
// A call's body is a struct (IPoolBody) passed by value and run through a generic method, so the JIT specialises the loop for
// it and a call allocates no delegate or closure; it is copied into a Job<TBody> kept per body type (a few of them, TakeJob):
// a call reuses one that no worker holds (Job.Users) and that is not the published one (_current), so a batch-1 forward's
// dozen calls leave no garbage here; workers tell calls apart by the Job's sequence number. As the published job is never
// the one being reset, a worker that checks _current after taking a hold finds either the previous call's job or this one fully reset.
internal static class CpuWorkerPool
{
    /// <summary>How long an idle worker keeps polling for the next call before it blocks.</summary>
    private const int SpinMicroseconds = 300;

    /// <summary>How long the calling thread polls with pause instructions alone for the workers' last items.</summary>
    private const int JoinPollMicroseconds = 50;

    [ThreadStatic] private static bool _inside;

    private static readonly Lock Gate = new();
    private static readonly List<Thread> Workers = [];
    private static readonly SemaphoreSlim Wake = new(0);
    private static Job? _current;
    private static int _sleepers;

    /// <summary>The last call's sequence number (only the gate's holder writes it).</summary>
    private static long _sequence;

    /// <summary>
    /// Runs body.Run(i) for i in [0, count) on the calling thread and up to <paramref name="threads"/> − 1
    /// workers; returns when every call has returned, rethrowing the first exception. Allocates nothing once
    /// this body type has run twice (unless another thread holds the workers: then Parallel.For).
    /// </summary>
    public static void For<TBody>(int count, int threads, in TBody body) where TBody : struct, IPoolBody
    {
        if (count <= 0) return;
        if (threads <= 1 || count == 1 || _inside)
        {
            for (int i = 0; i < count; i++) body.Run(i);
            return;
        }
        threads = Math.Min(threads, count);
        if (!Gate.TryEnter())
        {
            // another thread holds the workers: share the items among thread-pool threads instead, with
            // the same contract (every item runs, the first exception is rethrown as itself)
            var job = new Job<TBody>(body, count, threads, threads);
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, job.Work);
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

    /// <summary>Runs body(i) for i in [0, count) as <see cref="For{TBody}"/> does (a delegate, for calls off the allocation-free paths).</summary>
    public static void For(int count, int threads, Action<int> body) => For(count, threads, new ActionBody(body));

    /// <summary>A delegate as a pool body.</summary>
    private readonly struct ActionBody(Action<int> body) : IPoolBody
    {
        public void Run(int item) => body(item);
    }

    /// <summary>Jobs of body type <typeparamref name="TBody"/> kept for reuse (only the gate's holder touches them).</summary>
    private static class Spares<TBody> where TBody : struct, IPoolBody
    {
        public static readonly Job<TBody>?[] Jobs = new Job<TBody>?[SparesPerType];
    }

    /// <summary>
    /// Jobs kept per body type: a call takes one that is neither published nor held by a worker. Two would do but for a worker
    /// descheduled inside a finished job (a busy host), which made the next call but one allocate a new job.
    /// </summary>
    private const int SparesPerType = 4;

    /// <summary>A kept job of this body type that no worker holds and that is not the published one, reset for this call; else a new one.</summary>
    private static Job<TBody> TakeJob<TBody>(in TBody body, int count, int threads) where TBody : struct, IPoolBody
    {
        var spares = Spares<TBody>.Jobs;
        var current = Volatile.Read(ref _current);
        for (int i = 0; i < spares.Length; i++)
        {
            var job = spares[i];
            if (job is null) return spares[i] = new Job<TBody>(body, count, threads, threads - 1);
            if (!ReferenceEquals(job, current) && Volatile.Read(ref job.Users) == 0)
            {
                job.Reset(body, count, threads, threads - 1);
                return job;
            }
        }
        // every kept job is busy: a new one in place of one of them (a worker holding that one keeps it alive)
        return spares[(int)(_sequence % spares.Length)] = new Job<TBody>(body, count, threads, threads - 1);
    }

    private static void Run<TBody>(int count, int threads, in TBody body) where TBody : struct, IPoolBody
    {
        while (Workers.Count < threads - 1)
        {
            var t = new Thread(WorkerLoop) { IsBackground = true, Name = $"SerEngine cpu worker {Workers.Count + 1}" };
            Workers.Add(t);
            t.Start();
        }
        long sequence = ++_sequence;
        var job = TakeJob(body, count, threads);
        job.Sequence = sequence;
        Interlocked.Exchange(ref _current, job); // a full fence: the read of _sleepers below sees every sleeper that missed the job
        int sleepers = Volatile.Read(ref _sleepers);
        if (sleepers > 0) Wake.Release(Math.Min(sleepers, threads - 1));
        _inside = true;
        try
        {
            job.Work(0);
        }
        finally
        {
            _inside = false;
        }
        WaitForOthers(job);
        var error = job.Error;
        job.Finish();
        error?.Throw();
    }

    /// <summary>
    /// Waits until the workers' items are done: polling with pause instructions for the first JoinPollMicroseconds (the
    /// worker is running on the other core and a sched_yield is a system call on a VM), then yielding between polls.
    /// </summary>
    private static void WaitForOthers(Job job)
    {
        if (Volatile.Read(ref job.Remaining) <= 0) return;
        long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * JoinPollMicroseconds / 1_000_000;
        while (true)
        {
            for (int i = 0; i < 64; i++)
            {
                if (Volatile.Read(ref job.Remaining) <= 0) return;
                Thread.SpinWait(1);
            }
            if (Stopwatch.GetTimestamp() >= until) break;
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref job.Remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    private static void WorkerLoop()
    {
        _inside = true;
        long last = 0; // the sequence number of the last call this worker saw
        while (true)
        {
            if (!IsNew(Volatile.Read(ref _current), last))
            {
                long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
                while (!IsNew(Volatile.Read(ref _current), last) && Stopwatch.GetTimestamp() < until)
                    for (int i = 0; i < 16 && !IsNew(Volatile.Read(ref _current), last); i++) Thread.SpinWait(1); // a new job is seen within a pause or two
                if (!IsNew(Volatile.Read(ref _current), last))
                {
                    Interlocked.Increment(ref _sleepers);
                    if (!IsNew(Volatile.Read(ref _current), last)) Wake.Wait();
                    Interlocked.Decrement(ref _sleepers);
                    continue;
                }
            }
            var job = Volatile.Read(ref _current);
            if (job is null) continue;
            // hold the job, then check that it is still the published call (a reused Job is reset only while no worker holds it)
            Interlocked.Increment(ref job.Users);
            long sequence = Volatile.Read(ref job.Sequence);
            if (ReferenceEquals(Volatile.Read(ref _current), job) && sequence != last)
            {
                last = sequence;
                int seat;
                if ((seat = Interlocked.Decrement(ref job.Seats)) >= 0) job.Work(1 + seat); // seats count down: part 1 first
            }
            Interlocked.Decrement(ref job.Users);
        }
    }

    /// <summary>Whether <paramref name="job"/> is a call other than the one numbered <paramref name="last"/> (a hint; WorkerLoop checks again under a hold).</summary>
    private static bool IsNew(Job? job, long last) => job is not null && Volatile.Read(ref job.Sequence) != last;

    /// <summary>
    /// One call: its items cut into one contiguous part per thread (part 0 the calling thread's); each thread runs its own
    /// part's items in order from that part's counter (a cache line of its own, so taking an item is an uncontended atomic
    /// instead of one whose line moves between the cores at every item), then helps with the other parts' items.
    /// The workers see this base; the body and the loop that calls it are in <see cref="Job{TBody}"/>.
    /// </summary>
    internal abstract class Job
    {
        /// <summary>Ints between two parts' counters (64 bytes each way: no two counters share a cache line).</summary>
        protected const int Pad = 16;

        /// <summary>Items not yet finished (each thread subtracts the items it ran when it runs out of items).</summary>
        public int Remaining;

        /// <summary>Workers that may still join (the call's thread limit).</summary>
        public int Seats;

        /// <summary>Workers inside this job (between taking it from _current and leaving Work): it is reused only at 0.</summary>
        public int Users;

        /// <summary>The call's number (CpuWorkerPool._sequence when it was published).</summary>
        public long Sequence;

        protected int _count, _parts;

        /// <summary>Part p's next item is its first + next[Pad·(p + 1)] (the padding also keeps them off the array header's line).</summary>
        protected int[] _next;

        public ExceptionDispatchInfo? Error;

        protected Job(int count, int parts, int seats)
        {
            _count = count;
            _parts = parts;
            _next = new int[Pad * (parts + 2)];
            Remaining = count;
            Seats = seats;
        }

        /// <summary>Makes this finished job a new call's counters (the caller holds the gate and no worker holds the job).</summary>
        protected void ResetCounters(int count, int parts, int seats)
        {
            if (_next.Length < Pad * (parts + 2)) _next = new int[Pad * (parts + 2)];
            else Array.Clear(_next);
            _count = count;
            _parts = parts;
            Error = null;
            Remaining = count;
            Seats = seats;
        }

        /// <summary>Drops the body (and what it references) once every item has run.</summary>
        public abstract void Finish();

        /// <summary>Runs items of part <paramref name="home"/> first, then of the parts after it (wrapping), until none is left.</summary>
        public abstract void Work(int home);
    }

    /// <summary>A <see cref="Job"/> whose items run <typeparamref name="TBody"/>.Run (a copy of the call's body).</summary>
    internal sealed class Job<TBody> : Job where TBody : struct, IPoolBody
    {
        private TBody _body;

        public Job(in TBody body, int count, int parts, int seats) : base(count, parts, seats) => _body = body;

        /// <summary>Makes this finished job a new call's (the caller holds the gate and no worker holds the job).</summary>
        public void Reset(in TBody body, int count, int parts, int seats)
        {
            ResetCounters(count, parts, seats);
            _body = body;
        }

        /// <inheritdoc/>
        public override void Finish() => _body = default;

        /// <inheritdoc/>
        public override void Work(int home)
        {
            int done = 0;
            for (int q = 0; q < _parts; q++)
            {
                int part = (home + q) % _parts;
                int first = (int)((long)_count * part / _parts), end = (int)((long)_count * (part + 1) / _parts);
                int i;
                while ((i = first + Interlocked.Increment(ref _next[Pad * (part + 1)]) - 1) < end)
                {
                    try
                    {
                        _body.Run(i);
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref Error, ExceptionDispatchInfo.Capture(e), null);
                    }
                    done++;
                }
            }
            if (done > 0) Interlocked.Add(ref Remaining, -done);
        }
    }
}

/// <summary>
/// The body of a worker-pool call (<see cref="CpuWorkerPool.For{TBody}"/>): a struct holding what the items read, so a call
/// allocates no closure; Run(i) runs item i (items run concurrently on several threads, each once).
/// </summary>
internal interface IPoolBody
{
    /// <summary>Runs item <paramref name="item"/>.</summary>
    void Run(int item);
}
