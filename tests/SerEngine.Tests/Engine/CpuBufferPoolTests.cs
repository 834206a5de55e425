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
            Assert.InRange(CpuBufferPool.CapacityFromEnvironment(), 1, 1L << 30);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CpuBufferPool.CapacityEnvironmentVariable, saved);
        }
    }

    private const int Len = 1000; // 4000 bytes per float array

    [Fact]
    public void AFullPoolDropsTheLeastRecentlyUsedLengthsFirst()
    {
        var pool = new CpuBufferPool { CapacityBytes = 3 * 4 * Len + 100 };
        var a = pool.RentFloats(Len);
        var b = pool.RentFloats(Len + 1);
        var c = pool.RentFloats(Len + 2);
        pool.Return(a);
        pool.Return(b);
        pool.Return(c);
        Assert.Equal(4L * (3 * Len + 3), pool.PooledBytes);
        Assert.Same(a, pool.RentFloats(Len));         // a is now the most recently used length
        pool.Return(a);
        var d = pool.RentFloats(Len + 3);             // a fourth length does not fit beside the three
        pool.Return(d);
        Assert.True(pool.PooledBytes <= pool.CapacityBytes, $"{pool.PooledBytes} pooled over {pool.CapacityBytes}");
        Assert.Same(a, pool.RentFloats(Len));         // kept: used recently
        Assert.Same(d, pool.RentFloats(Len + 3));     // kept: just returned
        Assert.NotSame(b, pool.RentFloats(Len + 1));  // dropped: the least recently used
    }

    [Fact]
    public void DroppingHalfTheCapacityAsksForOneCollection()
    {
        var pool = new CpuBufferPool { CapacityBytes = 4 * 4 * Len + 100 };
        Assert.Equal(pool.CapacityBytes / 2, pool.CollectAfterBytes);
        for (int i = 0; i < 4; i++) pool.Return(new float[Len + i]);   // fills the pool (4 lengths)
        Assert.Equal(0, pool.Collections);
        for (int i = 4; i < 6; i++) pool.Return(new float[Len + i]);   // drops 2 lengths: not yet half the capacity
        Assert.Equal(0, pool.Collections);
        pool.Return(new float[Len + 6]);                               // a third drop passes half the capacity
        Assert.Equal(1, pool.Collections);
        Assert.True(pool.PooledBytes <= pool.CapacityBytes);
    }

    [Fact]
    public void ArraysOverTheCapacityOrTooSmallAreNotKept()
    {
        var pool = new CpuBufferPool { CapacityBytes = 4 * Len };
        pool.Return(new float[Len + 1]);
        pool.Return(new float[CpuBufferPool.MinLength - 1]);
        Assert.Equal(0, pool.PooledBytes);
        var ints = new int[Len];
        pool.Return(ints);
        Assert.Equal(4L * Len, pool.PooledBytes);
        Assert.Equal(Len, pool.RentFloats(Len).Length); // a float request never gets the int array
        Assert.Same(ints, pool.RentInts(Len));
        Assert.Equal(0, pool.PooledBytes);
    }
}
