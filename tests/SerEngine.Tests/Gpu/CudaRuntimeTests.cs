using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Cuda;

namespace SerEngine.Tests.Gpu;

[Collection(ProcessWideCollection.Name)] // asserts the shared backend's live bytes
public class CudaRuntimeTests(ITestOutputHelper output)
{
    [Fact]
    public void BackendIsUnavailableWithoutADevice()
    {
        if (CuDevice.TryInitialize(out var reason))
        {
            var be = GpuTestDevices.Cuda(output)!;
            Assert.Equal("cuda", be.Name);
            Assert.Contains(be.Device.Name, GpuBackends.ListDevices(), StringComparison.Ordinal);
            output.WriteLine(GpuBackends.ListDevices());
            return;
        }
        output.WriteLine($"no CUDA device here: {reason}");
        var ex = Assert.Throws<BackendUnavailableException>(() => new CudaBackend());
        Assert.StartsWith("no CUDA device:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("no CUDA device:", Assert.Throws<BackendUnavailableException>(CuDevice.List).Message, StringComparison.Ordinal);

        GpuBackends.Register();
        Assert.Contains("cuda", BackendRegistry.Names);
        var viaRegistry = Assert.Throws<BackendUnavailableException>(() => BackendRegistry.Get("cuda"));
        Assert.StartsWith("no CUDA device:", viaRegistry.Message, StringComparison.Ordinal);
        Assert.Contains("none: " + reason, GpuBackends.ListDevices(), StringComparison.Ordinal);
    }

    [Fact]
    public void NvrtcSearchReportsWhereItLooked()
    {
        var (lib, report) = NvrtcNative.Probe("/nonexistent/serengine/libnvrtc.so.99");
        output.WriteLine(report);
        var lines = report.Split('\n');
        Assert.Equal("  /nonexistent/serengine/libnvrtc.so.99: not found", lines[1]); // the explicit path comes first
        Assert.Contains("libnvrtc.so.12", report, StringComparison.Ordinal);
        Assert.Contains("libnvrtc.so.13", report, StringComparison.Ordinal);
        if (lib is null)
        {
            Assert.Contains("/usr/local/cuda*/lib64", report, StringComparison.Ordinal);
            Assert.Contains("cuda_nvrtc/lib", report, StringComparison.Ordinal);
            Assert.Null(NvrtcNative.Instance);
        }
        else
        {
            Assert.True(lib.Version.Major >= 11, lib.Version.ToString());
        }
        var patterns = NvrtcSearch.FolderPatterns();
        Assert.Contains("/usr/local/cuda*/targets/x86_64-linux/lib", patterns);
        Assert.Contains("/usr/local/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib", patterns);
        Assert.Contains("/usr/lib/python3*/dist-packages/nvidia/cu13/lib", patterns);
    }

    [Fact]
    public void SearchPatternsExpandWildcardFolders()
    {
        var root = Path.Combine(Path.GetTempPath(), "serengine-glob-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "python3.11/site-packages/nvidia/cuda_nvrtc/lib"));
            Directory.CreateDirectory(Path.Combine(root, "python3.12/site-packages/nvidia/cuda_nvrtc/lib"));
            Directory.CreateDirectory(Path.Combine(root, "python3.12/site-packages/other"));
            Directory.CreateDirectory(Path.Combine(root, "ruby/site-packages/nvidia/cuda_nvrtc/lib"));
            var found = NvrtcSearch.ExpandPattern(root + "/python3*/site-packages/nvidia/cuda_nvrtc/lib").ToList();
            Assert.Equal(
                [Path.Combine(root, "python3.11/site-packages/nvidia/cuda_nvrtc/lib"), Path.Combine(root, "python3.12/site-packages/nvidia/cuda_nvrtc/lib")],
                found);
            Assert.Empty(NvrtcSearch.ExpandPattern(root + "/python4*/lib"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void CudaPreludeAndMemoryKernelsCompileToPtx()
    {
        var src = KernelSource.Load("memory.cl", KernelDialect.Cuda);
        Assert.Contains("#define CUDA 1", src.Text, StringComparison.Ordinal);
        Assert.Contains("#define KERNEL extern \"C\" __global__", src.Text, StringComparison.Ordinal);
        Assert.Contains("#line 1 \"memory.cl\"", src.Text, StringComparison.Ordinal);
        if (NvrtcNative.Instance is null)
        {
            output.WriteLine($"SKIPPED (returned early): NVRTC not found, PTX not compiled.\n{NvrtcNative.SearchReport}");
            return;
        }
        var ptx = CuModuleCache.CompileToPtx(src);
        Assert.Contains(".entry fill(", ptx, StringComparison.Ordinal);
        Assert.Contains(".entry copy_blocks(", ptx, StringComparison.Ordinal);

        var broken = KernelSource.FromText("broken_on_purpose.cl", "KERNEL void broken(GLOBAL float* y)\n{\n    y[GID(0)] = undefined_symbol_xyz;\n}\n", KernelDialect.Cuda);
        var ex = Assert.Throws<KernelCompileException>(() => CuModuleCache.CompileToPtx(broken));
        Assert.Contains("broken_on_purpose.cl", ex.Message, StringComparison.Ordinal);
        Assert.Contains("undefined_symbol_xyz", ex.BuildLog, StringComparison.Ordinal);
        Assert.Contains("NVRTC_ERROR_COMPILATION", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuffersRoundTripAndFill()
    {
        if (GpuTestDevices.Cuda(output) is not { } be) return;
        var rng = new Random(5);
        long before = be.LiveBytes;
        foreach (int n in new[] { 0, 1, 7, 1000, 4099 })
        {
            var f = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var i = Enumerable.Range(0, n).Select(_ => rng.Next()).ToArray();
            using var sf = be.Allocate(n, DType.Float32);
            using var si = be.Allocate(n, DType.Int32);
            be.Write(sf, f);
            be.Write(si, i);
            var f2 = new float[n];
            var i2 = new int[n];
            be.Read(sf, f2);
            be.Read(si, i2);
            Assert.Equal(f, f2);
            Assert.Equal(i, i2);
            if (n == 0) continue;
            be.Fill(sf, n - 1, -3.5f);
            be.Read(sf, f2);
            for (int k = 0; k < n; k++) Assert.Equal(k < n - 1 ? -3.5f : f[k], f2[k]);
        }
        Assert.Equal(before, be.LiveBytes);
    }

    [Fact]
    public void CopyBlocksMatchesTheCpuReference()
    {
        if (GpuTestDevices.Cuda(output) is not { } be) return;
        var cpu = new CpuReferenceBackend();
        (int, int, int, int, int, int, int, int)[] cases =
        [
            (10, 0, 0, 10, 0, 0, 10, 1),
            (30, 0, 3, 30, 0, 3, 3, 10),
            (50, 1, 7, 40, 2, 5, 3, 3),
            (410, 3, 11, 300, 1, 7, 5, 37),
            (13, 4, 0, 200, 0, 9, 9, 21),
            (2000, 17, 29, 3000, 3, 31, 27, 61),
        ];
        foreach (var (sl, so, ss, dl, dOff, ds, bl, cnt) in cases)
        {
            var sv = Enumerable.Range(0, sl).Select(k => (float)k + 0.25f).ToArray();
            var dv = Enumerable.Range(0, dl).Select(k => -(float)k).ToArray();
            using var sg = be.Allocate(sl, DType.Float32);
            using var dg = be.Allocate(dl, DType.Float32);
            be.Write(sg, sv);
            be.Write(dg, dv);
            var sc = cpu.Allocate(sl, DType.Float32);
            var dc = cpu.Allocate(dl, DType.Float32);
            cpu.Write(sc, sv);
            cpu.Write(dc, dv);
            be.CopyBlocks(sg, so, ss, dg, dOff, ds, bl, cnt);
            cpu.CopyBlocks(sc, so, ss, dc, dOff, ds, bl, cnt);
            var got = new float[dl];
            var want = new float[dl];
            be.Read(dg, got);
            cpu.Read(dc, want);
            Assert.True(got.SequenceEqual(want), $"case ({sl}, {so}, {ss}, {dl}, {dOff}, {ds}, {bl}, {cnt})");
        }
        if (NvrtcNative.Instance is not null)
        {
            be.ProfileKernels = true;
            using var a = be.Allocate(4000, DType.Float32);
            using var b = be.Allocate(4000, DType.Float32);
            be.CopyBlocks(a, 0, 40, b, 0, 40, 33, 100);
            be.ProfileKernels = false;
            Assert.Equal("copy_blocks", be.LastKernel?.Kernel);
            output.WriteLine($"copy_blocks: {be.LastKernel?.Milliseconds:F4} ms on {be.DeviceName}");
        }
    }
}
