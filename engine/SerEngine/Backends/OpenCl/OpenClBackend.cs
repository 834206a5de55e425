using SerEngine.Backends.Gpu;
using static SerEngine.Backends.OpenCl.ClNative;

namespace SerEngine.Backends.OpenCl;

/// <summary>
/// The OpenCL backend (<c>opencl</c>): one context and one in-order command queue (profiling on) on
/// the device chosen by <see cref="ClDevice.Select"/>. Kernels come from <c>kernels/*.cl</c>, built
/// lazily once per process by <see cref="Programs"/>; every op's launch code is
/// <see cref="GpuBackend"/>'s, and memory primitives live in <c>OpenClBackend.Memory.cs</c>. It
/// never falls back to the CPU.
/// </summary>
public sealed unsafe partial class OpenClBackend : GpuBackend, IDisposable
{
    private readonly Lock _launchGate = new();
    private readonly int _groupSize;
    private nint _context, _queue;
    private KernelTiming? _lastKernel;
    private long _profiledLaunches;

    /// <summary>
    /// Opens the device named by <paramref name="deviceSelector"/> (index or name substring; default
    /// <c>$SERENGINE_OPENCL_DEVICE</c>, else the first GPU, else the first device) with the disk
    /// cache from the environment (<see cref="KernelDiskCache.FromEnvironment"/>).
    /// </summary>
    /// <exception cref="BackendUnavailableException">No OpenCL loader, platform or device ("no OpenCL device: ...").</exception>
    public OpenClBackend(string? deviceSelector = null) : this(deviceSelector, KernelDiskCache.FromEnvironment()) { }

    /// <summary>Opens a device with an explicit kernel disk cache (null disables it) and kernel folder.</summary>
    /// <param name="deviceSelector">Index or name substring; null for the default choice.</param>
    /// <param name="diskCache">Binary cache on disk, or null for none.</param>
    /// <param name="kernelDirectory">Folder to load kernel files from (default: <c>$SERENGINE_KERNEL_DIR</c>, then the embedded copies).</param>
    /// <exception cref="BackendUnavailableException">No OpenCL loader, platform or device ("no OpenCL device: ...").</exception>
    public OpenClBackend(string? deviceSelector, KernelDiskCache? diskCache, string? kernelDirectory = null)
    {
        Device = ClDevice.Select(deviceSelector);
        nint device = Device.DeviceId;
        int err;
        _context = clCreateContext(null, 1, &device, 0, 0, &err);
        if (err != CL_SUCCESS)
            throw new BackendUnavailableException($"no OpenCL device: clCreateContext failed on '{Device.Name}': {ClException.Name(err)}");
        _queue = clCreateCommandQueue(_context, device, CL_QUEUE_PROFILING_ENABLE, &err);
        if (err != CL_SUCCESS)
        {
            _ = clReleaseContext(_context); // error path
            throw new BackendUnavailableException($"no OpenCL device: clCreateCommandQueue failed on '{Device.Name}': {ClException.Name(err)}");
        }
        _groupSize = Math.Clamp(Device.MaxWorkGroupSize, 1, 256);
        Programs = new ClProgramCache(_context, Device, diskCache, kernelDirectory);
    }

    /// <inheritdoc/>
    public override string Name => "opencl";

    /// <inheritdoc/>
    public override string DeviceName => $"{Device.Name} ({Device.PlatformName}, {Device.DeviceVersion}, driver {Device.DriverVersion})";

    /// <summary>The device this backend runs on.</summary>
    public ClDevice Device { get; }

    /// <inheritdoc/>
    protected override bool IsHostDevice => Device.Type == "CPU";

    /// <summary>The programs built for this backend's context.</summary>
    public ClProgramCache Programs { get; }

    /// <summary>
    /// When true, every kernel launch waits for its completion event and records its device time in
    /// <see cref="LastKernel"/> (for benchmarks; it serialises the queue).
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

    internal nint Context => _context;

    /// <summary>Waits until every command queued so far has finished.</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_queue == 0, this);
        ClException.Check(clFinish(_queue));
    }

    /// <summary>The <c>cl_mem</c> behind a storage of this backend (never another backend's: no silent copies).</summary>
    internal nint Mem(Storage s)
    {
        if (s is ClStorage cs && ReferenceEquals(s.Backend, this)) return cs.Mem;
        throw new ArgumentException($"buffer belongs to backend '{s.Backend.Name}' ({s.Backend.DeviceName}), not to opencl ({Device.Name}); move the tensor first");
    }

    /// <inheritdoc/>
    public override int GroupSize => _groupSize;

    /// <inheritdoc/>
    public override bool HasSubgroups => Device.HasSubgroups;

    /// <inheritdoc/>
    public override string SubgroupDescription => Device.SubgroupDescription;

    /// <inheritdoc/>
    internal override string SoftmaxOptions => HasSubgroups ? Device.OpenClCStandard : ""; // the subgroup built-ins need OpenCL C 2.0+

    /// <summary>The driver's subgroup count for the kernel at this local size (clGetKernelSubGroupInfo), else local / 32.</summary>
    private protected override int SubgroupsPerGroup(string file, string options, string kernel, int local)
    {
        nint k = Programs.Get(file, options).Kernel(kernel);
        nuint l = (nuint)local, count = 0;
        try
        {
            if (clGetKernelSubGroupInfo(k, Device.DeviceId, CL_KERNEL_SUB_GROUP_COUNT_FOR_NDRANGE, (nuint)sizeof(nuint), &l, (nuint)sizeof(nuint), &count, null) == CL_SUCCESS && count > 0)
                return (int)count;
        }
        catch (EntryPointNotFoundException)
        {
            // an OpenCL 1.2 ICD loader: the kernels loop over rows, so the estimate below is safe
        }
        return base.SubgroupsPerGroup(file, options, kernel, local);
    }

    /// <inheritdoc/>
    protected internal override void Launch(string file, string kernel, string options,
        ReadOnlySpan<long> global, ReadOnlySpan<int> local, ReadOnlySpan<KernelArg> args)
    {
        if (local.Length != global.Length) throw new ArgumentException($"{file}:{kernel}: global size has {global.Length} dims, local size {local.Length}");
        var groups = LaunchGeometry.Groups(global, local);
        if (groups.X == 0) return;
        Span<nuint> l = stackalloc nuint[local.Length];
        for (int i = 0; i < local.Length; i++) l[i] = (nuint)local[i];
        var program = Programs.Get(file, options);
        if (LaunchGeometry.Fits(groups, EffectiveGroupLimits))
        {
            Span<nuint> g = stackalloc nuint[global.Length];
            for (int i = 0; i < global.Length; i++) g[i] = (nuint)RoundUp(global[i], local[i]);
            Launch(program, kernel, g, l, args);
            return;
        }
        // cut as CUDA must (forced by GroupLimitsOverride in tests): each slice's y/z base is its global work offset, which GROUP(n) adds back
        foreach (var s in LaunchGeometry.Slices(groups, EffectiveGroupLimits))
        {
            Span<nuint> g = [(nuint)(s.GroupsX * local[0]), (nuint)(s.GroupsY * (local.Length > 1 ? local[1] : 1)), (nuint)(s.GroupsZ * (local.Length > 2 ? local[2] : 1))];
            Span<nuint> o = [0, (nuint)(s.BaseY * (local.Length > 1 ? local[1] : 1)), (nuint)(s.BaseZ * (local.Length > 2 ? local[2] : 1))];
            Launch(program, kernel, g[..global.Length], l, args, o[..global.Length]);
        }
    }

    /// <summary>Sets the arguments and enqueues one NDRange launch (local size empty: the driver chooses; offset empty: none).</summary>
    internal void Launch(ClProgram program, string kernel, ReadOnlySpan<nuint> global, ReadOnlySpan<nuint> local, ReadOnlySpan<KernelArg> args,
        ReadOnlySpan<nuint> offset = default)
    {
        ObjectDisposedException.ThrowIf(_queue == 0, this);
        if (global.Length is < 1 or > 3 || (local.Length != 0 && local.Length != global.Length))
            throw new ArgumentException($"{kernel}: global size has {global.Length} dims, local size {local.Length}");
        nint k = program.Kernel(kernel);
        lock (_launchGate)
        {
            for (int i = 0; i < args.Length; i++) SetArg(k, (uint)i, args[i], kernel);
            nint evt = 0;
            int err;
            CountLaunch();
            fixed (nuint* g = global)
            fixed (nuint* l = local)
            fixed (nuint* o = offset)
                err = clEnqueueNDRangeKernel(_queue, k, (uint)global.Length, offset.Length == 0 ? null : o, g, local.Length == 0 ? null : l, 0, null, ProfileKernels ? &evt : null);
            if (err != CL_SUCCESS)
                throw new ClException($"clEnqueueNDRangeKernel failed: {ClException.Name(err)} ({err}) launching {program.FileName}:{kernel} " +
                    $"global [{string.Join(", ", global.ToArray())}] local [{string.Join(", ", local.ToArray())}]");
            if (evt != 0)
            {
                _lastKernel = new KernelTiming(kernel, WaitAndMeasure(evt));
                _profiledLaunches++;
            }
        }
    }

    private void SetArg(nint kernel, uint index, in KernelArg a, string name)
    {
        int err;
        switch (a.Kind)
        {
            case KernelArgKind.Buffer: { nint m = Mem(a.Buffer!); err = clSetKernelArg(kernel, index, (nuint)sizeof(nint), &m); break; }
            case KernelArgKind.Int: { int v = a.Int; err = clSetKernelArg(kernel, index, sizeof(int), &v); break; }
            default: { float v = a.Float; err = clSetKernelArg(kernel, index, sizeof(float), &v); break; }
        }
        if (err != CL_SUCCESS) throw new ClException($"clSetKernelArg failed: {ClException.Name(err)} ({err}) for argument {index} of {name}");
    }

    /// <summary>Waits for a profiled event and returns its START→END time in milliseconds; releases the event.</summary>
    private static double WaitAndMeasure(nint evt)
    {
        try
        {
            ClException.Check(clWaitForEvents(1, &evt));
            ulong start, end;
            ClException.Check(clGetEventProfilingInfo(evt, CL_PROFILING_COMMAND_START, sizeof(ulong), &start, null));
            ClException.Check(clGetEventProfilingInfo(evt, CL_PROFILING_COMMAND_END, sizeof(ulong), &end, null));
            return (end - start) / 1e6;
        }
        finally
        {
            _ = clReleaseEvent(evt);
        }
    }

    /// <summary>Releases the programs, the queue and the context. Buffers still alive keep the context until they are freed.</summary>
    public void Dispose()
    {
        if (_queue == 0) return;
        ClException.Check(clFinish(_queue));
        ClosePool(); // parked buffers go back with the context; later frees go straight to the driver
        Programs.Dispose();
        ClException.Check(clReleaseCommandQueue(_queue));
        ClException.Check(clReleaseContext(_context));
        _queue = 0;
        _context = 0;
    }
}
