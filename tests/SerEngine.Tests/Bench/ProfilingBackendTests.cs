using System.Reflection;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Bench;
using SerEngine.Tests.Gpu;

namespace SerEngine.Tests.Bench;

/// <summary>
/// <c>ser bench --profile</c>'s backend: a decorator over any backend that times every primitive
/// (none may be left out), computes exactly what the inner backend computes, and names the conv2d
/// path of every conv2d row on <c>cpu</c> (<c>path=NAME</c>).
/// </summary>
public class ProfilingBackendTests(ITestOutputHelper output)
{
    private const BindingFlags Members = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    /// <summary>Every abstract or virtual member declared by <see cref="Backend"/> (properties as their getters).</summary>
    private static List<MethodInfo> BackendPrimitives() =>
        [.. typeof(Backend).GetMethods(Members)
            .Where(m => (m.IsAbstract || m.IsVirtual) && !m.IsFinal && m.GetBaseDefinition().DeclaringType == typeof(Backend))];

    [Fact]
    public void EveryAbstractAndVirtualPrimitiveOfBackendIsOverriddenByTheProfiler()
    {
        // a primitive added to Backend without a forwarding override here would run unprofiled
        // (a virtual one silently through Backend's default): this fails CI until the profiler has it
        var primitives = BackendPrimitives();
        Assert.True(primitives.Count >= 40, $"only {primitives.Count} primitives found: the reflection query is off");
        var missing = primitives
            .Where(m => typeof(ProfilingBackend).GetMethod(m.Name, Members, [.. m.GetParameters().Select(p => p.ParameterType)])?.DeclaringType != typeof(ProfilingBackend))
            .Select(m => m.ToString())
            .ToList();
        Assert.True(missing.Count == 0, "ProfilingBackend does not override: " + string.Join("; ", missing));
    }

    [Fact]
    public void Conv2dRowsNameTheirPath()
    {
        var cpu = new CpuBackend(1);
        var p = new ProfilingBackend(cpu);
        var g = new Conv2dGeometry(2, 1, 26, 63, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1); // FocusCalibrationNet's conv1a
        Storage Zeros(int n)
        {
            var s = p.Allocate(n, DType.Float32);
            p.Fill(s, n, 0.5f);
            return s;
        }
        Storage x = Zeros(g.N * g.C * g.H * g.W), w = Zeros(g.K * g.C * g.R * g.S), y = Zeros(g.N * g.K * g.OutH * g.OutW);
        for (int i = 0; i < 2; i++)
        {
            p.Reset(); // the second round only: no compile times
            p.Conv2dForward(x, w, null, y, g);
            p.Conv2dBackwardInput(y, w, x, g);
            p.Conv2dBackwardWeight(x, y, w, g);
        }
        var report = new StringWriter();
        p.Report(report, 1, minShare: 0); // every row: under load one preempted call can push the others below the 0.5 % cut
        string text = report.ToString(), shape = "x[2,1,26,63] w[8,1,10,2] s1";
        foreach (var (row, pass) in new[] { ("Conv2dForward", Conv2dPass.Forward), ("Conv2dBackwardInput", Conv2dPass.BackwardInput), ("Conv2dBackwardWeight", Conv2dPass.BackwardWeight) })
            Assert.Contains($"{row} {shape} path={Conv2dPathNames.Of(cpu.ChooseConv2dPath(pass, g))}", text);
        foreach (var s in new[] { x, w, y }) s.Dispose();
        Assert.Equal(0, p.LiveBytes);
        Assert.Equal(0, cpu.LiveBytes); // releasing a profiled buffer releases the inner one
    }

    [Fact]
    public void WinogradRowsNameTheirLargeTiles()
    {
        var cpu = new CpuBackend(2);
        var p = new ProfilingBackend(cpu);
        var g = new Conv2dGeometry(2, 64, 24, 36, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1); // AttentionFcn's conv2, two images
        Assert.Equal(Conv2dPath.WinogradF25, cpu.ChooseConv2dPath(Conv2dPass.Forward, g));
        Assert.Equal(4, cpu.Conv2dWinogradTile(Conv2dPass.Forward, g));        // F(4×4, 5×5)
        Assert.Equal(2, cpu.Conv2dWinogradTile(Conv2dPass.BackwardInput, g));  // the adjoint keeps F(2×2, 5×5)
        Assert.Equal(4, cpu.Conv2dWinogradTile(Conv2dPass.BackwardWeight, g)); // F(4×4, 5×5) from 64 input channels
        Assert.Equal(0, cpu.Conv2dWinogradTile(Conv2dPass.Forward, new Conv2dGeometry(2, 1, 26, 63, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1))); // not Winograd
        Storage Zeros(int n)
        {
            var s = p.Allocate(n, DType.Float32);
            p.Fill(s, n, 0.5f);
            return s;
        }
        Storage x = Zeros(g.N * g.C * g.H * g.W), w = Zeros(g.K * g.C * g.R * g.S), y = Zeros(g.N * g.K * g.OutH * g.OutW);
        p.Conv2dForward(x, w, null, y, g);
        p.Conv2dBackwardInput(y, w, x, g);
        p.Conv2dBackwardWeight(x, y, w, g);
        var report = new StringWriter();
        p.Report(report, 1, minShare: 0);
        string text = report.ToString(), shape = "x[2,64,24,36] w[192,64,5,5] s1";
        Assert.Contains($"Conv2dForward {shape} path=winograd-f25 tile=4x4", text);
        Assert.Contains($"Conv2dBackwardInput {shape} path=winograd-f25", text);
        Assert.DoesNotContain($"Conv2dBackwardInput {shape} path=winograd-f25 tile", text);
        Assert.Contains($"Conv2dBackwardWeight {shape} path=winograd-f25 tile=4x4", text);
        foreach (var s in new[] { x, w, y }) s.Dispose();
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cpu-reference")]
    public void AProfiledTrainingStepComputesWhatTheInnerBackendComputes(string backendName)
    {
        var inner = BackendRegistry.Get(backendName);
        float[] plain = TrainedWeights(inner), profiled = TrainedWeights(new ProfilingBackend(inner));
        Assert.Equal(plain, profiled); // bit for bit: the profiler only forwards
    }

    [Fact]
    public void TheScratchStepCaseRunsTheMaskedBatchNormPath()
    {
        var c = BenchCases.Find("attention_fcn.scratch_step.b3.70x96")!;
        Assert.Equal("attention_fcn.scratch_step.b3.70x96", c.Name);
        Assert.Contains("valid lengths 72..96", c.Description, StringComparison.Ordinal);
        Assert.Null(BenchCases.Find("focus_calibration_net.scratch_step.b3.26x63"));
        var text = new StringWriter();
        PrimitiveProfile.Run(c, BackendRegistry.Get("cpu"), text);
        output.WriteLine(text.ToString());
        Assert.Contains("attention_fcn.scratch_step.b3.70x96: ", text.ToString(), StringComparison.Ordinal);
        Assert.Contains(" Conv2dBackwardWeight x[3,1,70,96] w[32,1,11,11] s4", text.ToString(), StringComparison.Ordinal); // the narrow widths
    }

    [Fact]
    public void ProfilesAModelCaseOnOpenCl()
    {
        if (GpuTestDevices.OpenCl(output) is not { } gpu) return;
        var text = new StringWriter();
        PrimitiveProfile.Run(BenchCases.Find("focus_calibration_net.infer.b1.26x63")!, gpu, text);
        output.WriteLine(text.ToString());
        Assert.Contains("focus_calibration_net.infer.b1.26x63: ", text.ToString(), StringComparison.Ordinal);
        Assert.Contains(" Conv2dForward", text.ToString(), StringComparison.Ordinal); // a conv row, without a cpu path name
        Assert.DoesNotContain("path=", text.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Two Adam steps of a small conv + linear network on <paramref name="backend"/>; the weights after them.</summary>
    private static float[] TrainedWeights(Backend backend)
    {
        var rng = new Generator(7);
        using var x = Tensor.RandomNormal(new Shape(2, 3, 9, 11), rng, backend: backend);
        using var w = Tensor.RandomNormal(new Shape(16, 3, 3, 3), rng, 0f, 0.2f, backend);
        using var v = Tensor.RandomNormal(new Shape(16, 4), rng, 0f, 0.2f, backend);
        using var labels = Tensor.FromArray([1, 3], new Shape(2), backend);
        w.RequiresGrad = true;
        v.RequiresGrad = true;
        var opt = new Optim.Adam([w, v], lr: 1e-2f);
        for (int step = 0; step < 2; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var y = Ops.Relu(Ops.Conv2d(x, w, null, padding: (1, 1)));         // [2, 16, 9, 11]
            var pooled = Ops.Mean(y, [2, 3]);                                  // [2, 16]
            Ops.CrossEntropy(Ops.MatMul(pooled, v), labels).Backward();
            opt.Step();
        }
        return [.. w.ToArray(), .. v.ToArray()];
    }
}
