using SerEngine.Backends;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.OpenCl;
using SerEngine.Ilgpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// One OpenCL backend shared by every GPU test class, so each kernel file is built once per test
/// run (and its binary reused from the disk cache on the next run). Missing device: the test
/// returns early with a message, except under CI=true, where it fails.
/// </summary>
internal static class GpuTestDevices
{
    private static readonly Lazy<(OpenClBackend? Backend, string Reason)> SharedOpenCl = new(() =>
    {
        try { return (new OpenClBackend(), ""); }
        catch (BackendUnavailableException e) { return (null, e.Message); }
    });

    private static readonly Lazy<(CudaBackend? Backend, string Reason)> SharedCuda = new(() =>
    {
        if (!CuNative.TryLoad(out var reason)) return (null, reason);
        return (new CudaBackend(), ""); // a driver without a usable device fails the test: that is a broken GPU machine
    });

    private static readonly Lazy<IlgpuBackend> SharedIlgpu = new(IlgpuBackend.CreateBest);

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>SERENGINE_REQUIRE_CUDA=1 (the GPU machine's .device/run.sh): a CUDA test without a CUDA driver fails.</summary>
    public static bool RequireCuda => Environment.GetEnvironmentVariable("SERENGINE_REQUIRE_CUDA") == "1";

    /// <summary>The shared OpenCL backend, or null (after saying why) when this machine has no OpenCL device.</summary>
    public static OpenClBackend? OpenCl(ITestOutputHelper output)
    {
        var (backend, reason) = SharedOpenCl.Value;
        if (backend is not null) return backend;
        if (IsCi) Assert.Fail($"CI=true requires an OpenCL device (install pocl-opencl-icd): {reason}");
        output.WriteLine($"SKIPPED (returned early): {reason}");
        return null;
    }

    /// <summary>
    /// The shared CUDA backend, or null (after saying "no CUDA driver") only when libcuda.so.1
    /// cannot be loaded (and SERENGINE_REQUIRE_CUDA is not 1); with a driver present, any failure to open
    /// the device fails the test.
    /// </summary>
    public static CudaBackend? Cuda(ITestOutputHelper output)
    {
        var (backend, reason) = SharedCuda.Value;
        if (backend is not null) return backend;
        if (RequireCuda) Assert.Fail($"SERENGINE_REQUIRE_CUDA=1 requires a CUDA device: {reason}");
        output.WriteLine($"SKIPPED (returned early): no CUDA driver: {reason}");
        return null;
    }

    /// <summary>
    /// The <c>ilgpu</c> backend when ILGPU opens a GPU (CUDA, or an OpenCL device it accepts), or null after
    /// saying so: here it resolves to ILGPU's CPU accelerator, which the <c>ilgpu-cpu</c> rows cover. Under
    /// SERENGINE_REQUIRE_CUDA=1 (the GPU machine's run.sh) ILGPU must open the CUDA device.
    /// </summary>
    public static IlgpuBackend? IlgpuGpu(ITestOutputHelper output)
    {
        var backend = SharedIlgpu.Value;
        if (backend.AcceleratorType == ILGPU.Runtime.AcceleratorType.Cuda) return backend;
        if (RequireCuda) Assert.Fail($"SERENGINE_REQUIRE_CUDA=1 requires ILGPU to open the CUDA device; it opened {backend.DeviceName}");
        if (backend.AcceleratorType == ILGPU.Runtime.AcceleratorType.OpenCL) return backend;
        output.WriteLine($"SKIPPED (returned early): ilgpu resolves to ILGPU's CPU accelerator here (covered by the ilgpu-cpu rows): {backend.DeviceName}");
        return null;
    }
}
