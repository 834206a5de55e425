using static SerEngine.Backends.OpenCl.ClNative;

namespace SerEngine.Backends.OpenCl;

/// <summary>
/// One OpenCL device as the ICD loader reports it (every platform × every device). Indices run
/// over all platforms in order, so <c>SERENGINE_OPENCL_DEVICE=1</c> means the second device listed.
/// </summary>
public sealed unsafe class ClDevice
{
    /// <summary>Environment variable that chooses the device: an index, or a substring of the device, vendor or platform name.</summary>
    public const string EnvironmentVariable = "SERENGINE_OPENCL_DEVICE";

    private ClDevice() { }

    /// <summary>Position in <see cref="List"/>.</summary>
    public int Index { get; private init; }

    /// <summary>Position of the platform among the loader's platforms.</summary>
    public int PlatformIndex { get; private init; }

    /// <summary>Platform name, e.g. <c>Portable Computing Language</c>.</summary>
    public string PlatformName { get; private init; } = "";

    /// <summary>Platform version, e.g. <c>OpenCL 3.0 PoCL 3.1 ...</c>.</summary>
    public string PlatformVersion { get; private init; } = "";

    /// <summary>Device name.</summary>
    public string Name { get; private init; } = "";

    /// <summary>Device vendor.</summary>
    public string Vendor { get; private init; } = "";

    /// <summary>Driver version (<c>CL_DRIVER_VERSION</c>).</summary>
    public string DriverVersion { get; private init; } = "";

    /// <summary>Device OpenCL version (<c>CL_DEVICE_VERSION</c>).</summary>
    public string DeviceVersion { get; private init; } = "";

    /// <summary>OpenCL C version (<c>CL_DEVICE_OPENCL_C_VERSION</c>).</summary>
    public string OpenClCVersion { get; private init; } = "";

    /// <summary>Space-separated extension names (<c>CL_DEVICE_EXTENSIONS</c>).</summary>
    public string Extensions { get; private init; } = "";

    /// <summary>Most subgroups in a work-group (<c>CL_DEVICE_MAX_NUM_SUB_GROUPS</c>, OpenCL 2.1; 0 when the device has none or does not say).</summary>
    public int MaxSubGroups { get; private init; }

    /// <summary>
    /// True when the kernels' subgroup macros compile here: the device reports <c>cl_khr_subgroups</c>
    /// and OpenCL C 2.0 or later (the extension's built-ins are not declared under OpenCL C 1.2).
    /// </summary>
    public bool HasSubgroups =>
        Extensions.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("cl_khr_subgroups") && OpenClCMajor >= 2;

    /// <summary>The -cl-std option for the device's newest OpenCL C (<c>CL2.0</c>, <c>CL3.0</c>), or empty for 1.x.</summary>
    internal string OpenClCStandard => OpenClCMajor >= 3 ? "-cl-std=CL3.0" : OpenClCMajor == 2 ? "-cl-std=CL2.0" : "";

    /// <summary>What the device says about subgroups, in words.</summary>
    public string SubgroupDescription => HasSubgroups
        ? $"cl_khr_subgroups, {(MaxSubGroups > 0 ? $"up to {MaxSubGroups}" : "an unreported number of")} subgroups per work-group, {OpenClCVersion}"
        : $"none: {(Extensions.Contains("cl_khr_subgroups", StringComparison.Ordinal) ? "cl_khr_subgroups needs OpenCL C 2.0" : "CL_DEVICE_EXTENSIONS lacks cl_khr_subgroups")}, " +
          $"CL_DEVICE_MAX_NUM_SUB_GROUPS = {MaxSubGroups}, {OpenClCVersion}";

    /// <summary>Major version of <see cref="OpenClCVersion"/> ("OpenCL C 1.2 PoCL" → 1).</summary>
    private int OpenClCMajor
    {
        get
        {
            var parts = OpenClCVersion.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length > 2 && int.TryParse(parts[2].Split('.')[0], out int major) ? major : 1;
        }
    }

    /// <summary><c>GPU</c>, <c>CPU</c>, <c>accelerator</c> or <c>other</c>.</summary>
    public string Type { get; private init; } = "";

    /// <summary>Compute units.</summary>
    public int ComputeUnits { get; private init; }

    /// <summary>Largest work-group size.</summary>
    public int MaxWorkGroupSize { get; private init; }

    /// <summary>Global memory in bytes.</summary>
    public long GlobalMemoryBytes { get; private init; }

    /// <summary>Largest single allocation in bytes.</summary>
    public long MaxAllocationBytes { get; private init; }

    /// <summary>Local (work-group shared) memory in bytes.</summary>
    public long LocalMemoryBytes { get; private init; }

    internal nint PlatformId { get; private init; }

    internal nint DeviceId { get; private init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"[{Index}] {Name} — {PlatformName}, {DeviceVersion}, driver {DriverVersion}, {Type}, {ComputeUnits} CU, " +
        $"{GlobalMemoryBytes / (1024 * 1024)} MiB";

    /// <summary>Every device of every platform; empty with a reason when there is none.</summary>
    public static bool TryList(out IReadOnlyList<ClDevice> devices, out string reason)
    {
        devices = [];
        if (!ClNative.TryLoad(out reason)) return false;
        uint nPlatforms;
        int err = clGetPlatformIDs(0, null, &nPlatforms);
        if (err != CL_SUCCESS || nPlatforms == 0)
        {
            reason = err == CL_SUCCESS
                ? "the OpenCL ICD loader found no platform (no driver installed; for a CPU device: apt-get install pocl-opencl-icd)"
                : $"clGetPlatformIDs failed: {ClException.Name(err)} (no OpenCL driver registered in /etc/OpenCL/vendors)";
            return false;
        }
        var platforms = new nint[nPlatforms];
        fixed (nint* p = platforms) ClException.Check(clGetPlatformIDs(nPlatforms, p, null));

        var list = new List<ClDevice>();
        var skipped = new List<string>();
        for (int pi = 0; pi < platforms.Length; pi++)
        {
            var platform = platforms[pi];
            uint nDevices;
            err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, null, &nDevices);
            if (err != CL_SUCCESS || nDevices == 0)
            {
                skipped.Add($"platform {pi} ({PlatformString(platform, CL_PLATFORM_NAME)}): {(err == CL_SUCCESS ? "no devices" : ClException.Name(err))}");
                continue;
            }
            var ids = new nint[nDevices];
            fixed (nint* d = ids) ClException.Check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, nDevices, d, null));
            foreach (var id in ids) list.Add(Describe(list.Count, pi, platform, id));
        }
        devices = list;
        reason = list.Count > 0 ? "" : "no OpenCL platform has a device (" + string.Join("; ", skipped) + ")";
        return list.Count > 0;
    }

    /// <summary>Every device of every platform.</summary>
    /// <exception cref="BackendUnavailableException">No loader, no platform or no device ("no OpenCL device: ...").</exception>
    public static IReadOnlyList<ClDevice> List()
    {
        if (!TryList(out var devices, out var reason)) throw new BackendUnavailableException($"no OpenCL device: {reason}");
        return devices;
    }

    /// <summary>
    /// The device named by <paramref name="selector"/> (default: <c>$SERENGINE_OPENCL_DEVICE</c>): a
    /// decimal index into <see cref="List"/>, or a case-insensitive substring of the device name,
    /// vendor or platform name (first match). With neither, the first GPU, else the first device.
    /// </summary>
    /// <exception cref="BackendUnavailableException">No device, or none matches ("no OpenCL device: ...").</exception>
    public static ClDevice Select(string? selector = null)
    {
        var devices = List();
        selector ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(selector))
            return devices.FirstOrDefault(d => d.Type == "GPU") ?? devices[0];
        selector = selector.Trim();
        if (int.TryParse(selector, out int index))
        {
            if (index >= 0 && index < devices.Count) return devices[index];
            throw new BackendUnavailableException(
                $"no OpenCL device: index {index} is out of range ({devices.Count} devices: {string.Join("; ", devices)})");
        }
        return devices.FirstOrDefault(d => d.Name.Contains(selector, StringComparison.OrdinalIgnoreCase))
            ?? devices.FirstOrDefault(d => d.Vendor.Contains(selector, StringComparison.OrdinalIgnoreCase)
                || d.PlatformName.Contains(selector, StringComparison.OrdinalIgnoreCase))
            ?? throw new BackendUnavailableException(
                $"no OpenCL device: none matches '{selector}' ({devices.Count} devices: {string.Join("; ", devices)})");
    }

    private static ClDevice Describe(int index, int platformIndex, nint platform, nint device)
    {
        ulong type = DeviceScalar<ulong>(device, CL_DEVICE_TYPE);
        return new ClDevice
        {
            Index = index,
            PlatformIndex = platformIndex,
            PlatformId = platform,
            DeviceId = device,
            PlatformName = PlatformString(platform, CL_PLATFORM_NAME),
            PlatformVersion = PlatformString(platform, CL_PLATFORM_VERSION),
            Name = DeviceString(device, CL_DEVICE_NAME),
            Vendor = DeviceString(device, CL_DEVICE_VENDOR),
            DriverVersion = DeviceString(device, CL_DRIVER_VERSION),
            DeviceVersion = DeviceString(device, CL_DEVICE_VERSION),
            OpenClCVersion = DeviceString(device, CL_DEVICE_OPENCL_C_VERSION),
            Extensions = DeviceString(device, CL_DEVICE_EXTENSIONS),
            MaxSubGroups = TryDeviceScalar(device, CL_DEVICE_MAX_NUM_SUB_GROUPS, 0u) is var sg && sg <= int.MaxValue ? (int)sg : 0,
            Type = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU"
                : (type & CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other",
            ComputeUnits = (int)DeviceScalar<uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS),
            MaxWorkGroupSize = (int)Math.Min(int.MaxValue, (ulong)DeviceScalar<nuint>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE)),
            GlobalMemoryBytes = (long)DeviceScalar<ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE),
            MaxAllocationBytes = (long)DeviceScalar<ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
            LocalMemoryBytes = (long)DeviceScalar<ulong>(device, CL_DEVICE_LOCAL_MEM_SIZE),
        };
    }

    private static string PlatformString(nint platform, uint param)
    {
        nuint size;
        if (clGetPlatformInfo(platform, param, 0, null, &size) != CL_SUCCESS || size == 0) return "";
        var buf = new byte[(int)size];
        fixed (byte* b = buf) ClException.Check(clGetPlatformInfo(platform, param, size, b, null));
        return NativeText.Utf8(buf);
    }

    internal static string DeviceString(nint device, uint param)
    {
        nuint size;
        if (clGetDeviceInfo(device, param, 0, null, &size) != CL_SUCCESS || size == 0) return "";
        var buf = new byte[(int)size];
        fixed (byte* b = buf) ClException.Check(clGetDeviceInfo(device, param, size, b, null));
        return NativeText.Utf8(buf);
    }

    /// <summary>A scalar the device may not know (a newer query on an older device): <paramref name="fallback"/> when the call fails.</summary>
    private static T TryDeviceScalar<T>(nint device, uint param, T fallback) where T : unmanaged
    {
        T value = default;
        return clGetDeviceInfo(device, param, (nuint)sizeof(T), &value, null) == CL_SUCCESS ? value : fallback;
    }

    private static T DeviceScalar<T>(nint device, uint param) where T : unmanaged
    {
        T value = default;
        ClException.Check(clGetDeviceInfo(device, param, (nuint)sizeof(T), &value, null));
        return value;
    }
}
