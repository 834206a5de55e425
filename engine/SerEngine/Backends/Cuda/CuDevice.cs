using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

/// <summary>One CUDA device as the driver reports it.</summary>
public sealed unsafe class CuDevice
{
    /// <summary>Environment variable that chooses the device: an ordinal, or a substring of the device name.</summary>
    public const string EnvironmentVariable = "SERENGINE_CUDA_DEVICE";

    private static readonly Lazy<string?> InitError = new(Initialize);

    private CuDevice() { }

    /// <summary>Device ordinal.</summary>
    public int Index { get; private init; }

    /// <summary>Device name, e.g. <c>NVIDIA H100 80GB HBM3</c>.</summary>
    public string Name { get; private init; } = "";

    /// <summary>Compute capability, major part.</summary>
    public int ComputeCapabilityMajor { get; private init; }

    /// <summary>Compute capability, minor part.</summary>
    public int ComputeCapabilityMinor { get; private init; }

    /// <summary>Streaming multiprocessors.</summary>
    public int MultiprocessorCount { get; private init; }

    /// <summary>Largest block size.</summary>
    public int MaxThreadsPerBlock { get; private init; }

    /// <summary>Device memory in bytes.</summary>
    public long TotalMemoryBytes { get; private init; }

    /// <summary>Driver API version, e.g. 12040 for CUDA 12.4.</summary>
    public int DriverVersion { get; private init; }

    /// <summary>Real architecture name for NVRTC: <c>sm_90</c>.</summary>
    public string Arch => $"sm_{ComputeCapabilityMajor}{ComputeCapabilityMinor}";

    /// <summary>Virtual architecture name for NVRTC's PTX fallback: <c>compute_90</c>.</summary>
    public string VirtualArch => $"compute_{ComputeCapabilityMajor}{ComputeCapabilityMinor}";

    /// <summary>The driver version as <c>major.minor</c>.</summary>
    public string DriverVersionText => $"{DriverVersion / 1000}.{DriverVersion % 1000 / 10}";

    /// <inheritdoc/>
    public override string ToString() =>
        $"[{Index}] {Name} — {Arch}, {MultiprocessorCount} SMs, {TotalMemoryBytes / (1024 * 1024)} MiB, CUDA driver {DriverVersionText}";

    /// <summary>True when libcuda loads and <c>cuInit</c> succeeds; otherwise <paramref name="reason"/> says why.</summary>
    public static bool TryInitialize(out string reason)
    {
        reason = InitError.Value ?? "";
        return InitError.Value is null;
    }

    /// <summary>The installed driver's API version (<c>cuDriverGetVersion</c>, e.g. 12040), or 0 without a driver.</summary>
    public static int TryDriverVersion()
    {
        if (!CuNative.TryLoad(out _)) return 0;
        try
        {
            int version;
            return cuDriverGetVersion(&version) == CUDA_SUCCESS ? version : 0;
        }
        catch (EntryPointNotFoundException) { return 0; }
    }

    /// <summary>Every CUDA device; empty with a reason when the driver or the devices are missing.</summary>
    public static bool TryList(out IReadOnlyList<CuDevice> devices, out string reason)
    {
        devices = [];
        if (!TryInitialize(out reason)) return false;
        int count, version;
        CuException.Check(cuDeviceGetCount(&count));
        CuException.Check(cuDriverGetVersion(&version));
        if (count == 0)
        {
            reason = "the CUDA driver reports 0 devices";
            return false;
        }
        var list = new List<CuDevice>(count);
        var name = stackalloc byte[256];
        for (int i = 0; i < count; i++)
        {
            int dev;
            CuException.Check(cuDeviceGet(&dev, i));
            CuException.Check(cuDeviceGetName(name, 256, dev));
            nuint mem;
            CuException.Check(cuDeviceTotalMem_v2(&mem, dev));
            list.Add(new CuDevice
            {
                Index = dev,
                Name = NativeText.Utf8(new ReadOnlySpan<byte>(name, 256)),
                ComputeCapabilityMajor = Attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                ComputeCapabilityMinor = Attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                MultiprocessorCount = Attribute(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                MaxThreadsPerBlock = Attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK),
                TotalMemoryBytes = (long)mem,
                DriverVersion = version,
            });
        }
        devices = list;
        return true;
    }

    /// <summary>Every CUDA device.</summary>
    /// <exception cref="BackendUnavailableException">No driver or no device ("no CUDA device: ...").</exception>
    public static IReadOnlyList<CuDevice> List()
    {
        if (!TryList(out var devices, out var reason)) throw new BackendUnavailableException($"no CUDA device: {reason}");
        return devices;
    }

    /// <summary>
    /// The device named by <paramref name="selector"/> (default: <c>$SERENGINE_CUDA_DEVICE</c>): an
    /// ordinal, or a case-insensitive substring of the name. With neither, device 0.
    /// </summary>
    /// <exception cref="BackendUnavailableException">No driver, no device, or none matches ("no CUDA device: ...").</exception>
    public static CuDevice Select(string? selector = null)
    {
        var devices = List();
        selector ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(selector)) return devices[0];
        selector = selector.Trim();
        if (int.TryParse(selector, out int index))
        {
            if (index >= 0 && index < devices.Count) return devices[index];
            throw new BackendUnavailableException($"no CUDA device: ordinal {index} is out of range ({string.Join("; ", devices)})");
        }
        return devices.FirstOrDefault(d => d.Name.Contains(selector, StringComparison.OrdinalIgnoreCase))
            ?? throw new BackendUnavailableException($"no CUDA device: none matches '{selector}' ({string.Join("; ", devices)})");
    }

    private static string? Initialize()
    {
        if (!CuNative.TryLoad(out var reason)) return reason;
        try
        {
            int err = cuInit(0);
            return err == CUDA_SUCCESS ? null : $"cuInit failed: {CuException.Name(err)} ({err})";
        }
        catch (EntryPointNotFoundException e)
        {
            return $"{Lib} is not a usable CUDA driver: {e.Message}";
        }
    }

    private static int Attribute(int dev, int attribute)
    {
        int v;
        CuException.Check(cuDeviceGetAttribute(&v, attribute, dev));
        return v;
    }
}
