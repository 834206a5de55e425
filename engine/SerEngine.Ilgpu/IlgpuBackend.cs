using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using SerEngine.Backends;

namespace SerEngine.Ilgpu;

/// <summary>
/// The ILGPU backend: every <see cref="Backend"/> primitive as an ILGPU kernel written in C#
/// (<c>Kernels/*Kernels.cs</c>, one file per op like <c>kernels/*.cl</c>), launched by one partial
/// file per op (<c>IlgpuBackend.&lt;Op&gt;.cs</c>). Host code only allocates, copies and launches:
/// there is no host fallback. Kernels are compiled by ILGPU on first use, once per accelerator, and
/// the launch delegates are kept. The ILGPU context and accelerator are disposed with the backend.
/// </summary>
public sealed partial class IlgpuBackend : Backend, IDisposable
{
    private readonly Lock _gate = new(); // one launch or copy at a time (the accelerator's default stream is shared)
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private bool _disposed;

    private IlgpuBackend(string name, Context context, Accelerator accelerator)
    {
        Name = name;
        _context = context;
        _accelerator = accelerator;
        // On the CPU accelerator a simulated thread is an OS thread: the 1-D and row kernels take one warp
        // (the tiled GEMM, conv and spectrogram kernels keep their own 128- and 256-thread groups).
        int limit = (int)Math.Min(accelerator.MaxNumThreadsPerGroup, accelerator.AcceleratorType == AcceleratorType.CPU ? CpuGroup : MaxGroup);
        GroupSize = 1 << (31 - int.LeadingZeroCount(limit));
        _pool = new Backends.Gpu.GpuBufferPool(AllocateRaw, FreeRaw, Backends.Gpu.GpuBufferPool.CapacityFromEnvironment());
    }

    /// <summary>
    /// Opens the best ILGPU accelerator present, as the <c>ilgpu</c> backend: the first CUDA device,
    /// else the first OpenCL device ILGPU accepts, else ILGPU's CPU accelerator.
    /// </summary>
    public static IlgpuBackend CreateBest()
    {
        var context = Context.Create(b => b.Cuda().OpenCL().CPU(SimulatedDevice).EnableAlgorithms().Optimize(OptimizationLevel.O2));
        var skipped = new List<string>();
        foreach (var type in new[] { AcceleratorType.Cuda, AcceleratorType.OpenCL, AcceleratorType.CPU })
        {
            foreach (var device in context.Devices.Where(d => d.AcceleratorType == type))
            {
                try
                {
                    var accelerator = type == AcceleratorType.CPU
                        ? ((CPUDevice)device).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel, ThreadPriority.BelowNormal)
                        : device.CreateAccelerator(context);
                    return new IlgpuBackend("ilgpu", context, accelerator) { Skipped = skipped };
                }
#pragma warning disable CA1031 // a device that cannot start is skipped with its reason; the CPU accelerator always can
                catch (Exception e) when (type != AcceleratorType.CPU)
#pragma warning restore CA1031
                {
                    skipped.Add($"{type} {device.Name}: {e.Message.ReplaceLineEndings(" ")}");
                }
            }
        }
        context.Dispose();
        throw new BackendUnavailableException("no ILGPU device: not even ILGPU's CPU accelerator could start");
    }

    /// <summary>Opens ILGPU's CPU accelerator (threads simulated on the host), as the <c>ilgpu-cpu</c> backend.</summary>
    public static IlgpuBackend CreateCpu()
    {
        var context = Context.Create(b => b.CPU(SimulatedDevice).EnableAlgorithms().Optimize(OptimizationLevel.O2));
        var accelerator = context.GetCPUDevice(0).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel, ThreadPriority.BelowNormal);
        return new IlgpuBackend("ilgpu-cpu", context, accelerator);
    }

    /// <summary>
    /// The simulated device of the CPU accelerator: warps of 32, groups up to 256 threads (the tiled
    /// kernels' 16×8 and 16×16 groups; ILGPU's default CPU device allows only 16), one multiprocessor.
    /// ILGPU runs every simulated thread of a multiprocessor as an OS thread, busy while a kernel runs:
    /// one multiprocessor keeps that to 256 threads (two made 512 runnable threads on a 2-core machine).
    /// </summary>
    private static CPUDevice SimulatedDevice => new(32, 8, 1);

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    public override string DeviceName
    {
        get
        {
            var a = _accelerator;
            string kind = a.AcceleratorType switch
            {
                AcceleratorType.Cuda => "CUDA",
                AcceleratorType.OpenCL => "OpenCL",
                _ => "CPU accelerator, threads simulated on the host",
            };
            string skipped = Skipped.Count == 0 ? "" : $"; skipped {string.Join("; ", Skipped)}";
            return $"{a.Name} (ILGPU {typeof(Context).Assembly.GetName().Version?.ToString(3)}, {kind}, " +
                   $"{a.NumMultiprocessors} multiprocessor{(a.NumMultiprocessors == 1 ? "" : "s")}, groups up to {a.MaxNumThreadsPerGroup}){skipped}";
        }
    }

    /// <summary>Devices <c>ilgpu</c> tried before the one it opened, each with why it could not start.</summary>
    public IReadOnlyList<string> Skipped { get; private init; } = [];

    /// <summary>The accelerator kind: CUDA, OpenCL or CPU.</summary>
    public AcceleratorType AcceleratorType => _accelerator.AcceleratorType;

    /// <summary>Threads of one 1-D group (the reduction kernels' largest group): a power of two ≤ 256.</summary>
    public int GroupSize { get; }

    /// <summary>Largest group of the reduction kernels (the size of their shared arrays).</summary>
    internal const int MaxGroup = 256;

    /// <summary>The 1-D and row kernels' group on the CPU accelerator: one warp.</summary>
    private const int CpuGroup = 32;

    /// <summary>Waits until every launch queued so far has finished.</summary>
    public void Synchronize()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _accelerator.Synchronize();
        }
    }

    /// <summary>Waits for the queue, frees the pooled buffers, the compiled kernels, the accelerator and the context.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _accelerator.Synchronize();
        }
        ReleaseMelTables();
        ReleaseTwiddleTables(); // the pool calls back into FreeRaw: not under the gate (lock order pool → gate)
        _pool.CapacityBytes = 0;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var b in _buffers.Values) b.Dispose();
            _buffers.Clear();
            _accelerator.Dispose();
            _context.Dispose();
        }
    }

    /// <summary>
    /// Runs <paramref name="launch"/> under the backend's lock with the kernel from
    /// <paramref name="slot"/>, loading (compiling) it on first use: one compile per accelerator.
    /// </summary>
    private void Run<TKernel>(ref TKernel? slot, Func<Accelerator, TKernel> load, Action<TKernel> launch) where TKernel : Delegate
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            slot ??= load(_accelerator);
            launch(slot);
        }
    }

    /// <summary>Groups of a 1-D grid-stride launch over <paramref name="n"/> items (the CPU accelerator gets few: each simulated thread costs microseconds).</summary>
    private int Groups1D(long n)
    {
        long groups = (n + GroupSize - 1) / GroupSize;
        long cap = _accelerator.AcceleratorType == AcceleratorType.CPU ? 4L * _accelerator.NumMultiprocessors : 65_535;
        return (int)Math.Clamp(groups, 1, cap);
    }

    /// <summary>A 1-D grid-stride configuration over <paramref name="n"/> items.</summary>
    private KernelConfig Config1D(long n) => new(Groups1D(n), GroupSize);

    /// <summary>The next power of two ≥ <paramref name="length"/>, at least 32, at most <see cref="GroupSize"/>: one group per row.</summary>
    private int RowGroup(int length)
    {
        int want = length <= 32 ? 32 : 1 << (32 - int.LeadingZeroCount(length - 1));
        return Math.Min(want, GroupSize);
    }
}
