using System.Text;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.OpenCl;

// Lives beside the GPU backends it registers; its namespace stays SerEngine.Backends (public API since 0.1).
namespace SerEngine.Backends;

/// <summary>
/// Registers the GPU backends with <see cref="BackendRegistry"/> and describes the devices this
/// machine has. Registration only stores factories: nothing is loaded until a backend is asked for,
/// and a machine without the driver gets <see cref="BackendUnavailableException"/> ("no CUDA
/// device: ...", "no OpenCL device: ...") from <see cref="BackendRegistry.Get"/>, never a crash.
/// </summary>
public static class GpuBackends
{
    /// <summary>Registers <c>opencl</c> and <c>cuda</c> (devices chosen by <c>SERENGINE_OPENCL_DEVICE</c> / <c>SERENGINE_CUDA_DEVICE</c>).</summary>
    public static void Register()
    {
        BackendRegistry.Register("opencl", () => new OpenClBackend());
        BackendRegistry.Register("cuda", () => new CudaBackend());
    }

    /// <summary>
    /// A readable list of the OpenCL and CUDA devices (or why there are none), the NVRTC search
    /// result and the kernel cache folder — what <c>ser devices</c> prints.
    /// </summary>
    public static string ListDevices()
    {
        var sb = new StringBuilder();
        sb.Append("OpenCL devices (").Append(ClDevice.EnvironmentVariable).Append(" = index or name):\n");
        if (ClDevice.TryList(out var cl, out var clReason))
            foreach (var d in cl) sb.Append("  ").Append(d).Append('\n');
        else
            sb.Append("  none: ").Append(clReason).Append('\n');

        sb.Append("CUDA devices (").Append(CuDevice.EnvironmentVariable).Append(" = ordinal or name):\n");
        if (CuDevice.TryList(out var cu, out var cuReason))
            foreach (var d in cu) sb.Append("  ").Append(d).Append('\n');
        else
            sb.Append("  none: ").Append(cuReason).Append('\n');

        var nvrtc = NvrtcNative.Instance;
        sb.Append("NVRTC: ").Append(nvrtc is null ? "not found" : $"{nvrtc.Version} at {nvrtc.FilePath ?? nvrtc.LibraryPath}")
          .Append(nvrtc?.BuiltinsPath is { } builtins ? $", builtins {builtins}" : "").Append('\n');
        sb.Append("Kernel cache (").Append(KernelDiskCache.EnvironmentVariable).Append("): ")
          .Append(KernelDiskCache.ResolveDirectory() ?? "off").Append('\n');
        return sb.ToString();
    }
}
