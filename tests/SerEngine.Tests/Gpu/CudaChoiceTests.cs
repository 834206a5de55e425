using SerEngine.Backends.Cuda;

namespace SerEngine.Tests.Gpu;

/// <summary>The CUDA backend's decisions as pure functions, with fake inputs: no GPU, driver or NVRTC needed.</summary>
public class CudaChoiceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("/usr/local/cuda-12.4/lib64/libnvrtc.so.12.4.127", 12)]
    [InlineData("libnvrtc.so.12", 12)]
    [InlineData("libnvrtc.so.11.2", 11)]
    [InlineData("/x/site-packages/nvidia/cu13/lib/libnvrtc.so.13", 13)]
    [InlineData("/usr/local/cuda/lib64/libnvrtc.so", null)]
    [InlineData("libnvrtc.so.alt", null)]
    public void MajorVersionComesFromTheFileName(string path, int? major) => Assert.Equal(major, NvrtcChoice.MajorFromFileName(path));

    [Fact]
    public void DriverVersionIsMajorDotMinor()
    {
        Assert.Equal(new Version(12, 4), NvrtcChoice.DriverVersion(12040));
        Assert.Equal(new Version(13, 0), NvrtcChoice.DriverVersion(13000));
        Assert.Equal(new Version(11, 8), NvrtcChoice.DriverVersion(11080));
    }

    [Fact]
    public void NvrtcNotNewerThanTheDriverIsChosen()
    {
        Version v13 = new(13, 0), v126 = new(12, 6), v124 = new(12, 4), v118 = new(11, 8);
        // search order: 13 (loader name first), 12.6, 12.4, 11.8; driver 12.4 → 12.4, never 13
        var (index, reason) = NvrtcChoice.ChooseLibrary([v13, v126, v124, v118], 12040);
        output.WriteLine(reason);
        Assert.Equal(2, index);
        Assert.Contains("12.4", reason, StringComparison.Ordinal);
        // driver 12.8: 12.6 is the first not newer
        Assert.Equal(1, NvrtcChoice.ChooseLibrary([v13, v126, v124], 12080).Index);
        // driver 13.1: the first found, 13.0
        Assert.Equal(0, NvrtcChoice.ChooseLibrary([v13, v126], 13010).Index);
        // driver 12.2 with only 12.6 and 13.0 found: same major 12.6 (CUBIN loads under minor-version compatibility)
        var sameMajor = NvrtcChoice.ChooseLibrary([v13, v126], 12020);
        Assert.Equal(1, sameMajor.Index);
        Assert.Contains("major", sameMajor.Reason, StringComparison.Ordinal);
        // driver 11.8 with only 12.x and 13: none, and the reason says what to install
        var none = NvrtcChoice.ChooseLibrary([v13, v126], 11080);
        Assert.Equal(-1, none.Index);
        Assert.Contains(NvrtcSearch.EnvironmentVariable, none.Reason, StringComparison.Ordinal);
        Assert.Contains("CUDA 11", none.Reason, StringComparison.Ordinal);
        // no driver (PTX compile on a machine without a GPU): the first found; nothing found: none
        Assert.Equal(0, NvrtcChoice.ChooseLibrary([v13, v124], 0).Index);
        Assert.Equal(-1, NvrtcChoice.ChooseLibrary([], 12040).Index);
    }

    [Fact]
    public void BuiltinsMatchingNvrtcsVersionAreChosenFromItsFolder()
    {
        var dir = "/usr/local/cuda-12.4/lib64/";
        string[] files = [dir + "libnvrtc.so.12", dir + "libnvrtc-builtins.so", dir + "libnvrtc-builtins.so.12.3", dir + "libnvrtc-builtins.so.12.4", dir + "libnvrtc-builtins.so.12.4.127", dir + "libnvrtc-builtins.alt.so.12.4"];
        Assert.Equal("libnvrtc-builtins.so.12.4", NvrtcChoice.ChooseBuiltins(new Version(12, 4), files));
        Assert.Equal("libnvrtc-builtins.so.12.4", NvrtcChoice.ChooseBuiltins(new Version(12, 5), files[..4])); // same major: the newest short name
        // a wheel's folder holds only the full name
        Assert.Equal("libnvrtc-builtins.so.12.4.127", NvrtcChoice.ChooseBuiltins(new Version(12, 4), ["libnvrtc.so.12", "libnvrtc-builtins.so.12.4.127"]));
        Assert.Equal("libnvrtc-builtins.so", NvrtcChoice.ChooseBuiltins(new Version(13, 0), files));
        Assert.Null(NvrtcChoice.ChooseBuiltins(new Version(12, 4), ["libnvrtc.so.12"]));
    }

    [Fact]
    public void ADeviceNewerThanNvrtcGetsPtxForTheNewestArchItSupports()
    {
        int[] cuda124 = [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90];
        // H100 (9.0) with NVRTC 12.4: CUBIN for sm_90, PTX fallback compute_90
        Assert.Equal([("cubin", "sm_90"), ("ptx", "compute_90")], NvrtcChoice.CompilePlan(90, cuda124, canEmitCubin: true));
        // Blackwell (10.0) with NVRTC 12.4: no CUBIN, PTX for compute_90 (the driver JITs it)
        Assert.Equal([("ptx", "compute_90")], NvrtcChoice.CompilePlan(100, cuda124, canEmitCubin: true));
        // 8.8, not in the list: PTX for the newest below
        Assert.Equal([("ptx", "compute_87")], NvrtcChoice.CompilePlan(88, cuda124, canEmitCubin: true));
        // NVRTC without CUBIN (before 11.1)
        Assert.Equal([("ptx", "compute_75")], NvrtcChoice.CompilePlan(75, cuda124, canEmitCubin: false));
        // NVRTC before 11.2 cannot list its archs: assume it knows the device
        Assert.Equal([("cubin", "sm_86"), ("ptx", "compute_86")], NvrtcChoice.CompilePlan(86, null, canEmitCubin: true));
        // a Kepler (3.5) with NVRTC 12: nothing to compile for
        Assert.Empty(NvrtcChoice.CompilePlan(35, cuda124, canEmitCubin: true));
    }

    [Fact]
    public void ALibraryFoundByNameIsTracedToItsFile()
    {
        // NVRTC found by soname needs its folder (for libnvrtc-builtins): dladdr tells it; libc stands in for it here
        Assert.True(System.Runtime.InteropServices.NativeLibrary.TryLoad("libc.so.6", out var libc));
        var path = NativeLibraryFile.Of(System.Runtime.InteropServices.NativeLibrary.GetExport(libc, "malloc"));
        output.WriteLine(path ?? "null");
        Assert.NotNull(path);
        Assert.True(Path.IsPathRooted(path) && File.Exists(path), path);
        Assert.StartsWith("libc", Path.GetFileName(path), StringComparison.Ordinal);
        Assert.Null(NativeLibraryFile.Of(0));
    }

    [Fact]
    public void TheSearchReportNamesTheDriverItChoseFor()
    {
        var (_, report) = NvrtcNative.Probe("/nonexistent/serengine/libnvrtc.so.99", driverVersion: 12040);
        Assert.Contains("CUDA driver 12.4", report.Split('\n')[0], StringComparison.Ordinal);
        var (_, noDriver) = NvrtcNative.Probe("/nonexistent/serengine/libnvrtc.so.99", driverVersion: 0);
        Assert.Contains("no CUDA driver", noDriver.Split('\n')[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData(" true ", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("no", false)]
    public void CudaSyncSettingIsASwitch(string? value, bool on) => Assert.Equal(on, CudaBackend.IsOn(value));

    [Fact]
    public void LaunchErrorsNameTheKernelAndAsyncFaultsPointToCudaSync()
    {
        Assert.Equal("gemm.cl:gemm_naive grid (1, 2, 3) block (16, 16, 1)", CudaBackend.DescribeLaunch("gemm.cl", "gemm_naive", (1, 2, 3), (16, 16, 1)));
        Assert.Equal("gemm.cl:gemm_naive grid (1, 2, 4465) block (16, 16, 1) slice from group (0, 0, 65535)",
            CudaBackend.DescribeLaunch("gemm.cl", "gemm_naive", (1, 2, 4465), (16, 16, 1), (0, 65_535)));
        var illegalAddress = new CuException(700, "cuMemcpyDtoH_v2");
        Assert.Contains(CudaBackend.SyncEnvironmentVariable + "=1", illegalAddress.Message, StringComparison.Ordinal);
        Assert.Equal("", CuException.AsyncHint(700, $"{CudaBackend.SyncEnvironmentVariable}=1: the fault came from x.cl:k"));
        Assert.Equal("", CuException.AsyncHint(2)); // out of memory is not a kernel's fault
        Assert.Equal("", CuException.AsyncHint(701)); // too many resources: cuLaunchKernel says so itself
        Assert.NotEqual("", CuException.AsyncHint(719));
    }
}
