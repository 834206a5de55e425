using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The CPU backends' array pool under variable-length batches: it keeps what recurs, drops the
/// lengths used least recently when full, never holds more than its capacity, and asks for a
/// collection once enough has been dropped (so dropped arrays do not pile up between GCs).
/// </summary>
[Collection(ProcessWideCollection.Name)] // sets an environment variable
public sealed class CpuBufferPoolTests
{
    [Fact]
    public void TheCapComesFromTheEnvironmentOrIsRefusedInOneLine()
    {
        string? saved = Environment.GetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable, "256");
            Assert.Equal(256L << 20, CpuBufferPool.CapacityFromEnvironment());
            Environment.SetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable, "0");
            Assert.Equal(0, new CpuBufferPool().CapacityBytes);
            Environment.SetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable, "1.5G");
            var e = Assert.Throws<ArgumentException>(() => CpuBufferPool.CapacityFromEnvironment());
            Assert.Equal("SERENGINE_CPU_POOL_MB must be a whole number of MiB ≥ 0 (0 turns the CPU buffer pool off), got '1.5G'", e.Message);
            Environment.SetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable, null);
            Assert.InRange(CpuBufferPool.CapacityFromEnvironment(), 1, CpuBufferPool.DefaultCapacityBytes);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable, saved);
        }
    }

    // lengths of four size classes in [1024, 2048) (a class every 128 elements there)
    private const int L0 = 1024, L1 = 1152, L2 = 1280, L3 = 1408;

    [Fact]
    public void AFullPoolDropsTheLeastRecentlyUsedClassesFirst()
    {
        var pool = new CpuBufferPool { CapacityBytes = 4L * (L0 + L2 + L3) + 100, SlackTest = false };
        var a = pool.RentFloats(L0);
        var b = pool.RentFloats(L1);
        var c = pool.RentFloats(L2);
        pool.Return(a);
        pool.Return(b);
        pool.Return(c);
        Assert.Equal(4L * (L0 + L1 + L2), pool.PooledBytes);
        Assert.Same(a, pool.RentFloats(L0));          // a is now the most recently used class
        pool.Return(a);
        var d = pool.RentFloats(L3);                  // a fourth class does not fit beside the three
        pool.Return(d);
        Assert.True(pool.PooledBytes <= pool.CapacityBytes, $"{pool.PooledBytes} pooled over {pool.CapacityBytes}");
        Assert.Same(a, pool.RentFloats(L0));          // kept: used recently
        Assert.Same(d, pool.RentFloats(L3));          // kept: just returned
        Assert.Same(c, pool.RentFloats(L2));          // kept: dropping b made room
        Assert.NotSame(b, pool.RentFloats(L1));       // dropped: the least recently used
    }

    [Fact]
    public void DroppingHalfTheCapacityAsksForOneCollection()
    {
        int[] lengths = [.. Enumerable.Range(0, 6).Select(i => L0 + 128 * i)];  // six classes, 4096 to 6656 bytes
        var pool = new CpuBufferPool { CapacityBytes = 4L * (L0 + L1 + L2 + L3) + 100, SlackTest = false };
        Assert.Equal(pool.CapacityBytes / 2, pool.CollectAfterBytes);
        for (int i = 0; i < 4; i++) pool.Return(new float[lengths[i]]);   // fills the pool (4 classes)
        Assert.Equal(0, pool.Collections);
        pool.Return(new float[lengths[4]]);                                 // drops 2 classes: not yet half the capacity
        Assert.Equal(0, pool.Collections);
        pool.Return(new float[lengths[5]]);                                 // a third drop passes half the capacity
        Assert.Equal(1, pool.Collections);
        Assert.True(pool.PooledBytes <= pool.CapacityBytes);
    }

    [Fact]
    public void ArraysOverTheCapacityTooSmallOrOfNoClassAreNotKept()
    {
        var pool = new CpuBufferPool { CapacityBytes = 4 * L0, SlackTest = false };
        pool.Return(new float[L1]);                          // over the capacity
        pool.Return(new float[CpuBufferPool.MinLength - 1]); // too small to pool
        pool.Return(new float[L0 - 1]);                      // not a class length: no request gets this
        Assert.Equal(0, pool.PooledBytes);
        var ints = new int[L0];
        pool.Return(ints);
        Assert.Equal(4L * L0, pool.PooledBytes);
        pool.RentFloats(L0);
        Assert.Equal(4L * L0, pool.PooledBytes);            // a float request never gets the int array
        Assert.Same(ints, pool.RentInts(1000));          // another length of its class
        Assert.Equal(0, pool.PooledBytes);
    }

    [Fact]
    public void SizeClassesAreEightPerDoublingAndAtMostAnEighthLonger()
    {
        Assert.Equal(64, CpuBufferPool.ClassLength(64));
        Assert.Equal(72, CpuBufferPool.ClassLength(65));
        Assert.Equal(1024, CpuBufferPool.ClassLength(1000));
        Assert.Equal(1152, CpuBufferPool.ClassLength(1025));
        Assert.Equal(int.MaxValue, CpuBufferPool.ClassLength(int.MaxValue)); // no class above the largest array: exact
        for (int n = 0; n <= CpuBufferPool.MinLength; n++) Assert.Equal(n, CpuBufferPool.ClassLength(n));
        int previous = 0;
        var rng = new Random(5);
        foreach (int n in Enumerable.Range(CpuBufferPool.MinLength, 70_000).Concat(Enumerable.Range(0, 2000).Select(_ => rng.Next(70_000, 1 << 30))).Order())
        {
            int c = CpuBufferPool.ClassLength(n);
            Assert.True(c >= n && c - n <= n / 8, $"class {c} of {n}");
            Assert.Equal(c, CpuBufferPool.ClassLength(c));  // a class is its own class
            Assert.True(c >= previous, $"class {c} of {n} below the class {previous} of a shorter length");
            previous = c;
        }
        // eight classes in every doubling above the smallest
        for (int k = 7; k < 20; k++)
            Assert.Equal(8, Enumerable.Range((1 << k) + 1, 1 << k).Select(CpuBufferPool.ClassLength).Distinct().Count());
    }

    [Fact]
    public void ANewLengthReusesTheArrayOfItsClass()
    {
        var pool = new CpuBufferPool { CapacityBytes = 1 << 20, SlackTest = false };
        var a = pool.RentFloats(1000);
        Assert.Equal(1024, a.Length);
        pool.Return(a);
        var other = pool.RentFloats(1030);              // class 1152: not a's
        Assert.NotSame(a, other);
        Assert.Same(a, pool.RentFloats(1017));          // another length of a's class gets a
        var ints = pool.RentInts(999);
        Assert.Equal(1024, ints.Length);
        pool.Return(ints);
        Assert.Same(ints, pool.RentInts(1024));
        Assert.Equal(50, pool.RentFloats(50).Length);    // small requests are exact
        var off = new CpuBufferPool { CapacityBytes = 0, SlackTest = false };
        Assert.Equal(1000, off.RentFloats(1000).Length); // the pool off: exact lengths, nothing kept
    }

    [Fact]
    public void AnEmptyClassTakesTheShortestFreeArrayUpToTwiceItsLength()
    {
        var pool = new CpuBufferPool { CapacityBytes = 1 << 24, SlackTest = false };
        float[] a1408 = new float[L3], a2048 = new float[2048], a4096 = new float[4096];
        int[] ints = new int[L1];
        foreach (Array a in new Array[] { a4096, a2048, a1408, ints }) pool.Return(a);
        Assert.Same(a1408, pool.RentFloats(1000));     // class 1024 is empty: the shortest free array above it
        Assert.Same(a2048, pool.RentFloats(1000));     // then the next shortest, still within twice 1024
        Assert.NotSame(a4096, pool.RentFloats(1000));  // over twice the class: left for a request it fits better
        Assert.Same(a4096, pool.RentFloats(2100));     // class 2304: 4096 is within twice that
        Assert.Equal(4L * L1, pool.PooledBytes);       // only the int array is left
        Assert.Same(ints, pool.RentInts(L0));          // ints fit the same way, never from the float arrays
        var exact = new float[L2];
        pool.Return(exact);
        pool.Return(new float[2048]);
        Assert.Same(exact, pool.RentFloats(L2));       // its own class first
    }

    [Fact]
    public void TheSlackTestPoisonsTheTailOfEveryRent()
    {
        var pool = new CpuBufferPool { CapacityBytes = 1 << 20, SlackTest = true };
        var a = pool.RentFloats(1000);
        Assert.Equal(1024 + CpuBufferPool.SlackTestElements, a.Length);
        Assert.All(a[1000..], v => Assert.True(float.IsNaN(v)));
        a.AsSpan().Fill(1f);
        pool.Return(a);
        var again = pool.RentFloats(1010);              // the same array, its new tail poisoned again
        Assert.Same(a, again);
        Assert.All(again[1010..], v => Assert.True(float.IsNaN(v)));
        Assert.All(again[..1010], v => Assert.Equal(1f, v));
        var small = pool.RentInts(5);                   // small requests get a tail too
        Assert.Equal(5 + CpuBufferPool.SlackTestElements, small.Length);
        Assert.All(small[5..], v => Assert.Equal(CpuBufferPool.PoisonInt, v));
        Assert.Equal(CpuBufferPool.SlackTestElements, pool.RentFloats(0).Length);
    }

    [Fact]
    public void TheSlackTestComesFromTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(CpuBufferPool.SlackTestEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(CpuBufferPool.SlackTestEnvironmentVariable, "1");
            Assert.True(new CpuBufferPool().SlackTest);
            Environment.SetEnvironmentVariable(CpuBufferPool.SlackTestEnvironmentVariable, null);
            Assert.False(new CpuBufferPool().SlackTest);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CpuBufferPool.SlackTestEnvironmentVariable, saved);
        }
    }
}
