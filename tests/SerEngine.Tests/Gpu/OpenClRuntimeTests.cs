using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Tests.Gpu;

[Collection(ProcessWideCollection.Name)] // asserts the shared backend's live bytes
public class OpenClRuntimeTests(ITestOutputHelper output)
{
    [Fact]
    public void DevicesAreListed()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var devices = ClDevice.List();
        Assert.NotEmpty(devices);
        foreach (var d in devices)
        {
            output.WriteLine(d.ToString());
            Assert.False(string.IsNullOrWhiteSpace(d.Name));
            Assert.StartsWith("OpenCL ", d.DeviceVersion, StringComparison.Ordinal);
            Assert.True(d.ComputeUnits > 0 && d.MaxWorkGroupSize > 0 && d.GlobalMemoryBytes > 0, d.ToString());
        }
        Assert.Contains(devices, d => d.Name == be.Device.Name);
        var listing = GpuBackends.ListDevices();
        output.WriteLine(listing);
        Assert.Contains(be.Device.Name, listing, StringComparison.Ordinal);
        Assert.Equal("opencl", be.Name);
    }

    [Fact]
    public void DeviceIsChosenByNameOrIndex()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        var devices = ClDevice.List();
        var last = devices[^1];
        var fragment = last.Name[..Math.Min(6, last.Name.Length)].ToUpperInvariant();
        var chosen = ClDevice.Select(fragment);
        Assert.Contains(fragment, chosen.Name, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(devices.First(d => d.Name.Contains(fragment, StringComparison.OrdinalIgnoreCase)).Index, chosen.Index);
        Assert.Equal(devices[^1].Index, ClDevice.Select((devices.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)).Index);
        var ex = Assert.Throws<BackendUnavailableException>(() => ClDevice.Select("no-such-device-xyz"));
        Assert.StartsWith("no OpenCL device:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-device-xyz", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("no OpenCL device:", Assert.Throws<BackendUnavailableException>(() => ClDevice.Select("99")).Message, StringComparison.Ordinal);

        using var named = new OpenClBackend(last.Name, diskCache: null);
        Assert.Equal(last.Name, named.Device.Name);
        using var x = named.Allocate(3, DType.Float32);
        named.Write(x, [1f, 2f, 3f]);
        var back = new float[3];
        named.Read(x, back);
        Assert.Equal([1f, 2f, 3f], back);
    }

    [Fact]
    public void BuffersRoundTrip()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var rng = new Random(3);
        long before = be.LiveBytes;
        foreach (int n in new[] { 0, 1, 7, 1000, 4099 })
        {
            var f = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var i = Enumerable.Range(0, n).Select(_ => rng.Next()).ToArray();
            using var sf = be.Allocate(n, DType.Float32);
            using var si = be.Allocate(n, DType.Int32);
            Assert.Equal(before + 8L * n, be.LiveBytes);
            be.Write(sf, f);
            be.Write(si, i);
            var f2 = new float[n];
            var i2 = new int[n];
            be.Read(sf, f2);
            be.Read(si, i2);
            Assert.Equal(f, f2);
            Assert.Equal(i, i2);
        }
        Assert.Equal(before, be.LiveBytes);
        using var small = be.Allocate(2, DType.Float32);
        Assert.Throws<ArgumentException>(() => be.Write(small, [1f, 2f, 3f]));
        Assert.Throws<InvalidOperationException>(() => be.Write(small, [1, 2]));
    }

    [Fact]
    public void FillSetsTheFirstNElements()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        foreach (var (length, n) in new[] { (1, 1), (5, 3), (257, 257), (1000, 999), (70000, 65537) })
        {
            using var y = be.Allocate(length, DType.Float32);
            be.Write(y, Enumerable.Repeat(-7f, length).ToArray());
            be.Fill(y, n, 2.5f);
            var back = new float[length];
            be.Read(y, back);
            for (int i = 0; i < length; i++) Assert.Equal(i < n ? 2.5f : -7f, back[i]);
        }
    }

    [Fact]
    public void CopyBlocksMatchesTheCpuReference()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var cpu = new CpuReferenceBackend();
        // (srcLen, srcOffset, srcStride, dstLen, dstOffset, dstStride, blockLength, count)
        (int, int, int, int, int, int, int, int)[] cases =
        [
            (10, 0, 0, 10, 0, 0, 10, 1),        // whole-buffer copy as Tensor.Clone does it
            (30, 0, 3, 30, 0, 3, 3, 10),        // back to back on both sides
            (50, 1, 7, 40, 2, 5, 3, 3),         // few blocks: one copy per block
            (410, 3, 11, 300, 1, 7, 5, 37),     // many odd blocks: copy_blocks kernel
            (13, 4, 0, 200, 0, 9, 9, 21),       // stride 0: one source block repeated
            (1000, 0, 1, 1010, 5, 3, 1, 333),   // single elements gathered
            (2000, 17, 29, 3000, 3, 31, 27, 61),
        ];
        foreach (var dtype in new[] { DType.Float32, DType.Int32 })
        {
            foreach (var (sl, so, ss, dl, dOff, ds, bl, cnt) in cases)
            {
                var s = Fill(be, cpu, sl, dtype, seed: sl);
                var d = Fill(be, cpu, dl, dtype, seed: dl + 1);
                be.CopyBlocks(s.Gpu, so, ss, d.Gpu, dOff, ds, bl, cnt);
                cpu.CopyBlocks(s.Cpu, so, ss, d.Cpu, dOff, ds, bl, cnt);
                AssertSame(be, cpu, d.Gpu, d.Cpu, $"{dtype} case ({sl}, {so}, {ss}, {dl}, {dOff}, {ds}, {bl}, {cnt})");
                s.Gpu.Dispose();
                d.Gpu.Dispose();
            }
        }
        // overlapping ranges in one buffer (shift right by 2 inside the same storage)
        var one = Fill(be, cpu, 100, DType.Float32, seed: 9);
        be.CopyBlocks(one.Gpu, 0, 10, one.Gpu, 2, 10, 8, 10);
        cpu.CopyBlocks(one.Cpu, 0, 10, one.Cpu, 2, 10, 8, 10);
        AssertSame(be, cpu, one.Gpu, one.Cpu, "overlapping copy");
        one.Gpu.Dispose();

        using var a = be.Allocate(10, DType.Float32);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => be.CopyBlocks(a, 0, 4, a, 0, 4, 4, 3));
        Assert.Contains("outside a buffer of 10", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForeignBuffersFailLoudly()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var cpu = BackendRegistry.Get("cpu");
        using var hostBuf = cpu.Allocate(4, DType.Float32);
        using var devBuf = be.Allocate(4, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => be.CopyBlocks(hostBuf, 0, 4, devBuf, 0, 4, 4, 1));
        Assert.Contains("belongs to backend 'cpu'", ex.Message, StringComparison.Ordinal);
        var kernelEx = Assert.Throws<ArgumentException>(() => be.Unary(UnaryOp.Relu, hostBuf, devBuf, 4, 0f));
        Assert.Contains("belongs to backend 'cpu'", kernelEx.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildErrorCarriesFileNameAndBuildLog()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var cache = new ClProgramCache(be, diskCache: null);
        var src = KernelSource.FromText("broken_on_purpose.cl",
            "KERNEL void broken(GLOBAL float* y)\n{\n    y[GID(0)] = undefined_symbol_xyz;\n}\n", KernelDialect.OpenCl);
        var ex = Assert.Throws<KernelCompileException>(() => cache.Get(src));
        output.WriteLine(ex.Message);
        Assert.Contains("broken_on_purpose.cl", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CL_BUILD_PROGRAM_FAILURE", ex.Message, StringComparison.Ordinal);
        Assert.Contains("undefined_symbol_xyz", ex.BuildLog, StringComparison.Ordinal);
        Assert.Contains(ex.BuildLog, ex.Message, StringComparison.Ordinal);
        Assert.Contains("broken_on_purpose.cl:3", ex.BuildLog, StringComparison.Ordinal); // #line maps to the file's own line
        Assert.Equal(0, cache.Builds);
    }

    [Fact]
    public void DiskCacheIsWrittenAndHitByASecondCache()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var dir = Path.Combine(Path.GetTempPath(), "serengine-cl-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            // A unique comment makes the source new to every cache, so the first build really compiles.
            var body = $"// {Guid.NewGuid()}\n" + KernelSource.ReadFile("memory.cl");
            var src = KernelSource.FromText("memory.cl", body, KernelDialect.OpenCl);

            var first = new ClProgramCache(be, new KernelDiskCache(dir));
            var p1 = first.Get(src, "-DUNUSED_TILE=4");
            Assert.Same(p1, first.Get(src, "-DUNUSED_TILE=4"));            // once per process per device
            Assert.Equal((1, 0, 1), (first.Builds, first.DiskLoads, first.DiskCache!.Writes));
            var files = Directory.GetFiles(dir);
            Assert.Equal([first.DiskCache.EntryPath(first.CacheKey(src, "-DUNUSED_TILE=4"), "clbin")], files);
            Assert.True(new FileInfo(files[0]).Length > 0);

            var second = new ClProgramCache(be, new KernelDiskCache(dir));
            var p2 = second.Get(src, "-DUNUSED_TILE=4");
            Assert.Equal((0, 1, 1), (second.Builds, second.DiskLoads, second.DiskCache!.Hits));
            Assert.True(p2.FromDiskCache);
            CheckFillWorks(be, p2);

            // other options are another entry
            second.Get(src, "-DUNUSED_TILE=8");
            Assert.Equal(2, Directory.GetFiles(dir).Length);

            // a corrupt entry is rejected, rebuilt from source and replaced
            File.WriteAllBytes(files[0], [1, 2, 3, 4]);
            var third = new ClProgramCache(be, new KernelDiskCache(dir));
            var p3 = third.Get(src, "-DUNUSED_TILE=4");
            Assert.Equal((1, 0), (third.Builds, third.DiskLoads));
            Assert.True(new FileInfo(files[0]).Length > 4);
            CheckFillWorks(be, p3);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
            first.Dispose();
            second.Dispose();
            third.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ProfilingReportsTheLastKernel()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        using var profiled = new OpenClBackend(be.Device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), diskCache: KernelDiskCache.FromEnvironment());
        profiled.ProfileKernels = true;
        Assert.Null(profiled.LastKernel);
        Assert.Equal(0, profiled.ProfiledLaunches);
        using var y = profiled.Allocate(100_000, DType.Float32);
        profiled.Fill(y, 100_000, 1f);
        profiled.Fill(y, 100_000, 1f);                                      // the same launch twice: counted twice
        Assert.Equal(2, profiled.ProfiledLaunches);
        var t = profiled.LastKernel;
        Assert.NotNull(t);
        Assert.Equal("fill", t.Value.Kernel);
        Assert.True(t.Value.Milliseconds is > 0 and < 10_000, $"{t.Value.Milliseconds} ms");
        output.WriteLine($"fill of 100000 floats: {t.Value.Milliseconds:F3} ms");
        using var z = profiled.Allocate(100_000, DType.Float32);
        profiled.CopyBlocks(y, 0, 10, z, 0, 10, 5, 10_000);                 // many blocks: the kernel
        Assert.Equal("copy_blocks", profiled.LastKernel?.Kernel);
        profiled.Fill(z, 10, 0f);
        profiled.CopyBlocks(y, 0, 10, z, 0, 10, 5, OpenClBackend.SmallCopyBlockCount); // few blocks: clEnqueueCopyBuffer, no kernel
        Assert.Equal("fill", profiled.LastKernel?.Kernel);
    }

    private static void CheckFillWorks(OpenClBackend be, ClProgram program)
    {
        using var y = be.Allocate(5, DType.Float32);
        be.Launch(program, "fill", [5], [], [y, 5, 4.25f]);
        var back = new float[5];
        be.Read(y, back);
        Assert.All(back, v => Assert.Equal(4.25f, v));
    }

    private static (Storage Gpu, Storage Cpu) Fill(Backend gpu, Backend cpu, int n, DType dtype, int seed)
    {
        var rng = new Random(seed);
        var g = gpu.Allocate(n, dtype);
        var c = cpu.Allocate(n, dtype);
        if (dtype == DType.Float32)
        {
            var v = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
            gpu.Write(g, v);
            cpu.Write(c, v);
        }
        else
        {
            var v = Enumerable.Range(0, n).Select(_ => rng.Next()).ToArray();
            gpu.Write(g, v);
            cpu.Write(c, v);
        }
        return (g, c);
    }

    private static void AssertSame(Backend gpu, Backend cpu, Storage g, Storage c, string what)
    {
        if (g.DType == DType.Float32)
        {
            var a = new float[g.Length];
            var b = new float[c.Length];
            gpu.Read(g, a);
            cpu.Read(c, b);
            Assert.True(a.SequenceEqual(b), what);
        }
        else
        {
            var a = new int[g.Length];
            var b = new int[c.Length];
            gpu.Read(g, a);
            cpu.Read(c, b);
            Assert.True(a.SequenceEqual(b), what);
        }
    }
}
