using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>The fast backend's worker threads: every item once, errors rethrown, nested and concurrent calls.</summary>
public class CpuWorkerPoolTests
{
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
        var job = new CpuWorkerPool.Job(order.Add, count, parts, parts - 1);
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
        var job = new CpuWorkerPool.Job(first.Add, count, parts, parts - 1);
        job.Work(0);
        job.Finish();
        var second = new List<int>();
        job.Reset(second.Add, count2, parts2, parts2 - 1);
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
