using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>The fast backend's worker threads: every item once, errors rethrown, nested and concurrent calls, struct bodies and ForChunks' cuts.</summary>
public class CpuWorkerPoolTests
{
    /// <summary>Appends each item to a list (one thread alone).</summary>
    private readonly struct ListBody(List<int> items) : IPoolBody
    {
        public void Run(int item) => items.Add(item);
    }

    /// <summary>Counts each item's runs.</summary>
    private readonly struct HitBody(int[] hits) : IPoolBody
    {
        public void Run(int item) => Interlocked.Increment(ref hits[item]);
    }

    /// <summary>Records each chunk [start, end) it is given.</summary>
    private readonly struct ChunkRecorder(System.Collections.Concurrent.ConcurrentBag<(int, int)> chunks) : IChunkBody
    {
        public void Run(int start, int end) => chunks.Add((start, end));
    }

    /// <summary>Throws at item <paramref name="bad"/>, counts the others.</summary>
    private readonly struct ThrowAt(int bad, int[] done) : IPoolBody
    {
        public void Run(int item)
        {
            if (item == bad) throw new InvalidOperationException($"item {item}");
            Interlocked.Increment(ref done[0]);
        }
    }

    /// <summary>Item i runs a nested call of 10 items, each adding 10·i + j to total[0].</summary>
    private readonly struct Nested(long[] total) : IPoolBody
    {
        public void Run(int item) => CpuWorkerPool.For(10, 2, new AddTo(total, 10 * item));
    }

    private readonly struct AddTo(long[] total, int offset) : IPoolBody
    {
        public void Run(int item) => Interlocked.Add(ref total[0], offset + item);
    }

    [Fact]
    public void AStructBodyRunsEveryItemExactlyOnceOverManyCalls()
    {
        for (int call = 0; call < 2000; call++)
        {
            int count = 1 + call % 37;
            var hits = new int[count];
            CpuWorkerPool.For(count, 1 + call % 4, new HitBody(hits));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void AStructBodysFirstErrorIsRethrownAfterEveryItemFinished()
    {
        for (int call = 0; call < 20; call++)
        {
            var done = new int[1];
            var e = Assert.Throws<InvalidOperationException>(() => CpuWorkerPool.For(64, 2, new ThrowAt(5 + call, done)));
            Assert.Equal($"item {5 + call}", e.Message);
            Assert.Equal(63, done[0]);
        }
        var hits = new int[16];
        CpuWorkerPool.For(16, 2, new HitBody(hits)); // the reused job's error was cleared
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void NestedAndConcurrentStructCallsComplete()
    {
        var total = new long[1];
        Parallel.For(0, 8, caller => CpuWorkerPool.For(10, 2, new Nested(total)));
        Assert.Equal(8L * Enumerable.Range(0, 100).Sum(), total[0]);
    }

    [Theory]
    [InlineData(1, 1 << 20, 2, 4)]
    [InlineData(100, 1000, 2, 4)]          // below ParallelElements: one chunk, inline
    [InlineData(100, 1 << 16, 2, 4)]       // work / (ParallelElements / 2) = 4 chunks
    [InlineData(1000, 1 << 20, 2, 4)]      // 8 chunks
    [InlineData(7, 1 << 20, 2, 4)]         // more chunks wanted than items: 7
    [InlineData(1001, 1 << 20, 3, 1)]      // one chunk per thread, uneven
    [InlineData(1 << 20, 1 << 20, 1, 4)]   // one thread: inline
    public void ForChunksCutsAsItsRuleSaysWithEitherBody(int count, long work, int threads, int chunksPerThread)
    {
        var cpu = new CpuBackend(threads);
        int chunks = count <= 1 || threads <= 1 || work < CpuBackend.ParallelElements ? 1
            : (int)Math.Min(count, Math.Min((long)chunksPerThread * threads, work / (CpuBackend.ParallelElements / 2)));
        Assert.Equal(chunks, cpu.ChunkCount(count, work, chunksPerThread));
        var expected = Enumerable.Range(0, chunks).Select(i => ((int)((long)count * i / chunks), (int)((long)count * (i + 1) / chunks)))
            .Where(c => c.Item1 < c.Item2).Order().ToList();
        var fromStruct = new System.Collections.Concurrent.ConcurrentBag<(int, int)>();
        cpu.ForChunks(count, work, new ChunkRecorder(fromStruct), chunksPerThread);
        Assert.Equal(expected, fromStruct.Order().ToList());
        var fromAction = new System.Collections.Concurrent.ConcurrentBag<(int, int)>();
        cpu.ForChunks(count, work, (s, e) => fromAction.Add((s, e)), chunksPerThread);
        Assert.Equal(expected, fromAction.Order().ToList());
    }

    [Fact]
    public void EveryItemRunsExactlyOnceOverManyCalls()
    {
        for (int call = 0; call < 2000; call++)
        {
            int count = 1 + call % 37;
            var hits = new int[count];
            CpuWorkerPool.For(count, 1 + call % 4, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Theory]
    [InlineData(10, 3, 0)]
    [InlineData(10, 3, 2)]
    [InlineData(2, 2, 1)]
    [InlineData(7, 4, 3)]
    [InlineData(3, 5, 4)]
    public void OneThreadAloneRunsEveryPartStartingWithItsOwn(int count, int parts, int home)
    {
        var order = new List<int>();
        var job = new CpuWorkerPool.Job<ListBody>(new ListBody(order), count, parts, parts - 1);
        job.Work(home);
        Assert.Equal(0, job.Remaining);
        int first = (int)((long)count * home / parts);
        // its own part first, in order, then the parts after it (wrapping), each in order: every item once
        var expected = Enumerable.Range(first, count - first).Concat(Enumerable.Range(0, first)).ToList();
        Assert.Equal(expected, order);
        job.Work((home + 1) % parts); // a late thread finds nothing left
        Assert.Equal(count, order.Count);
        Assert.Equal(0, job.Remaining);
    }

    [Theory]
    [InlineData(10, 3, 7, 2)]
    [InlineData(5, 2, 40, 4)]
    [InlineData(40, 4, 1, 2)]
    public void AResetJobRunsItsNewCallsItemsOnce(int count, int parts, int count2, int parts2)
    {
        var first = new List<int>();
        var job = new CpuWorkerPool.Job<ListBody>(new ListBody(first), count, parts, parts - 1);
        job.Work(0);
        job.Finish();
        var second = new List<int>();
        job.Reset(new ListBody(second), count2, parts2, parts2 - 1);
        Assert.Equal(count2, job.Remaining);
        Assert.Equal(parts2 - 1, job.Seats);
        Assert.Null(job.Error);
        job.Work(parts2 - 1);
        Assert.Equal(0, job.Remaining);
        Assert.Equal(Enumerable.Range(0, count2), second.Order());
        Assert.Equal(count, first.Count); // the first call's body saw nothing of the second
    }

    [Fact]
    public void ACallAfterAFailedOneRunsCleanly()
    {
        Assert.Throws<InvalidOperationException>(() => CpuWorkerPool.For(16, 2, i => { if (i == 3) throw new InvalidOperationException("item 3"); }));
        for (int call = 0; call < 50; call++)
        {
            var hits = new int[16];
            CpuWorkerPool.For(16, 2, i => Interlocked.Increment(ref hits[i])); // the reused job's error was cleared
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void TheFirstErrorIsRethrownAfterEveryItemFinished() => AssertFirstErrorRethrownAfterEveryItem();

    /// <summary>64 items, item 5 throws: that exception comes out as itself, after the other 63 ran.</summary>
    private static void AssertFirstErrorRethrownAfterEveryItem()
    {
        int done = 0;
        var e = Assert.Throws<InvalidOperationException>(() => CpuWorkerPool.For(64, 2, i =>
        {
            if (i == 5) throw new InvalidOperationException("item 5");
            Interlocked.Increment(ref done);
        }));
        Assert.Equal("item 5", e.Message);
        Assert.Equal(63, done);
    }

    [Fact]
    public void ACallWhileAnotherThreadHoldsTheWorkersKeepsTheSameErrorContract()
    {
        using var started = new CountdownEvent(2);
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() => CpuWorkerPool.For(2, 2, _ => { started.Signal(); release.Wait(); }));
        holder.Start();
        try
        {
            Assert.True(started.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken), "the holding call did not start");
            AssertFirstErrorRethrownAfterEveryItem();
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }

    [Fact]
    public void NestedAndConcurrentCallsComplete()
    {
        long total = 0;
        Parallel.For(0, 8, caller =>
            CpuWorkerPool.For(10, 2, i =>
                CpuWorkerPool.For(10, 2, j => Interlocked.Add(ref total, i * 10 + j))));
        Assert.Equal(8L * Enumerable.Range(0, 100).Sum(), total);
    }
}
