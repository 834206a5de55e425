using SerEngine.Backends.Gpu;
using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

/// <summary>
/// The CUDA backend (<c>cuda</c>): the device's primary context, the legacy default stream, kernels
/// compiled from <c>kernels/*.cl</c> by NVRTC (<see cref="Modules"/>); every op's launch code is
/// <see cref="GpuBackend"/>'s, and memory primitives live in <c>CudaBackend.Memory.cs</c>. It never
/// falls back to the CPU. On a machine without the NVIDIA driver, creating it throws
/// <see cref="BackendUnavailableException"/> ("no CUDA device: ...").
/// </summary>
public sealed unsafe partial class CudaBackend : GpuBackend, IDisposable
{
    /// <summary>Threads per block of the 1-D launches.</summary>
    internal const int BlockSize = 256;

    /// <summary>Environment variable that turns on <see cref="SyncEveryLaunch"/> (<c>1</c>, <c>true</c>, <c>yes</c> or <c>on</c>).</summary>
    public const string SyncEnvironmentVariable = "SERENGINE_CUDA_SYNC";

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
        SyncEveryLaunch = IsOn(Environment.GetEnvironmentVariable(SyncEnvironmentVariable));
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

    /// <summary>
    /// When true (<c>SERENGINE_CUDA_SYNC=1</c>), every launch is waited for, and a fault it makes is
    /// thrown naming the kernel (file:kernel, grid, block) instead of surfacing at a later copy.
    /// </summary>
    public bool SyncEveryLaunch { get; set; }

    /// <summary>True when a setting's <paramref name="value"/> turns a switch on (<c>1</c>, <c>true</c>, <c>yes</c>, <c>on</c>; any case).</summary>
    public static bool IsOn(string? value) => value?.Trim().ToUpperInvariant() is "1" or "TRUE" or "YES" or "ON";

    /// <summary>A launch as error messages name it: <c>file:kernel grid (x, y, z) block (x, y, z)</c>, plus the y/z group base of a slice.</summary>
    public static string DescribeLaunch(string file, string kernel, (uint X, uint Y, uint Z) grid, (uint X, uint Y, uint Z) block, (int Y, int Z) groupBase = default) =>
        $"{file}:{kernel} grid ({grid.X}, {grid.Y}, {grid.Z}) block ({block.X}, {block.Y}, {block.Z})" +
        (groupBase == default ? "" : $" slice from group (0, {groupBase.Y}, {groupBase.Z})");

    /// <inheritdoc/>
    protected override GroupLimits DeviceGroupLimits => GroupLimits.Cuda;

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
    public override bool HasSubgroups => true;

    /// <inheritdoc/>
    public override string SubgroupDescription => "32-lane warps (__shfl_xor_sync)";

    /// <inheritdoc/>
    protected internal override void Launch(string file, string kernel, string options,
        ReadOnlySpan<long> global, ReadOnlySpan<int> local, ReadOnlySpan<KernelArg> args)
    {
        if (local.Length != global.Length || global.Length is < 1 or > 3)
            throw new ArgumentException($"{file}:{kernel}: global size has {global.Length} dims, local size {local.Length}");
        var groups = LaunchGeometry.Groups(global, local);
        if (groups.X == 0) return;
        if (groups.X > GroupLimits.Cuda.X) throw new ArgumentOutOfRangeException(nameof(global), $"{file}:{kernel}: {global[0]} threads need {groups.X} blocks along x (at most {GroupLimits.Cuda.X})");
        var block = ((uint)local[0], local.Length > 1 ? (uint)local[1] : 1u, local.Length > 2 ? (uint)local[2] : 1u);
        var module = Modules.Get(file, options);
        if (LaunchGeometry.Fits(groups, EffectiveGroupLimits))
        {
            Launch(module, kernel, ((uint)groups.X, (uint)groups.Y, (uint)groups.Z), block, args);
            return;
        }
        // y/z beyond 65,535 blocks: one launch per slice, each telling the kernel its first group (GROUP(n) adds it)
        foreach (var s in LaunchGeometry.Slices(groups, EffectiveGroupLimits))
            Launch(module, kernel, ((uint)s.GroupsX, (uint)s.GroupsY, (uint)s.GroupsZ), block, args, ((int)s.BaseY, (int)s.BaseZ));
    }

    /// <summary>Launches one kernel on the default stream with the given grid and block (no dynamic shared memory).</summary>
    internal void Launch(CuModule module, string kernel, (uint X, uint Y, uint Z) grid, (uint X, uint Y, uint Z) block, ReadOnlySpan<KernelArg> args,
        (int Y, int Z) groupBase = default)
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
            module.SetGroupBase(groupBase.Y, groupBase.Z);
            bool profile = ProfileKernels;
            if (profile)
            {
                EnsureEvents();
                CuException.Check(cuEventRecord(_startEvent, 0));
            }
            CountLaunch();
            int err = cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, 0, pointers, null);
            if (err != CUDA_SUCCESS)
                throw new CuException(err, "cuLaunchKernel", DescribeLaunch(module.FileName, kernel, grid, block, groupBase));
            if (profile)
            {
                CuException.Check(cuEventRecord(_endEvent, 0));
                CuException.Check(cuEventSynchronize(_endEvent));
                float ms;
                CuException.Check(cuEventElapsedTime(&ms, _startEvent, _endEvent));
                _lastKernel = new KernelTiming(kernel, ms);
                _profiledLaunches++;
            }
            if (SyncEveryLaunch)
            {
                int fault = cuCtxSynchronize();
                if (fault != CUDA_SUCCESS)
                    throw new CuException(fault, "cuCtxSynchronize", $"{SyncEnvironmentVariable}=1: the fault came from {DescribeLaunch(module.FileName, kernel, grid, block, groupBase)}");
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
