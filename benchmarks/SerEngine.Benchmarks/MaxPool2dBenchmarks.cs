using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One max-pooling case.</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="Name">Window label.</param>
/// <param name="Geometry">x [N, C, H, W], window, stride, padding.</param>
public sealed record MaxPool2dCase(string Backend, string Name, Pool2dGeometry Geometry) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method)
    {
        var g = Geometry;
        long x = (long)g.N * g.C * g.H * g.W, y = (long)g.N * g.C * g.OutH * g.OutW;
        return 4.0 * (x + 2 * y); // forward: x in, y and argmax out; backward: dy and argmax in, dx out
    }

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} {Name} [{Geometry.N},{Geometry.C},{Geometry.H},{Geometry.W}]";
}

/// <summary>
/// MaxPool2d forward (y and argmax) and backward (dx gathered from dy through argmax) per backend:
/// a 2×2 stride-2 pool after a conv block and AttentionFcn's 3×3 stride-2 pool.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*MaxPool2dBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class MaxPool2dBenchmarks : BackendBenchmark
{
    private Storage _x = null!, _y = null!, _argmax = null!, _dx = null!;

    private static IEnumerable<MaxPool2dCase> Pools(string b, int n) =>
    [
        new(b, "2x2s2", new Pool2dGeometry(n, 64, 26, 62, 2, 2, 2, 2, 0, 0)),
        new(b, "3x3s2p1", new Pool2dGeometry(n, 32, 49, 74, 3, 3, 2, 2, 1, 1)),
    ];

    /// <summary>Both pools on every backend: batch 2 (with the reference) and batch 32.</summary>
    public static IEnumerable<MaxPool2dCase> Cases =>
    [
        .. BenchBackends.For(small: true).SelectMany(b => Pools(b, 2)),
        .. BenchBackends.For(small: false).SelectMany(b => Pools(b, 32)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public MaxPool2dCase Case { get; set; } = null!;

    /// <summary>Random x; one forward pass so the backward has a real argmax.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        var g = Case.Geometry;
        int x = g.N * g.C * g.H * g.W, y = g.N * g.C * g.OutH * g.OutW;
        _x = Normal(x, 1);                  // [N, C, H, W]
        _y = Zeros(y);                      // [N, C, OH, OW]; also dy for the backward
        _argmax = Zeros(y, DType.Int32);    // [N, C, OH, OW]
        _dx = Zeros(x);                     // [N, C, H, W]
        Backend.MaxPool2dForward(_x, _y, _argmax, g);
        Synchronize();
    }

    /// <summary>y, argmax = maxpool(x).</summary>
    [Benchmark]
    public void Forward()
    {
        Backend.MaxPool2dForward(_x, _y, _argmax, Case.Geometry);
        Synchronize();
    }

    /// <summary>dx from dy (here y) through argmax.</summary>
    [Benchmark]
    public void Backward()
    {
        Backend.MaxPool2dBackward(_y, _argmax, _dx, Case.Geometry);
        Synchronize();
    }
}
