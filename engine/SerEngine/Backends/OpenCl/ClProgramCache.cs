using SerEngine.Backends.Gpu;
using System.Text;
using static SerEngine.Backends.OpenCl.ClNative;

namespace SerEngine.Backends.OpenCl;

/// <summary>
/// A built OpenCL program (one kernel file with one set of options) and its kernels, created on
/// first use and kept for the life of the cache.
/// </summary>
public sealed class ClProgram : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, nint> _kernels = new(StringComparer.Ordinal);
    private nint _handle;

    internal ClProgram(nint handle, string fileName, string options, bool fromDiskCache)
    {
        _handle = handle;
        FileName = fileName;
        Options = options;
        FromDiskCache = fromDiskCache;
    }

    /// <summary>Kernel file the program was built from.</summary>
    public string FileName { get; }

    /// <summary>Build options, including the engine's base options.</summary>
    public string Options { get; }

    /// <summary>True when the program was created from a cached binary rather than compiled.</summary>
    public bool FromDiskCache { get; }

    /// <summary>The kernel object called <paramref name="name"/> (created once).</summary>
    internal unsafe nint Kernel(string name)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_handle == 0, this);
            if (_kernels.TryGetValue(name, out var k)) return k;
            int err;
            k = clCreateKernel(_handle, name, &err);
            if (err != CL_SUCCESS)
                throw new ClException($"clCreateKernel failed: {ClException.Name(err)} ({err}) for kernel '{name}' in {FileName}");
            _kernels[name] = k;
            return k;
        }
    }

    /// <summary>Releases the kernels and the program.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var k in _kernels.Values) ClException.Check(clReleaseKernel(k));
            _kernels.Clear();
            if (_handle != 0) ClException.Check(clReleaseProgram(_handle));
            _handle = 0;
        }
    }
}

/// <summary>
/// Builds kernel files for one OpenCL context and device, once per process, and keeps their
/// binaries in a <see cref="KernelDiskCache"/> keyed by SHA-256 of the full source, the options,
/// the device name, the driver version and the platform version. A cached binary the driver
/// rejects is deleted and the source is built again. Build failures throw
/// <see cref="KernelCompileException"/> with the kernel file's name and the full build log.
/// </summary>
public sealed unsafe class ClProgramCache : CompiledKernelCache<ClProgram>
{
    /// <summary>Options added in front of every build.</summary>
    public const string BaseOptions = "-cl-std=CL1.2";

    private const string Extension = "clbin";

    private readonly nint _context;
    private readonly ClDevice _device;

    /// <summary>A second cache on <paramref name="backend"/>'s context (the backend has its own in <see cref="OpenClBackend.Programs"/>).</summary>
    /// <param name="backend">Backend whose context and device the programs are built for.</param>
    /// <param name="diskCache">Binary cache on disk; null disables it.</param>
    /// <param name="kernelDirectory">Folder to load kernel files from (default: <c>$SERENGINE_KERNEL_DIR</c>, then the embedded copies).</param>
    public ClProgramCache(OpenClBackend backend, KernelDiskCache? diskCache, string? kernelDirectory = null)
        : this(backend.Context, backend.Device, diskCache, kernelDirectory) { }

    internal ClProgramCache(nint context, ClDevice device, KernelDiskCache? diskCache, string? kernelDirectory)
        : base(diskCache, kernelDirectory)
    {
        _context = context;
        _device = device;
    }

    /// <inheritdoc/>
    protected override KernelDialect Dialect => KernelDialect.OpenCl;

    /// <summary>The disk-cache key of a source and its options on this device.</summary>
    public string CacheKey(KernelSource source, string options) =>
        KernelDiskCache.Key("opencl", source.Text, FullOptions(options), _device.Name, _device.Vendor,
            _device.DriverVersion, _device.PlatformName, _device.PlatformVersion);

    private static string FullOptions(string options) =>
        string.IsNullOrWhiteSpace(options) ? BaseOptions : $"{BaseOptions} {options.Trim()}";

    private protected override string MemoKey(KernelSource source, string options) => CacheKey(source, options);

    private protected override ClProgram Create(KernelSource source, string options)
    {
        var key = CacheKey(source, options);
        var fullOptions = FullOptions(options);
        nint handle = 0;
        bool fromDisk = false;
        var binary = DiskCache?.TryRead(key, Extension);
        if (binary is not null)
        {
            handle = TryBuildFromBinary(binary, fullOptions);
            if (handle == 0) DiskCache!.Delete(key, Extension);
            else { fromDisk = true; CountDiskLoad(); }
        }
        if (handle == 0)
        {
            handle = BuildFromSource(source, fullOptions);
            CountBuild();
            if (DiskCache is not null && ProgramBinary(handle) is { Length: > 0 } bin) DiskCache.Write(key, Extension, bin);
        }
        return new ClProgram(handle, source.FileName, fullOptions, fromDisk);
    }

    private nint BuildFromSource(KernelSource source, string fullOptions)
    {
        var text = Encoding.UTF8.GetBytes(source.Text);
        nint program;
        int err;
        fixed (byte* t = text)
        {
            byte* strings = t;
            nuint length = (nuint)text.Length;
            program = clCreateProgramWithSource(_context, 1, &strings, &length, &err);
        }
        ClException.Check(err, "clCreateProgramWithSource");
        nint device = _device.DeviceId;
        err = clBuildProgram(program, 1, &device, fullOptions, 0, 0);
        if (err != CL_SUCCESS)
        {
            var log = BuildLog(program);
            _ = clReleaseProgram(program); // error path: the build failure is the error to report
            throw new KernelCompileException(source.FileName, "OpenCL clBuildProgram", ClException.Name(err), _device.Name, fullOptions,
                log.Length > 0 ? log : "(the driver returned an empty build log)");
        }
        return program;
    }

    private nint TryBuildFromBinary(byte[] binary, string fullOptions)
    {
        nint device = _device.DeviceId;
        int err, status = 0;
        nint program;
        fixed (byte* b = binary)
        {
            byte* bin = b;
            nuint length = (nuint)binary.Length;
            program = clCreateProgramWithBinary(_context, 1, &device, &length, &bin, &status, &err);
        }
        if (err != CL_SUCCESS || status != CL_SUCCESS)
        {
            if (program != 0) _ = clReleaseProgram(program);
            return 0;
        }
        if (clBuildProgram(program, 1, &device, fullOptions, 0, 0) != CL_SUCCESS)
        {
            _ = clReleaseProgram(program);
            return 0;
        }
        return program;
    }

    private string BuildLog(nint program)
    {
        nuint size;
        if (clGetProgramBuildInfo(program, _device.DeviceId, CL_PROGRAM_BUILD_LOG, 0, null, &size) != CL_SUCCESS || size == 0) return "";
        var buf = new byte[(int)size];
        fixed (byte* b = buf)
            if (clGetProgramBuildInfo(program, _device.DeviceId, CL_PROGRAM_BUILD_LOG, size, b, null) != CL_SUCCESS) return "";
        return NativeText.Utf8(buf);
    }

    private static byte[]? ProgramBinary(nint program)
    {
        nuint size;
        if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, (nuint)sizeof(nuint), &size, null) != CL_SUCCESS || size == 0) return null;
        var bin = new byte[(int)size];
        fixed (byte* b = bin)
        {
            byte* ptr = b;
            if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, (nuint)sizeof(nint), &ptr, null) != CL_SUCCESS) return null;
        }
        return bin;
    }
}
