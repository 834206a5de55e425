using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>How an op's speed is reported.</summary>
public enum LabUnit
{
    /// <summary>Billions of floating-point operations per second (compute-bound kernels).</summary>
    Gflops,
    /// <summary>Billions of compulsory bytes per second (memory-bound kernels).</summary>
    Gbs,
}

/// <summary>One op family of the kernel lab (one kernel file): its variants and their cases.</summary>
public abstract class LabOp
{
    /// <summary>Name on the command line (<c>--op gemm</c>).</summary>
    public abstract string Name { get; }

    /// <summary>GFLOP/s or GB/s.</summary>
    public virtual LabUnit Unit => LabUnit.Gbs;

    /// <summary>The variants with their check and timing cases; <paramref name="quick"/> = fewer, smaller cases.</summary>
    public abstract IReadOnlyList<LabVariant> Variants(bool quick);

    /// <summary>A <see cref="LabVariant.Select"/> result: runs <paramref name="restore"/> when disposed.</summary>
    protected static IDisposable Restore(Action restore) => new Restorer(restore);

    /// <summary>Sets a GPU backend's GEMM variant; disposing restores the previous one.</summary>
    protected static IDisposable WithGemmVariant(GpuBackend gpu, string variant)
    {
        string saved = gpu.GemmVariant;
        gpu.GemmVariant = variant;
        return Restore(() => gpu.GemmVariant = saved);
    }

    /// <summary>Picks the quick or the full list.</summary>
    protected static IReadOnlyList<T> Pick<T>(bool quick, IReadOnlyList<T> quickList, IReadOnlyList<T> fullList) => quick ? quickList : fullList;

    private sealed class Restorer(Action restore) : IDisposable
    {
        private Action? _restore = restore;

        public void Dispose()
        {
            _restore?.Invoke();
            _restore = null;
        }
    }
}
