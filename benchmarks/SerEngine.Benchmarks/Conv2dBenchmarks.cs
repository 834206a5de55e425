using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Benchmarks;

/// <summary>One conv2d case: a geometry on a named backend; every pass does 2·MACs flops.</summary>
/// <param name="Name">Short label (which layer it is).</param>
/// <param name="Backend">Registry name (<c>cpu-reference</c> or <c>cpu</c>), or a <c>cpu</c> backend with
/// conv2d paths disabled (<see cref="PathSettings"/>): <c>cpu-channels</c> without the Winograd paths
/// (the channel-vector kernels they replaced for 5×5), <c>cpu-shifted</c> without the channel-vector
/// path too (the shifted-window and GEMM paths it replaced); in the packed suite <c>cpu-direct</c> is
/// the plain forward of <c>cpu</c>.</param>
/// <param name="Geometry">x [N, C, H, W], w [K, C, R, S], stride, padding, dilation.</param>
public sealed record Conv2dCase(string Name, string Backend, Conv2dGeometry Geometry) : IFlopCount
{
    /// <inheritdoc/>
    public double Flops => 2.0 * Geometry.Macs;

    /// <summary>The conv2d path settings of the named backend (<c>$SERENGINE_CPU_CONV2D_PATH</c> syntax; empty for <c>cpu</c>).</summary>
    public static string PathSettings(string backend) => backend switch
    {
        "cpu-channels" => "-winograd-f23,-winograd-f25",
        "cpu-shifted" => "-winograd-f23,-winograd-f25,-channel-vector",
        _ => "",
    };

    /// <summary>The backend this case runs on: the registry's, or a <c>cpu</c> backend with its <see cref="PathSettings"/>.</summary>
    public Backend Create() => Backend is "cpu-reference" or "cpu" or "cpu-direct"
        ? BackendRegistry.Get(Backend == "cpu-direct" ? "cpu" : Backend)
        : new CpuBackend { Conv2dPaths = Conv2dPathSettings.Parse(PathSettings(Backend)) };

    /// <summary>
    /// The name of the conv2d path the benchmark method <paramref name="method"/> runs (its pass:
    /// <c>Forward</c>, <c>BackwardInput</c>, <c>BackwardWeight</c>, or the packed suite's
    /// <c>ForwardRelu</c>), or "-" on a backend without paths (<c>cpu-reference</c>).
    /// </summary>
    public string PathName(string method)
    {
        if (Create() is not CpuBackend cpu) return "-";
        var pass = method switch
        {
            "BackwardInput" => Conv2dPass.BackwardInput,
            "BackwardWeight" => Conv2dPass.BackwardWeight,
            "ForwardRelu" when Backend != "cpu-direct" => Conv2dPass.ForwardPacked,
            _ => Conv2dPass.Forward,
        };
        return Conv2dPathNames.Of(cpu.ChooseConv2dPath(pass, Geometry));
    }

    /// <inheritdoc/>
    public override string ToString() => $"{(Backend == "cpu-reference" ? "ref" : Backend)} {Name}"; // short: the table cuts long values
}

/// <summary>The conv2d path each row runs (<see cref="Conv2dCase.PathName"/>), as <c>ser bench --profile</c> prints it.</summary>
public sealed class Conv2dPathColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(Conv2dPathColumn);

    /// <inheritdoc/>
    public string ColumnName => "Path";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => 1;

    /// <inheritdoc/>
    public bool IsNumeric => false;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => "The CPU conv2d path of the row's pass (CpuBackend.ChooseConv2dPath on this machine)";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        foreach (var p in benchmarkCase.Parameters.Items)
            if (p.Value is Conv2dCase c) return c.PathName(benchmarkCase.Descriptor.WorkloadMethod.Name);
        return "-";
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary><see cref="GflopsConfig"/> plus the <see cref="Conv2dPathColumn"/>.</summary>
public sealed class Conv2dConfig : ManualConfig
{
    /// <summary>The GFLOP/s config with the path column added.</summary>
    public Conv2dConfig()
    {
        Add(new GflopsConfig());
        AddColumn(new Conv2dPathColumn());
    }
}

/// <summary>
/// conv2d forward, backward-input and backward-weight on the CPU backends, at the shapes that matter:
/// the <c>conv2d.*.16x64x24x36.k5x192</c> bench case, the first layers of both models, and a mid-size
/// 3×3 layer (the reference runs only a small case); <c>cpu-channels</c> rows time the 5×5 case without
/// Winograd F(2×2, 5×5) (its forward; backward-input with 192 channels in stays on the channel-vector
/// kernels), <c>cpu-shifted</c> rows the paths the
/// channel-vector kernels replaced, on the two shapes they were built for. The Path column names
/// the conv2d path of each row.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*Conv2dBenchmarks*'</c>.
/// </summary>
[Config(typeof(Conv2dConfig))]
public class Conv2dBenchmarks
{
    private Backend _backend = null!;
    private Storage _x = null!, _w = null!, _y = null!, _dx = null!, _dw = null!;

    private static Conv2dGeometry Same(int n, int c, int h, int w, int k, int r) =>
        new(n, c, h, w, k, r, r, 1, 1, r / 2, r / 2, r / 2, r / 2, 1, 1);

    /// <summary>
    /// The cases (name = kernel, output channels K, batch): ref/cpu 3x3-k32-b2 = x [2, 16, 26, 62];
    /// 5x5-k192-b16 = x [16, 64, 24, 36] padding 2 (the bench case); 3x3-k32-b32 = x [32, 16, 26, 62]
    /// (FocusCalibrationNet conv2); 11x11s4-k64-b16 = x [16, 1, 200, 300] stride 4 padding 2
    /// (AttentionFcn features.0); 10x2-k8-b32 and 2x8-k8-b32 = x [32, 1, 26, 63] (conv1a, conv1b).
    /// </summary>
    public static IEnumerable<Conv2dCase> Cases =>
    [
        new("3x3-k32-b2", "cpu-reference", Same(2, 16, 26, 62, 32, 3)),
        new("3x3-k32-b2", "cpu", Same(2, 16, 26, 62, 32, 3)),
        new("5x5-k192-b16", "cpu", Same(16, 64, 24, 36, 192, 5)),
        new("5x5-k192-b16", "cpu-channels", Same(16, 64, 24, 36, 192, 5)),
        new("5x5-k192-b16", "cpu-shifted", Same(16, 64, 24, 36, 192, 5)),
        new("3x3-k32-b32", "cpu", Same(32, 16, 26, 62, 32, 3)),
        new("11x11s4-k64-b16", "cpu", new(16, 1, 200, 300, 64, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1)),
        new("11x11s4-k64-b16", "cpu-shifted", new(16, 1, 200, 300, 64, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1)),
        new("10x2-k8-b32", "cpu", new(32, 1, 26, 63, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1)),
        new("2x8-k8-b32", "cpu", new(32, 1, 26, 63, 8, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public Conv2dCase Case { get; set; } = null!;

    /// <summary>Allocates random x and w, and the outputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = Case.Create();
        var g = Case.Geometry;
        var rng = new Generator(1);
        _x = Tensor.RandomNormal(new Shape(g.N, g.C, g.H, g.W), rng, backend: _backend).KeepAlive().Storage;
        _w = Tensor.RandomNormal(new Shape(g.K, g.C, g.R, g.S), rng, backend: _backend).KeepAlive().Storage;
        _y = Tensor.RandomNormal(new Shape(g.N, g.K, g.OutH, g.OutW), rng, backend: _backend).KeepAlive().Storage;
        _dx = Tensor.Zeros(new Shape(g.N, g.C, g.H, g.W), _backend).KeepAlive().Storage;
        _dw = Tensor.Zeros(new Shape(g.K, g.C, g.R, g.S), _backend).KeepAlive().Storage;
    }

    /// <summary>y = conv(x, w).</summary>
    [Benchmark]
    public void Forward() => _backend.Conv2dForward(_x, _w, null, _y, Case.Geometry);

    /// <summary>dx from dy (here y) and w.</summary>
    [Benchmark]
    public void BackwardInput() => _backend.Conv2dBackwardInput(_y, _w, _dx, Case.Geometry);

    /// <summary>dw from x and dy (here y).</summary>
    [Benchmark]
    public void BackwardWeight() => _backend.Conv2dBackwardWeight(_x, _y, _dw, Case.Geometry);
}

/// <summary>
/// conv2d forward + bias + ReLU with packed weights (<see cref="Backend.PackConv2dWeight"/>,
/// <see cref="Backend.Conv2dForwardPacked"/>) at FocusCalibrationNet's batch-1 inference layers:
/// <c>cpu</c> rows run the Winograd F(2×2, 3×3) forward; <c>cpu-direct</c> rows the plain
/// <see cref="Backend.Conv2dForwardRelu"/> of the same backend (shifted-window kernels); flops are
/// those of direct convolution (2·MACs) on both, so the GFLOP/s column compares times; the Path
/// column names the conv2d path of each row.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*Conv2dPackedBenchmarks*'</c>.
/// </summary>
[Config(typeof(Conv2dConfig))]
public class Conv2dPackedBenchmarks
{
    private Backend _backend = null!;
    private PackedConv2dWeight _packed = null!;
    private Storage _x = null!, _w = null!, _bias = null!, _y = null!;

    private static Conv2dGeometry Same3(int c, int h, int w, int k) => new(1, c, h, w, k, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);

    /// <summary>conv2 x [1, 16, 25, 62] → 32; conv3 [1, 32, 12, 31] → 48; conv4 [1, 48, 6, 15] → 64; conv5 [1, 64, 6, 15] → 80; 3×3, padding 1.</summary>
    public static IEnumerable<Conv2dCase> Cases =>
        from layer in Layers
        from backend in PackedBackends
        select new Conv2dCase(layer.Name + "-b1", backend, layer.G);

    private static readonly (string Name, Conv2dGeometry G)[] Layers =
        [("conv2", Same3(16, 25, 62, 32)), ("conv3", Same3(32, 12, 31, 48)), ("conv4", Same3(48, 6, 15, 64)), ("conv5", Same3(64, 6, 15, 80))];

    private static readonly string[] PackedBackends = ["cpu", "cpu-direct"];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public Conv2dCase Case { get; set; } = null!;

    /// <summary>Random x, w and bias; w packed once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BackendRegistry.Get("cpu");
        var g = Case.Geometry;
        var rng = new Generator(2);
        _x = Tensor.RandomNormal(new Shape(g.N, g.C, g.H, g.W), rng, backend: _backend).KeepAlive().Storage;
        _w = Tensor.RandomNormal(new Shape(g.K, g.C, g.R, g.S), rng, backend: _backend).KeepAlive().Storage;
        _bias = Tensor.RandomNormal(new Shape(g.K), rng, backend: _backend).KeepAlive().Storage;
        _y = Tensor.Zeros(new Shape(g.N, g.K, g.OutH, g.OutW), _backend).KeepAlive().Storage;
        _packed = _backend.PackConv2dWeight(_w, g);
    }

    /// <summary>y = ReLU(conv(x, w) + bias).</summary>
    [Benchmark]
    public void ForwardRelu()
    {
        if (Case.Backend == "cpu-direct") _backend.Conv2dForwardRelu(_x, _w, _bias, _y, Case.Geometry);
        else _backend.Conv2dForwardPacked(_x, _packed, _bias, _y, Case.Geometry, relu: true);
    }
}
