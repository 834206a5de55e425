using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// The GPU memory pool (GpuBufferPool under both GPU backends): bucket sizes, reuse without a driver
/// call, the cap, TrimPool, threads, and kernels still matching the CPU reference when every scratch
/// and output buffer comes back dirty from the pool. Counting tests use a private OpenCL backend.
/// </summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's conv2d variant and pollutes its pool
public class GpuMemoryPoolTests(ITestOutputHelper output)
{
    [Fact]
    public void BucketsHaveFourStepsPerDoublingAndWasteUnderAQuarter()
    {
        Assert.Equal(256, GpuBufferPool.BucketBytes(1));
        Assert.Equal(256, GpuBufferPool.BucketBytes(256));
        Assert.Equal(320, GpuBufferPool.BucketBytes(257));
        Assert.Equal(512, GpuBufferPool.BucketBytes(512));
        Assert.Equal(640, GpuBufferPool.BucketBytes(513));
        Assert.Equal(4096, GpuBufferPool.BucketBytes(4000));
        Assert.Equal(5L << 30, GpuBufferPool.BucketBytes((4L << 30) + 1));
        double worst = 0;
        for (long b = 257; b < 1 << 20; b += 13)
        {
            long bucket = GpuBufferPool.BucketBytes(b);
            Assert.True(bucket >= b && GpuBufferPool.BucketBytes(bucket) == bucket, $"{b} -> {bucket}");
            worst = Math.Max(worst, (bucket - b) / (double)b);
        }
        output.WriteLine($"worst rounding waste above 256 B: {worst:P1}");
        Assert.True(worst < 0.25, $"worst waste {worst:P1}");
    }

    [Fact]
    public void FakeDriverPoolReusesCapsAndTrims()
    {
        var driver = new FakeDriver();
        var pool = new GpuBufferPool(driver.Allocate, driver.Free, capacityBytes: 8192);
        ulong a = pool.Rent(4000, out long capA);
        Assert.Equal(4096, capA);
        pool.Return(a, capA);
        ulong b = pool.Rent(3990, out long capB); // same bucket: the parked buffer, no driver call
        Assert.Equal(a, b);
        Assert.Equal((1, 1, 1, 0), (pool.Stats.Hits, pool.Stats.DriverAllocations, driver.Live, pool.Stats.DriverFrees));
        var more = new[] { b, pool.Rent(4096, out _), pool.Rent(4096, out _) };
        foreach (ulong h in more) pool.Return(h, capB);
        Assert.Equal(8192, pool.Stats.PooledBytes); // the cap: the third free went to the driver
        Assert.Equal(1, pool.Stats.DriverFrees);
        pool.Trim();
        Assert.Equal((0L, 0, 3L), (pool.Stats.PooledBytes, driver.Live, pool.Stats.DriverFrees));
        pool.CapacityBytes = 0; // off: exact sizes, every free a driver free
        ulong c = pool.Rent(1000, out long capC);
        Assert.Equal(1000, capC);
        pool.Return(c, capC);
        Assert.Equal((0L, 0, 0L), (pool.Stats.PooledBytes, driver.Live, pool.Stats.InUseBytes));
    }

    [Fact]
    public void OutOfDeviceMemoryTrimsThePoolAndRetries()
    {
        var driver = new FakeDriver { LimitBytes = 8192 };
        var pool = new GpuBufferPool(driver.Allocate, driver.Free, capacityBytes: 1 << 20);
        pool.Return(pool.Rent(4096, out long cap), cap);
        pool.Return(pool.Rent(2048, out cap), cap);
        ulong big = pool.Rent(8192, out cap); // fits only once the parked 6 KiB go back
        Assert.NotEqual(0UL, big);
        Assert.Equal(0, pool.Stats.PooledBytes);
        Assert.Throws<InvalidOperationException>(() => pool.Rent(256, out _)); // full with nothing parked: the driver's error
    }

    [Fact]
    public void OpenClReusesAFreedBufferWithoutTheDriver()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        using var be = new OpenClBackend();
        be.PoolCapacityBytes = 1 << 20;
        var s0 = be.PoolStats;
        using (var x = be.Allocate(1000, DType.Float32)) be.Write(x, new float[1000]);
        Assert.Equal(0, be.LiveBytes);
        Assert.Equal(4096, be.PoolStats.PooledBytes);
        using (var y = be.Allocate(990, DType.Float32)) // 3960 bytes: the same 4096-byte bucket
        {
            Assert.Equal(3960, be.LiveBytes); // live bytes count the tensor, not its bucket
            Assert.Equal(4096, be.PoolStats.InUseBytes);
            Assert.Equal(0, be.PoolStats.PooledBytes);
        }
        var s1 = be.PoolStats;
        Assert.Equal(1, s1.DriverAllocations - s0.DriverAllocations);
        Assert.Equal(1, s1.Hits - s0.Hits);
        Assert.Equal(0, s1.DriverFrees - s0.DriverFrees);
        be.TrimPool();
        Assert.Equal(0, be.PoolStats.PooledBytes);
        Assert.Equal(1, be.PoolStats.DriverFrees - s0.DriverFrees);
        using (var z = be.Allocate(990, DType.Float32)) { } // after a trim: the driver again
        Assert.Equal(2, be.PoolStats.DriverAllocations - s0.DriverAllocations);
    }

    [Fact]
    public void OpenClHonoursTheCapAndTheOffSwitch()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        using var be = new OpenClBackend();
        be.PoolCapacityBytes = 3 * 4096;
        var buffers = Enumerable.Range(0, 5).Select(_ => be.Allocate(1024, DType.Float32)).ToList();
        var s0 = be.PoolStats;
        buffers.ForEach(b => b.Dispose());
        Assert.Equal(3 * 4096, be.PoolStats.PooledBytes);
        Assert.Equal(2, be.PoolStats.DriverFrees - s0.DriverFrees);
        be.PoolCapacityBytes = 4096; // lowering the cap frees down to it
        Assert.Equal(4096, be.PoolStats.PooledBytes);
        be.PoolCapacityBytes = 0;
        Assert.Equal(0, be.PoolStats.PooledBytes);
        var s1 = be.PoolStats;
        using (var x = be.Allocate(1000, DType.Float32)) Assert.Equal(4000, be.PoolStats.InUseBytes); // off: exact size
        Assert.Equal((1L, 1L), (be.PoolStats.DriverAllocations - s1.DriverAllocations, be.PoolStats.DriverFrees - s1.DriverFrees));
    }

    [Fact]
    public void OpenClPoolIsThreadSafe()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        using var be = new OpenClBackend();
        be.PoolCapacityBytes = 1 << 20;
        int[] sizes = [1, 64, 1000, 1024, 5000, 70000];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var rng = new Random(t);
            for (int i = 0; i < 150; i++)
            {
                int n = sizes[rng.Next(sizes.Length)];
                using var s = be.Allocate(n, DType.Float32);
                using var shared = be.Allocate(n, DType.Float32);
                shared.AddRef(); // two owners, as tensors sharing a storage: freed once, by the last
                float v = t * 1000 + i;
                var data = Enumerable.Repeat(v, n).ToArray();
                be.Write(s, data);
                be.Write(shared, data);
                shared.Dispose();
                var back = new float[n];
                be.Read(s, back);
                Assert.All(back, x => Assert.Equal(v, x));
                be.Read(shared, back);
                Assert.All(back, x => Assert.Equal(v, x));
                if (i % 50 == 49) be.TrimPool();
            }
        });
        var st = be.PoolStats;
        output.WriteLine(st.ToString());
        Assert.Equal(0, be.LiveBytes);
        Assert.Equal(0, st.InUseBytes);
        Assert.Equal(st.Requests, st.Hits + st.DriverAllocations);
        Assert.True(st.PooledBytes <= be.PoolCapacityBytes);
        Assert.True(st.Hits > st.DriverAllocations, st.ToString());
        be.TrimPool();
        Assert.Equal(be.PoolStats.DriverAllocations, be.PoolStats.DriverFrees); // every driver buffer went back once
    }

    [Fact]
    public void ReusedBuffersAreDirtyAndZerosStillFill()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        using var be = new OpenClBackend();
        be.PoolCapacityBytes = 1 << 20;
        using (var s = be.Allocate(300, DType.Float32)) be.Write(s, Enumerable.Repeat(float.NaN, 300).ToArray());
        using var zeros = Tensor.Zeros(new Shape(3, 100), be);
        Assert.Equal(1, be.PoolStats.Hits); // the NaN buffer came back
        Assert.All(zeros.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void SpectrogramTwiddlesAreUploadedOncePerSize()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        using var be = new OpenClBackend();
        const int nFft = 64, hop = 16, frames = 5, nFreq = nFft / 2 + 1;
        using var signal = KernelTwin.Of(be, KernelTwin.Normal((frames - 1) * hop + nFft, 11));
        using var window = KernelTwin.Of(be, Enumerable.Repeat(1f, nFft).ToArray());
        using var y = KernelTwin.Output(be, nFreq * frames);
        be.SpectrogramForward(signal.Gpu, window.Gpu, y.Gpu, nFft, hop, frames, nFreq, 2f);
        var (s0, live) = (be.PoolStats, be.LiveBytes);
        be.SpectrogramForward(signal.Gpu, window.Gpu, y.Gpu, nFft, hop, frames, nFreq, 2f);
        Assert.Equal(s0.Requests, be.PoolStats.Requests); // the device table is cached: no scratch buffer
        Assert.Equal(live, be.LiveBytes); // and it is not a live tensor
        KernelTwin.Reference.SpectrogramForward(signal.Cpu, window.Cpu, y.Cpu, nFft, hop, frames, nFreq, 2f);
        var want = y.CpuFloats();
        KernelTwin.AssertClose(want, y.GpuFloats(), 1e-3, 1e-3 * want.Max(Math.Abs), "spectrogram with the cached table");
    }

    [Fact]
    public void OpenClMatchesTheReferenceAfterHeavyReuse()
    {
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        var (savedVariant, savedShare) = (be.Conv2dVariant, be.Conv2dImplicitMinUsefulShare);
        be.Conv2dImplicitMinUsefulShare = 0; // the implicit-GEMM kernels (and split-K) even at this size
        try
        {
            for (int round = 0; round < 3; round++)
            {
                Poison(be); // every bucket up to 2 MiB holds a NaN-filled buffer
                var g = new Conv2dGeometry(3, 4, 12, 17, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
                using var x = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.C * g.H * g.W, 1 + round));
                using var dy = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.K * g.OutH * g.OutW, 2 + round));
                using var dw = KernelTwin.Output(be, g.K * g.C * g.R * g.S);
                cpu.Conv2dBackwardWeight(x.Cpu, dy.Cpu, dw.Cpu, g);
                foreach (var variant in GpuBackend.Conv2dVariants) // split-K partials, im2col columns
                {
                    be.Conv2dVariant = variant;
                    Poison(be);
                    be.Conv2dBackwardWeight(x.Gpu, dy.Gpu, dw.Gpu, g);
                    dw.AssertClose(1e-4, 1e-4, $"conv2d backward-weight {variant}, round {round}");
                }

                Poison(be);
                using var rows = KernelTwin.Of(be, KernelTwin.Normal(5000 * 7, 3 + round)); // [5000, 7]: two-pass partial sums
                using var sum = KernelTwin.Output(be, 7);
                be.SumTo(rows.Gpu, new Shape(5000, 7), sum.Gpu, new Shape(1, 7));
                cpu.SumTo(rows.Cpu, new Shape(5000, 7), sum.Cpu, new Shape(1, 7));
                sum.AssertClose(1e-4, 1e-3, $"sum over rows, round {round}");

                Poison(be);
                const int m = 33, n = 70, k = 129;
                using var a = KernelTwin.Of(be, KernelTwin.Normal(m * k, 4 + round));
                using var b = KernelTwin.Of(be, KernelTwin.Normal(k * n, 5 + round));
                using var c = KernelTwin.Output(be, m * n);
                be.Gemm(false, false, 1, m, n, k, 1f, a.Gpu, 0, b.Gpu, 0, 0f, c.Gpu, 0);
                cpu.Gemm(false, false, 1, m, n, k, 1f, a.Cpu, 0, b.Cpu, 0, 0f, c.Cpu, 0);
                c.AssertClose(1e-4, 1e-4, $"gemm, round {round}");

                Poison(be);
                const int nFft = 400, hop = 160, frames = 20, nFreq = nFft / 2 + 1;
                using var signal = KernelTwin.Of(be, KernelTwin.Normal((frames - 1) * hop + nFft, 6 + round, scale: 0.3f));
                using var window = KernelTwin.Of(be, Enumerable.Repeat(1f, nFft).ToArray());
                using var spec = KernelTwin.Output(be, nFreq * frames);
                be.SpectrogramForward(signal.Gpu, window.Gpu, spec.Gpu, nFft, hop, frames, nFreq, 2f);
                cpu.SpectrogramForward(signal.Cpu, window.Cpu, spec.Cpu, nFft, hop, frames, nFreq, 2f);
                var want = spec.CpuFloats();
                KernelTwin.AssertClose(want, spec.GpuFloats(), 1e-3, 1e-3 * want.Max(Math.Abs), $"spectrogram, round {round}");

                Poison(be);
                using var logits = KernelTwin.Of(be, KernelTwin.Normal(9 * 5, 7 + round));
                using var labels = KernelTwin.Of(be, [0, 1, 2, 3, 4, 0, 1, 2, 3]);
                using var loss = KernelTwin.Output(be, 9);
                using var probs = KernelTwin.Output(be, 9 * 5);
                be.CrossEntropyForward(logits.Gpu, labels.Gpu, loss.Gpu, probs.Gpu, 9, 5); // its error flag comes from the pool
                cpu.CrossEntropyForward(logits.Cpu, labels.Cpu, loss.Cpu, probs.Cpu, 9, 5);
                loss.AssertClose(1e-5, 1e-5, $"cross-entropy, round {round}");
            }
            output.WriteLine(be.PoolStats.ToString());
            if (be.PoolCapacityBytes > 0) Assert.True(be.PoolStats.Hits > 0); // SERENGINE_GPU_POOL_MB=0 runs it unpooled
        }
        finally
        {
            (be.Conv2dVariant, be.Conv2dImplicitMinUsefulShare) = (savedVariant, savedShare);
        }
    }

    [Fact]
    public void BenchProfileOnOpenClCountsAllocationsPerStep()
    {
        if (GpuTestDevices.OpenCl(output) is null) return;
        var gpu = (GpuBackend)BackendRegistry.Get("opencl"); // the backend 'ser bench' runs on
        string savedAdam = gpu.AdamVariant;
        gpu.AdamVariant = "multi_tensor"; // what a GPU runs (PoCL's default is per_tensor)
        try { ProfileFocusCalibrationNetStep(); }
        finally { gpu.AdamVariant = savedAdam; }
    }

    private void ProfileFocusCalibrationNetStep()
    {
        Assert.Equal("attention_fcn.train_step.b2.64x64", SerEngine.Bench.BenchCases.Find("attention_fcn.train_step.b2.64x64")?.Name);
        Assert.Null(SerEngine.Bench.BenchCases.Find("attention_fcn.train_step.b0.64x64"));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = SerEngine.Cli.CliApp.Run(["bench", "--profile", "--all-rows", "--backend", "opencl", "--case", "focus_calibration_net.train_step.b1.26x63"], stdout, stderr);
        output.WriteLine(stdout.ToString() + stderr);
        Assert.Equal(0, code);
        string text = stdout.ToString();
        Assert.Contains("focus_calibration_net.train_step.b1.26x63: ", text, StringComparison.Ordinal);
        Assert.Contains(" buffers requested, ", text, StringComparison.Ordinal);
        if (!text.Contains(", off)", StringComparison.Ordinal))
            Assert.Contains(" from the pool, 0 driver allocations, 0 driver frees", text, StringComparison.Ordinal); // steady state: every buffer reused

        // what a step costs the driver, and the same launch total in the per-primitive table
        var step = System.Text.RegularExpressions.Regex.Match(text, @"per step: (\d+) kernel launches, (\d+) memory commands \(copies, fills\), (\d+) uploads");
        Assert.True(step.Success, "no per-step command line");
        int launches = int.Parse(step.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(launches, 50, 400);
        Assert.Contains($"ms per step, {launches} kernel launches", text, StringComparison.Ordinal);
        Assert.Equal("1", step.Groups[3].Value); // the loss's error flag; no constant table is uploaded per step
        // the 42 parameter tensors in 6 launches of 8; the focus bias one launch each way
        Assert.Matches(@"6L  AdamStepMulti 42 tensors", text);
        Assert.Matches(@" 1L  FocusBiasForward \[60x15\]", text);
        Assert.Matches(@" 1L  FocusBiasBackward \[60x15\]", text);
    }

    [Fact]
    public void CommandStatsCountLaunchesCopiesAndTransfers()
    {
        if (GpuTestDevices.OpenCl(output) is not GpuBackend be) return;
        using var a = be.Allocate(1000, DType.Float32);
        using var b = be.Allocate(1000, DType.Float32);
        var before = be.CommandStats;
        be.Write(a, new float[1000]);                          // 1 upload of 4000 bytes
        be.Unary(UnaryOp.Relu, a, b, 1000, 0f);                // 1 launch
        be.CopyBlocks(a, 0, 1000, b, 0, 1000, 1000, 1);        // contiguous: 1 driver copy
        be.CopyBlocks(a, 0, 10, b, 0, 20, 5, 2);               // 2 blocks: 2 driver copies
        be.Read(b, new float[10]);                             // 1 download of 40 bytes
        var d = be.CommandStats - before;
        Assert.Equal(new GpuCommandStats(KernelLaunches: 1, MemoryCommands: 3, Uploads: 1, UploadBytes: 4000, Downloads: 1, DownloadBytes: 40), d);
    }

    /// <summary>Parks a NaN-filled buffer in every bucket from 1 element to 2 MiB.</summary>
    private static void Poison(Backend be)
    {
        var parked = new List<Storage>();
        for (long bytes = 4; bytes <= 2 << 20; bytes = Math.Max(bytes + 4, GpuBufferPool.BucketBytes(bytes + 4)))
        {
            int n = (int)(bytes / 4);
            var s = be.Allocate(n, DType.Float32);
            be.Fill(s, n, float.NaN);
            parked.Add(s);
        }
        parked.ForEach(s => s.Dispose());
    }

    /// <summary>A driver stand-in: numbered handles, live count, an optional byte limit.</summary>
    private sealed class FakeDriver
    {
        private readonly Dictionary<ulong, long> _live = [];
        private ulong _next = 1;

        public long LimitBytes { get; init; } = long.MaxValue;

        public int Live => _live.Count;

        public ulong Allocate(long bytes)
        {
            if (_live.Values.Sum() + bytes > LimitBytes) throw new InvalidOperationException("fake device full");
            _live[_next] = bytes;
            return _next++;
        }

        public void Free(ulong handle) => Assert.True(_live.Remove(handle), $"double free of {handle}");
    }
}
