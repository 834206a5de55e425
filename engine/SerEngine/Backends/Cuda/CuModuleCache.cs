using SerEngine.Backends.Gpu;
using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

/// <summary>A loaded CUDA module (one kernel file with one set of options) and its functions.</summary>
public sealed class CuModule : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, nint> _functions = new(StringComparer.Ordinal);
    private nint _handle;
    private bool _groupBaseLookedUp;
    private ulong _groupBasePtr;
    private (int Y, int Z) _groupBase;

    internal CuModule(nint handle, string fileName, string options, string imageKind, bool fromDiskCache)
    {
        _handle = handle;
        FileName = fileName;
        Options = options;
        ImageKind = imageKind;
        FromDiskCache = fromDiskCache;
    }

    /// <summary>Kernel file the module was compiled from.</summary>
    public string FileName { get; }

    /// <summary>NVRTC options used, the architecture included.</summary>
    public string Options { get; }

    /// <summary><c>cubin</c> (native code) or <c>ptx</c> (JIT-compiled by the driver).</summary>
    public string ImageKind { get; }

    /// <summary>True when the image came from the disk cache rather than NVRTC.</summary>
    public bool FromDiskCache { get; }

    /// <summary>The <c>CUfunction</c> called <paramref name="name"/> (looked up once).</summary>
    internal unsafe nint Function(string name)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_handle == 0, this);
            if (_functions.TryGetValue(name, out var f)) return f;
            int err = cuModuleGetFunction(&f, _handle, name);
            if (err != CUDA_SUCCESS) throw new CuException(err, "cuModuleGetFunction", $"kernel '{name}' in {FileName}");
            _functions[name] = f;
            return f;
        }
    }

    /// <summary>
    /// Sets the module's <c>serengine_group_base</c> (prelude_cuda.h) to the first y/z group of the next
    /// launch; written only when it changes, so uncut launches cost nothing. Call under the launch lock
    /// with the context current: the copy is ordered after earlier launches on the legacy stream.
    /// </summary>
    internal unsafe void SetGroupBase(int y, int z)
    {
        if (_groupBase == (y, z)) return;
        if (!_groupBaseLookedUp)
        {
            ulong ptr;
            nuint bytes;
            int err = cuModuleGetGlobal_v2(&ptr, &bytes, _handle, "serengine_group_base");
            // NOT_FOUND: no kernel here reads a y/z group id, so the base does not matter
            if (err != CUDA_SUCCESS && err != CUDA_ERROR_NOT_FOUND) throw new CuException(err, "cuModuleGetGlobal_v2", $"serengine_group_base in {FileName}");
            _groupBasePtr = err == CUDA_SUCCESS ? ptr : 0;
            _groupBaseLookedUp = true;
        }
        if (_groupBasePtr != 0)
        {
            int* values = stackalloc int[3] { 0, y, z };
            int err = cuMemcpyHtoD_v2(_groupBasePtr, values, 3 * sizeof(int));
            if (err != CUDA_SUCCESS) throw new CuException(err, "cuMemcpyHtoD_v2", $"serengine_group_base ({y}, {z}) in {FileName}");
        }
        _groupBase = (y, z);
    }

    /// <summary>Unloads the module (its context must be current).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_handle != 0) CuException.Check(cuModuleUnload(_handle));
            _handle = 0;
            _functions.Clear();
        }
    }
}

/// <summary>
/// Compiles kernel files with NVRTC for one device, once per process, and keeps the images in a
/// <see cref="KernelDiskCache"/> keyed by SHA-256 of the full source, the options, the device name
/// and architecture, the driver version and the NVRTC version. What is tried comes from
/// <see cref="NvrtcChoice.CompilePlan"/>: CUBIN for the device's <c>sm_XY</c> when NVRTC knows it,
/// then PTX for the newest <c>compute_XY</c> NVRTC supports up to the device's (JIT-compiled by the
/// driver). Failures of NVRTC and of <c>cuModuleLoadDataEx</c> (with its JIT error log) end in one
/// <see cref="KernelCompileException"/>.
/// </summary>
public sealed unsafe class CuModuleCache : CompiledKernelCache<CuModule>
{
    private readonly CudaBackend _backend;

    /// <summary>A module cache for <paramref name="backend"/>'s device and context.</summary>
    /// <param name="backend">Backend whose device the modules are compiled for.</param>
    /// <param name="diskCache">Image cache on disk; null disables it.</param>
    /// <param name="kernelDirectory">Folder to load kernel files from (default: <c>$SERENGINE_KERNEL_DIR</c>, then the embedded copies).</param>
    public CuModuleCache(CudaBackend backend, KernelDiskCache? diskCache, string? kernelDirectory = null)
        : base(diskCache, kernelDirectory) => _backend = backend;

    /// <inheritdoc/>
    protected override KernelDialect Dialect => KernelDialect.Cuda;

    /// <summary>
    /// Compiles <paramref name="source"/> to PTX for <paramref name="arch"/> (a <c>compute_XY</c>
    /// name) without any device or driver: NVRTC alone. For checking kernels on machines without a GPU.
    /// </summary>
    /// <exception cref="KernelCompileException">NVRTC is missing or the source does not compile (message has the file name and the log).</exception>
    public static string CompileToPtx(KernelSource source, string arch = "compute_75", string options = "")
    {
        var nvrtc = NvrtcNative.Instance ?? throw new KernelCompileException(
            $"{source.FileName}: cannot compile CUDA kernels, NVRTC was not found.\n{NvrtcNative.SearchReport}");
        var opts = SplitOptions(options).Prepend($"--gpu-arch={arch}").ToList();
        var (image, error, log) = nvrtc.Compile(source.Text, source.FileName, opts, cubin: false);
        if (image is null) throw new KernelCompileException(source.FileName, "NVRTC", error, arch, string.Join(' ', opts), log);
        return NativeText.Utf8(image);
    }

    /// <summary>The option string as NVRTC gets it: one option per entry.</summary>
    internal static string[] SplitOptions(string options) =>
        options.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static NvrtcNative Nvrtc(KernelSource source) => NvrtcNative.Instance ?? throw new KernelCompileException(
        $"{source.FileName}: cannot compile CUDA kernels, NVRTC was not found (set {NvrtcSearch.EnvironmentVariable} to libnvrtc.so's path).\n{NvrtcNative.SearchReport}");

    /// <summary>The disk-cache key of one image kind (<c>cubin</c>, <c>ptx</c>, or <c>any</c> for the in-process memo).</summary>
    private string Key(KernelSource source, string options, string kind, string arch) =>
        KernelDiskCache.Key("cuda", kind, source.Text, string.Join(' ', SplitOptions(options)), arch, _backend.Device.Name,
            _backend.Device.DriverVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Nvrtc(source).Version.ToString());

    private protected override string MemoKey(KernelSource source, string options) => Key(source, options, "any", _backend.Device.Arch);

    private protected override void BeforeRelease() => _backend.MakeCurrent();

    private protected override CuModule Create(KernelSource source, string options)
    {
        var nvrtc = Nvrtc(source);
        var device = _backend.Device;
        var baseOptions = SplitOptions(options).ToList();
        _backend.MakeCurrent();
        var failures = new List<string>();
        CuModule? module = null;
        var plan = NvrtcChoice.CompilePlan(device.ComputeCapabilityMajor * 10 + device.ComputeCapabilityMinor, nvrtc.SupportedArchs, nvrtc.CanEmitCubin);
        if (plan.Count == 0)
            throw new KernelCompileException(source.FileName, "NVRTC", "NVRTC_ERROR_INVALID_OPTION", $"{device.Name} ({device.Arch})", string.Join(' ', baseOptions),
                $"NVRTC {nvrtc.Version} supports only compute capabilities {string.Join(", ", nvrtc.SupportedArchs ?? [])}, none at or below the device's");
        foreach (var (kind, arch) in plan)
        {
            var key = Key(source, options, kind, arch);
            var opts = baseOptions.Prepend($"--gpu-arch={arch}").ToList();
            var optionText = string.Join(' ', opts);
            if (DiskCache?.TryRead(key, kind) is { } stored)
            {
                if (TryLoad(stored, out var h, out var jitLog))
                {
                    CountDiskLoad();
                    module = new CuModule(h, source.FileName, optionText, kind, fromDiskCache: true);
                    break;
                }
                failures.Add($"cached {kind} rejected: {jitLog}");
                DiskCache.Delete(key, kind);
            }
            var (image, error, log) = nvrtc.Compile(source.Text, source.FileName, opts, cubin: kind == "cubin");
            if (image is null)
            {
                // A source error fails both ways: report it now. An unknown architecture or no CUBIN support: try PTX.
                if (error == "NVRTC_ERROR_COMPILATION")
                    throw new KernelCompileException(source.FileName, "NVRTC", error, $"{device.Name} ({arch})", optionText, log);
                failures.Add($"NVRTC {kind} for {arch}: {error} {log}".Trim());
                continue;
            }
            CountBuild();
            if (TryLoad(image, out var handle, out var loadLog))
            {
                DiskCache?.Write(key, kind, image);
                module = new CuModule(handle, source.FileName, optionText, kind, fromDiskCache: false);
                break;
            }
            failures.Add($"cuModuleLoadDataEx({kind} for {arch}): {loadLog}");
        }
        if (module is null)
        {
            // NVRTC dlopens its builtins by name: say where the search found (or did not find) them
            if (failures.Any(f => f.Contains("builtins", StringComparison.Ordinal))) failures.Add(NvrtcNative.SearchReport);
            throw new KernelCompileException(source.FileName, "NVRTC + cuModuleLoadDataEx", $"{string.Join(" and ", plan.Select(p => p.Kind.ToUpperInvariant()))} failed",
                $"{device.Name} ({device.Arch})", string.Join(' ', baseOptions), string.Join('\n', failures));
        }
        return module;
    }

    /// <summary>Loads a CUBIN or PTX image into the current context; on failure returns the driver's error and JIT log.</summary>
    private static bool TryLoad(byte[] image, out nint module, out string log)
    {
        const int LogSize = 16 * 1024;
        var logBuf = new byte[LogSize];
        int* opts = stackalloc int[2] { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
        void** values = stackalloc void*[2];
        nint m = 0;
        int err;
        fixed (byte* l = logBuf)
        fixed (byte* img = image)
        {
            values[0] = l;
            values[1] = (void*)(nint)LogSize;
            err = cuModuleLoadDataEx(&m, img, 2, opts, values);
        }
        module = m;
        log = err == CUDA_SUCCESS ? "" : $"{CuException.Name(err)} {NativeText.Utf8(logBuf)}".Trim();
        return err == CUDA_SUCCESS;
    }
}
