using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Benchmarks.Lab;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// The kernel lab (benchmarks/SerEngine.Benchmarks/Lab) in quick mode: on OpenCL every GEMM and SumTo
/// variant must validate and then be timed; on the CPU a deliberately broken op must be reported FAIL
/// (wrong values, a missed element, a write past the end) and left untimed. Keeps the lab from rotting.
/// </summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's kernel variants
public class KernelLabTests(ITestOutputHelper output)
{
    [Fact]
    public void QuickLabValidatesAndTimesEveryGemmAndSumToVariantOnOpenCl()
    {
        if (GpuTestDevices.OpenCl(output) is not { } gpu) return;
        string savedGemm = gpu.GemmVariant;
        var text = new StringWriter();
        var report = KernelLab.Run(gpu, [KernelLab.Find("gemm"), KernelLab.Find("sumto")], new LabOptions { Quick = true }, text);
        output.WriteLine(text.ToString());

        Assert.Equal([.. GpuBackend.GemmVariants, "sum_rows", "sum_to_group", "sum_to_naive"], report.Variants.Select(v => v.Variant));
        foreach (var v in report.Variants)
        {
            Assert.True(v.Passed, $"{v.Op}/{v.Variant}: {v.FailedChecks} of {v.Checks} checks and {v.FailedTimings} timings failed");
            Assert.True(v.Checks >= 4, $"{v.Op}/{v.Variant}: only {v.Checks} checks");
            Assert.True(v.Timed >= 1, $"{v.Op}/{v.Variant} was not timed");
        }
        Assert.True(report.AllPassed);
        foreach (var row in report.Rows.Where(r => r.Step == LabStep.Time))
            Assert.True(row.Milliseconds > 0 && double.IsFinite(row.Rate!.Value) && row.Rate > 0, $"{row.Op}/{row.Variant} {row.Case}: {row.Milliseconds} ms, {row.Rate}");
        Assert.Equal(savedGemm, gpu.GemmVariant); // the lab restores the backend's choice
        int variants = GpuBackend.GemmVariants.Count + 3;
        Assert.Contains($"{variants} variants: {variants} PASS, 0 FAIL", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void QuickLabValidatesAndTimesEverySpectrogramVariantOnOpenCl()
    {
        if (GpuTestDevices.OpenCl(output) is not { } gpu) return;
        string saved = gpu.SpectrogramVariant;
        var text = new StringWriter();
        var report = KernelLab.Run(gpu, [KernelLab.Find("spectrogram")], new LabOptions { Quick = true }, text);
        output.WriteLine(text.ToString());
        Assert.Equal(GpuBackend.SpectrogramVariants, report.Variants.Select(v => v.Variant));
        foreach (var v in report.Variants)
            Assert.True(v.Passed && v.Checks >= 4 && v.Timed >= 1, $"{v.Op}/{v.Variant}: {v.FailedChecks} of {v.Checks} checks failed, {v.Timed} timed");
        Assert.Equal(saved, gpu.SpectrogramVariant); // the lab restores the backend's choice
    }

    [Fact]
    public void QuickLabValidatesAndTimesEveryMelFeaturesVariantOnOpenCl()
    {
        if (GpuTestDevices.OpenCl(output) is not { } gpu) return;
        (string savedMel, string savedSpec) = (gpu.MelFeaturesVariant, gpu.SpectrogramVariant);
        var text = new StringWriter();
        var report = KernelLab.Run(gpu, [KernelLab.Find("melfeatures")], new LabOptions { Quick = true }, text);
        output.WriteLine(text.ToString());
        Assert.Equal(["composed+tiled", "composed", "fused"], report.Variants.Select(v => v.Variant));
        foreach (var v in report.Variants)
            Assert.True(v.Passed && v.Checks >= 3 && v.Timed >= 1, $"{v.Op}/{v.Variant}: {v.FailedChecks} of {v.Checks} checks failed, {v.Timed} timed");
        Assert.Equal((savedMel, savedSpec), (gpu.MelFeaturesVariant, gpu.SpectrogramVariant)); // the lab restores the backend's choices
    }

    [Fact]
    public void QuickLabValidatesEverySoftmaxVariantTheDeviceHasAndSkipsTheRest()
    {
        if (GpuTestDevices.OpenCl(output) is not { } gpu) return;
        string saved = gpu.SoftmaxVariant;
        var text = new StringWriter();
        var report = KernelLab.Run(gpu, [KernelLab.Find("softmax")], new LabOptions { Quick = true }, text);
        output.WriteLine(text.ToString());
        var runs = GpuBackend.SoftmaxVariants.Where(v => v != "subgroup" || gpu.HasSubgroups);
        Assert.Equal(runs, report.Variants.Select(v => v.Variant));
        foreach (var v in report.Variants)
            Assert.True(v.Passed && v.Checks >= 4 && v.Timed >= 1, $"{v.Op}/{v.Variant}: {v.FailedChecks} of {v.Checks} checks failed, {v.Timed} timed");
        if (!gpu.HasSubgroups)
            Assert.Contains(text.ToString().Split('\n'), l => l.Contains(" subgroup ", StringComparison.Ordinal)
                && l.Contains(" skip   not run on this device: no subgroups", StringComparison.Ordinal));
        Assert.Equal(saved, gpu.SoftmaxVariant); // the lab restores the backend's choice
    }

    [Fact]
    public void ABrokenVariantFailsItsChecksAndIsNotTimed()
    {
        var cpu = BackendRegistry.Get("cpu");
        var text = new StringWriter();
        var report = KernelLab.Run(cpu, [new BrokenScaleLab()], new LabOptions { Quick = true }, text);
        output.WriteLine(text.ToString());

        var good = report.Variants.Single(v => v.Variant == "cpu/good");
        Assert.True(good.Passed);
        Assert.Equal(1, good.Timed);
        var bad = report.Variants.Single(v => v.Variant == "cpu/broken");
        Assert.False(bad.Passed);
        Assert.Equal(3, bad.FailedChecks);
        Assert.Equal(0, bad.Timed);
        Assert.False(report.AllPassed);

        var checks = report.Rows.Where(r => r.Variant == "cpu/broken" && r.Step == LabStep.Check).ToDictionary(r => r.Case);
        Assert.Contains("rel err", checks["wrong scale"].Detail, StringComparison.Ordinal);
        Assert.InRange(checks["wrong scale"].MaxRelError!.Value, 1e-3, 1e-1);
        Assert.Contains("element 40 of 41 is NaN", checks["misses the last element"].Detail, StringComparison.Ordinal);
        Assert.Contains("wrote past its end", checks["writes one past the end"].Detail, StringComparison.Ordinal);
        Assert.Contains(report.Rows, r => r.Variant == "cpu/broken" && r.Step == LabStep.Time && r.Milliseconds is null && r.Detail == "validation failed");
        Assert.Contains("FAIL lab-test/cpu/broken", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheCommandLineRejectsAnUnknownOpAndBackend()
    {
        var text = new StringWriter();
        Assert.Equal(2, KernelLabCommand.Run(["--op", "gemm,nope"], text));
        Assert.Contains("unknown lab op 'nope'", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, KernelLabCommand.Run(["--backend", "tpu", "--op", "gemm"], text));
        Assert.Contains("unknown backend 'tpu'", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, KernelLabCommand.Run(["--runs", "3"], text)); // the median is of at least 7 runs
    }

    [Fact]
    public void JsonlWritesOneLinePerTimedCaseAndRefusesAMissingFolder()
    {
        string dir = Directory.CreateTempSubdirectory("serengine-lab-").FullName;
        try
        {
            string path = Path.Combine(dir, "lab-cpu.jsonl");
            var text = new StringWriter();
            Assert.Equal(0, KernelLabCommand.Run(["--backend", "cpu", "--op", "sumto", "--quick", "--jsonl", path], text));
            output.WriteLine(text.ToString());
            var lines = File.ReadAllLines(path);
            var timedRows = text.ToString().Split('\n').Count(l => l.StartsWith("sumto", StringComparison.Ordinal) && l.Contains(" time ", StringComparison.Ordinal));
            Assert.Equal(timedRows, lines.Length);
            Assert.True(lines.Length >= 3, $"{lines.Length} lines");
            foreach (string line in lines)
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                var e = doc.RootElement;
                Assert.Equal("lab", e.GetProperty("kind").GetString());
                Assert.Equal("cpu", e.GetProperty("backend").GetString());
                Assert.Equal("sumto", e.GetProperty("op").GetString());
                Assert.Equal("GB/s", e.GetProperty("unit").GetString());
                Assert.True(e.GetProperty("passed").GetBoolean());
                Assert.True(e.GetProperty("ms").GetDouble() > 0 && e.GetProperty("rate").GetDouble() > 0, line);
            }
            Assert.False(File.Exists(path + ".tmp"));

            string missing = Path.Combine(dir, "no-such-folder", "x.jsonl");
            Assert.Equal(2, KernelLabCommand.Run(["--backend", "cpu", "--op", "sumto", "--jsonl", missing], text));
            Assert.Contains("does not exist", text.ToString(), StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>y = 2·x, right on the reference; the broken variant's cases go wrong on any other backend.</summary>
    private sealed class BrokenScaleLab : LabOp
    {
        public override string Name => "lab-test";

        public override IReadOnlyList<LabVariant> Variants(bool quick) =>
        [
            new LabVariant("good", [Case("exact", (_, n) => (2f, n))], [Case("exact", (_, n) => (2f, n))]),
            new LabVariant("broken",
                [
                    Case("wrong scale", (b, n) => (b.Name == "cpu-reference" ? 2f : 2.01f, n)),
                    Case("misses the last element", (b, n) => (2f, b.Name == "cpu-reference" ? n : n - 1)),
                    Case("writes one past the end", (b, n) => (2f, b.Name == "cpu-reference" ? n : n + 1)),
                ],
                [Case("never timed", (_, n) => (2f, n))]),
        ];

        private static LabCase Case(string name, Func<Backend, int, (float Alpha, int Count)> how)
        {
            const int n = 41;
            return new LabCase(name, [LabBuffer.Normal("x", n + 1, 3, 1f, 10f), LabBuffer.Output("y", n, 1e-6)], (b, s) =>
            {
                var (alpha, count) = how(b, n);
                b.Unary(UnaryOp.Scale, s["x"], s["y"], count, alpha);
            });
        }
    }
}
