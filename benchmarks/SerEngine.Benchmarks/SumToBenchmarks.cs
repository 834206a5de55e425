using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One SumTo case: x [XDims] summed down to [YDims] (each dim equal or 1).</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="Name">What the pattern is (and which GPU kernel takes it).</param>
/// <param name="XDims">Shape of x.</param>
/// <param name="YDims">Shape of y (same rank).</param>
public sealed record SumToCase(string Backend, string Name, int[] XDims, int[] YDims) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method) => 4.0 * ((long)new Shape(XDims).Size + new Shape(YDims).Size); // x in, y out

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} {Name} {new Shape(XDims)}";
}

/// <summary>
/// SumTo (the adjoint of broadcasting: bias and broadcast-operand gradients) per backend, one case per
/// pattern the GPU launch code tells apart: leading rows (<c>sum_rows</c>), a channel of NCHW
/// (<c>sum_to_group</c>), a short middle axis (<c>sum_to_naive</c>), everything.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*SumToBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class SumToBenchmarks : BackendBenchmark
{
    private Storage _x = null!, _y = null!;

    private static IEnumerable<SumToCase> Patterns(string b, int scale) =>
    [
        new(b, "rows", [scale * 128, 256], [1, 256]),                          // [N·T, C] → [1, C]
        new(b, "channel", [scale, 64, 26, 63], [1, 64, 1, 1]),                 // [N, C, H, W] → [1, C, 1, 1]
        new(b, "middle", [scale * 128, 16, 32], [scale * 128, 1, 32]),         // [A, 16, B] → [A, 1, B]
        new(b, "all", [scale * 32768], [1]),                                   // [n] → [1]
    ];

    /// <summary>Every pattern on every backend: batch 2 (with the reference) and batch 32.</summary>
    public static IEnumerable<SumToCase> Cases =>
    [
        .. BenchBackends.For(small: true).SelectMany(b => Patterns(b, 2)),
        .. BenchBackends.For(small: false).SelectMany(b => Patterns(b, 32)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public SumToCase Case { get; set; } = null!;

    /// <summary>Random x.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        _x = Normal(new Shape(Case.XDims).Size, 1); // [XDims]
        _y = Zeros(new Shape(Case.YDims).Size);     // [YDims]
    }

    /// <summary>y = x summed down to y's shape.</summary>
    [Benchmark]
    public void SumTo()
    {
        Backend.SumTo(_x, new Shape(Case.XDims), _y, new Shape(Case.YDims));
        Synchronize();
    }
}
