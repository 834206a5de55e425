using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One batch-norm case over x [N, C, H·W].</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="N">Batch.</param>
/// <param name="C">Channels.</param>
/// <param name="HW">Pixels per plane.</param>
public sealed record BatchNorm2dCase(string Backend, int N, int C, int HW) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method)
    {
        long x = (long)N * C * HW;
        return method == nameof(BatchNorm2dBenchmarks.TrainForward)
            ? 4.0 * (2 * x + 8L * C)  // x in, y out; weight, bias in; mean, invStd out; running stats in and out
            : 4.0 * (3 * x + 5L * C); // dy, x in, dx out; weight, mean, invStd in; dWeight, dBias out
    }

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} [{N},{C},{HW}]";
}

/// <summary>
/// BatchNorm2d in training mode, forward (batch statistics, running-stat update, normalise) and
/// backward (dx through the batch statistics, dWeight, dBias), per backend.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*BatchNorm2dBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class BatchNorm2dBenchmarks : BackendBenchmark
{
    private Storage _x = null!, _weight = null!, _bias = null!, _y = null!, _mean = null!, _invStd = null!;
    private Storage _runningMean = null!, _runningVar = null!, _dy = null!, _dx = null!, _dWeight = null!, _dBias = null!;

    /// <summary>[N, C, H·W]: batch 2 (with the reference) and 32 of a 64-channel 26×63 map.</summary>
    public static IEnumerable<BatchNorm2dCase> Cases =>
    [
        .. BenchBackends.For(small: true).Select(b => new BatchNorm2dCase(b, 2, 64, 26 * 63)),
        .. BenchBackends.For(small: false).Select(b => new BatchNorm2dCase(b, 32, 64, 26 * 63)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public BatchNorm2dCase Case { get; set; } = null!;

    /// <summary>Random x, dy and affine parameters; one forward pass for the statistics.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        var (n, c, hw) = (Case.N, Case.C, Case.HW);
        _x = Normal(n * c * hw, 1, 2f, 0.5f);  // [N, C, HW]
        _dy = Normal(n * c * hw, 2);           // [N, C, HW]
        _weight = Normal(c, 3, 0.1f, 1f);      // [C]
        _bias = Normal(c, 4, 0.1f);            // [C]
        _y = Zeros(n * c * hw);                // [N, C, HW]
        _dx = Zeros(n * c * hw);               // [N, C, HW]
        _mean = Zeros(c);                      // [C]
        _invStd = Zeros(c);                    // [C]
        _runningMean = Zeros(c);               // [C]
        _runningVar = Floats(Enumerable.Repeat(1f, c).ToArray()); // [C]
        _dWeight = Zeros(c);                   // [C]
        _dBias = Zeros(c);                     // [C]
        TrainForward();
    }

    /// <summary>y = (x − batch mean)·invStd·weight + bias; running stats move by momentum.</summary>
    [Benchmark]
    public void TrainForward()
    {
        Backend.BatchNorm2dForward(_x, _weight, _bias, _y, _mean, _invStd, _runningMean, _runningVar,
            Case.N, Case.C, Case.HW, 1e-5f, 0.1f, training: true);
        Synchronize();
    }

    /// <summary>dx (through the batch statistics), dWeight and dBias.</summary>
    [Benchmark]
    public void TrainBackward()
    {
        Backend.BatchNorm2dBackward(_dy, _x, _weight, _mean, _invStd, _dx, _dWeight, _dBias, Case.N, Case.C, Case.HW, training: true);
        Synchronize();
    }
}
