using SerEngine.Backends.Gpu;
using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

/// <summary>
/// The CUDA backend (<c>cuda</c>): the device's primary context, the legacy default stream, kernels
/// compiled from <c>kernels/*.cl</c> by NVRTC (<see cref="Modules"/>). Memory primitives live in
/// <c>CudaBackend.Memory.cs</c>; primitives without a kernel yet throw (see
/// <c>CudaBackend.Pending.cs</c>) — this backend never falls back to the CPU. On a machine without
/// the NVIDIA driver, creating it throws <see cref="BackendUnavailableException"/> ("no CUDA device: ...").
/// </summary>
public sealed unsafe partial class CudaBackend : GpuBackend, IDisposable
{
    /// <summary>Threads per block of the 1-D launches.</summary>
    internal const int BlockSize = 256;

    [ThreadStatic] private static nint t_currentContext;

    private readonly Lock _launchGate = new();
    private nint _context;
    private nint _startEvent, _endEvent;
    private KernelTiming? _lastKernel;
    private long _profiledLaunches;

    /// <summary>
    /// Opens the device named by <paramref name="deviceSelector"/> (ordinal or name substring;
    /// default <c>$SERENGINE_CUDA_DEVICE</c>, else device 0) with the disk cache from the environment.
    /// </summary>
    /// <exception cref="BackendUnavailableException">No driver or no device ("no CUDA device: ...").</exception>
    public CudaBackend(string? deviceSelector = null) : this(deviceSelector, KernelDiskCache.FromEnvironment()) { }

    /// <summary>Opens a device with an explicit kernel disk cache (null disables it) and kernel folder.</summary>
    /// <param name="deviceSelector">Ordinal or name substring; null for the default choice.</param>
    /// <param name="diskCache">Image cache on disk, or null for none.</param>
    /// <param name="kernelDirectory">Folder to load kernel files from (default: <c>$SERENGINE_KERNEL_DIR</c>, then the embedded copies).</param>
    /// <exception cref="BackendUnavailableException">No driver or no device ("no CUDA device: ...").</exception>
    public CudaBackend(string? deviceSelector, KernelDiskCache? diskCache, string? kernelDirectory = null)
    {
        Device = CuDevice.Select(deviceSelector);
        nint ctx;
        int err = cuDevicePrimaryCtxRetain(&ctx, Device.Index);
        if (err != CUDA_SUCCESS)
            throw new BackendUnavailableException($"no CUDA device: cuDevicePrimaryCtxRetain failed on '{Device.Name}': {CuException.Name(err)}");
        _context = ctx;
        MakeCurrent();
        Modules = new CuModuleCache(this, diskCache, kernelDirectory);
    }

    /// <inheritdoc/>
    public override string Name => "cuda";

    /// <inheritdoc/>
    public override string DeviceName => $"{Device.Name} ({Device.Arch}, CUDA driver {Device.DriverVersionText})";

    /// <summary>The device this backend runs on.</summary>
    public CuDevice Device { get; }

    /// <summary>The modules compiled for this backend's device.</summary>
    public CuModuleCache Modules { get; }

    /// <summary>
    /// When true, every kernel launch is bracketed by events and waited for, and its device time is
    /// recorded in <see cref="LastKernel"/> (for benchmarks; it serialises the stream).
    /// </summary>
    public bool ProfileKernels { get; set; }

    /// <summary>Name and device time of the last kernel launched while <see cref="ProfileKernels"/> was on.</summary>
    public KernelTiming? LastKernel
    {
        get { lock (_launchGate) return _lastKernel; }
    }

    /// <summary>Kernel launches recorded in <see cref="LastKernel"/> so far: tells a new launch from an equal-looking old one (same kernel, same time).</summary>
    public long ProfiledLaunches
    {
        get { lock (_launchGate) return _profiledLaunches; }
    }

    /// <summary>Makes this backend's context current on the calling thread (cheap when it already is).</summary>
    internal void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_context == 0, this);
        if (t_currentContext == _context) return;
        CuException.Check(cuCtxSetCurrent(_context));
        t_currentContext = _context;
    }

    /// <summary>Waits until all work queued on the device has finished (and surfaces asynchronous kernel errors).</summary>
    public void Synchronize()
    {
        MakeCurrent();
        CuException.Check(cuCtxSynchronize());
    }

    /// <summary>The device pointer behind a storage of this backend (never another backend's: no silent copies).</summary>
    internal ulong Ptr(Storage s)
    {
        if (s is CuStorage cs && ReferenceEquals(s.Backend, this)) return cs.Ptr;
        throw new ArgumentException($"buffer belongs to backend '{s.Backend.Name}' ({s.Backend.DeviceName}), not to cuda ({Device.Name}); move the tensor first");
    }

    /// <inheritdoc/>
    public override int GroupSize => BlockSize;

    /// <inheritdoc/>
    protected internal override void Launch(string file, string kernel, string options,
        ReadOnlySpan<long> global, ReadOnlySpan<int> local, ReadOnlySpan<KernelArg> args)
    {
        if (local.Length != global.Length || global.Length is < 1 or > 3)
            throw new ArgumentException($"{file}:{kernel}: global size has {global.Length} dims, local size {local.Length}");
        Span<uint> grid = [1, 1, 1];
        Span<uint> block = [1, 1, 1];
        for (int i = 0; i < global.Length; i++)
        {
            if (global[i] <= 0) return;
            long blocks = (global[i] + local[i] - 1) / local[i];
            if (blocks > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(global), $"{kernel}: {global[i]} threads need {blocks} blocks");
            grid[i] = (uint)blocks;
            block[i] = (uint)local[i];
        }
        Launch(Modules.Get(file, options), kernel, (grid[0], grid[1], grid[2]), (block[0], block[1], block[2]), args);
    }

    /// <summary>Launches one kernel on the default stream with the given grid and block (no dynamic shared memory).</summary>
    internal void Launch(CuModule module, string kernel, (uint X, uint Y, uint Z) grid, (uint X, uint Y, uint Z) block, ReadOnlySpan<KernelArg> args)
    {
        MakeCurrent();
        nint f = module.Function(kernel);
        ulong* slots = stackalloc ulong[Math.Max(1, args.Length)];
        void** pointers = stackalloc void*[Math.Max(1, args.Length)];
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            switch (a.Kind)
            {
                case KernelArgKind.Buffer: slots[i] = Ptr(a.Buffer!); break;
                case KernelArgKind.Int: *(int*)&slots[i] = a.Int; break;
                default: *(float*)&slots[i] = a.Float; break;
            }
            pointers[i] = &slots[i];
        }
        lock (_launchGate)
        {
            bool profile = ProfileKernels;
            if (profile)
            {
                EnsureEvents();
                CuException.Check(cuEventRecord(_startEvent, 0));
            }
            int err = cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, 0, pointers, null);
            if (err != CUDA_SUCCESS)
                throw new CuException(err, "cuLaunchKernel", $"{module.FileName}:{kernel} grid ({grid.X}, {grid.Y}, {grid.Z}) block ({block.X}, {block.Y}, {block.Z})");
            if (profile)
            {
                CuException.Check(cuEventRecord(_endEvent, 0));
                CuException.Check(cuEventSynchronize(_endEvent));
                float ms;
                CuException.Check(cuEventElapsedTime(&ms, _startEvent, _endEvent));
                _lastKernel = new KernelTiming(kernel, ms);
                _profiledLaunches++;
            }
        }
    }

    private void EnsureEvents()
    {
        if (_startEvent != 0) return;
        nint s, e;
        CuException.Check(cuEventCreate(&s, CU_EVENT_DEFAULT));
        CuException.Check(cuEventCreate(&e, CU_EVENT_DEFAULT));
        _startEvent = s;
        _endEvent = e;
    }

    /// <summary>Unloads the modules and releases the primary context (free buffers first: they die with it).</summary>
    public void Dispose()
    {
        if (_context == 0) return;
        MakeCurrent();
        CuException.Check(cuCtxSynchronize());
        ClosePool(); // parked buffers go back before the context that owns them
        Modules.Dispose();
        if (_startEvent != 0)
        {
            CuException.Check(cuEventDestroy_v2(_startEvent));
            CuException.Check(cuEventDestroy_v2(_endEvent));
        }
        CuException.Check(cuDevicePrimaryCtxRelease_v2(Device.Index));
        _context = 0;
        t_currentContext = 0;
    }
}
