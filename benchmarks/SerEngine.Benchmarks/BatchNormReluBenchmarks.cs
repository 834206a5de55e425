using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One fused batch-norm case over x [N, C, H, W] (FocusCalibrationNet's conv2 map by default).</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="N">Batch.</param>
/// <param name="C">Channels.</param>
/// <param name="H">Rows.</param>
/// <param name="W">Columns.</param>
public sealed record BatchNormReluCase(string Backend, int N, int C, int H, int W) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method)
    {
        long x = (long)N * C * H * W, pooled = x / 4;
        return method switch
        {
            nameof(BatchNormReluBenchmarks.ReluForward) => 4.0 * (2 * x + 8L * C),                // x in, y out; per-channel stats
            nameof(BatchNormReluBenchmarks.ReluBackward) => 4.0 * (4 * x + 5L * C),               // dy, y, x in, dx out
            nameof(BatchNormReluBenchmarks.ReluMaxPoolForward) => 4.0 * (x + 2 * pooled + 8L * C), // x in; pooled y, argmax out
            _ => 4.0 * (2 * x + 3 * pooled + 5L * C),                                              // dy, y, argmax pooled, x in, dx out
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} [{N},{C},{H},{W}]";
}

/// <summary>
/// ReLU(BatchNorm2d) and MaxPool2d(ReLU(BatchNorm2d)) in training mode as the fused primitives
/// (<see cref="Backend.BatchNorm2dReluForward"/>, <see cref="Backend.BatchNorm2dReluMaxPoolForward"/> and their
/// backwards), per backend: the backends without their own kernel run the separate primitives, so the pair of rows
/// shows what the fusion buys. Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*BatchNormReluBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class BatchNormReluBenchmarks : BackendBenchmark
{
    private Storage _x = null!, _weight = null!, _bias = null!, _y = null!, _mean = null!, _invStd = null!;
    private Storage _runningMean = null!, _runningVar = null!, _dy = null!, _dx = null!, _dWeight = null!, _dBias = null!;
    private Storage _yPool = null!, _argmax = null!, _dyPool = null!;

    /// <summary>[N, C, H, W]: batch 2 (with the reference) and 32 of FocusCalibrationNet's conv2 map (32 channels, 25×62).</summary>
    public static IEnumerable<BatchNormReluCase> Cases =>
    [
        .. BenchBackends.For(small: true).Select(b => new BatchNormReluCase(b, 2, 32, 25, 62)),
        .. BenchBackends.For(small: false).Select(b => new BatchNormReluCase(b, 32, 32, 25, 62)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public BatchNormReluCase Case { get; set; } = null!;

    private Pool2dGeometry Pool => new(Case.N, Case.C, Case.H, Case.W, 2, 2, 2, 2, 0, 0);

    /// <summary>Random x, dy and affine parameters; one forward pass of each op for the statistics and argmax.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        var (n, c) = (Case.N, Case.C);
        int size = n * c * Case.H * Case.W, pooled = n * c * Pool.OutH * Pool.OutW;
        _x = Normal(size, 1, 2f, 0.5f);        // [N, C, H, W]
        _dy = Normal(size, 2);                 // [N, C, H, W]
        _dyPool = Normal(pooled, 5);           // [N, C, H/2, W/2]
        _weight = Normal(c, 3, 0.1f, 1f);      // [C]
        _bias = Normal(c, 4, 0.1f);            // [C]
        _y = Zeros(size);                      // [N, C, H, W]
        _dx = Zeros(size);                     // [N, C, H, W]
        _yPool = Zeros(pooled);                // [N, C, H/2, W/2]
        _argmax = Zeros(pooled, DType.Int32);  // [N, C, H/2, W/2]
        _mean = Zeros(c);                      // [C]
        _invStd = Zeros(c);                    // [C]
        _runningMean = Zeros(c);               // [C]
        _runningVar = Floats(Enumerable.Repeat(1f, c).ToArray()); // [C]
        _dWeight = Zeros(c);                   // [C]
        _dBias = Zeros(c);                     // [C]
        ReluForward();
        ReluMaxPoolForward();
    }

    /// <summary>y = ReLU(batch norm of x); running stats move by momentum.</summary>
    [Benchmark]
    public void ReluForward()
    {
        Backend.BatchNorm2dReluForward(_x, _weight, _bias, _y, Case.C, 0, _mean, _invStd, _runningMean, _runningVar,
            Case.N, Case.C, Case.H * Case.W, 1e-5f, 0.1f, training: true);
        Synchronize();
    }

    /// <summary>dx (through the rectifier's mask and the batch statistics), dWeight and dBias.</summary>
    [Benchmark]
    public void ReluBackward()
    {
        Backend.BatchNorm2dReluBackward(_dy, _y, Case.C, 0, _x, _weight, _mean, _invStd, _dx, _dWeight, _dBias,
            Case.N, Case.C, Case.H * Case.W, training: true);
        Synchronize();
    }

    /// <summary>The 2×2 max pool of ReLU(batch norm of x), with its argmax.</summary>
    [Benchmark]
    public void ReluMaxPoolForward()
    {
        Backend.BatchNorm2dReluMaxPoolForward(_x, _weight, _bias, _yPool, _argmax, _mean, _invStd, _runningMean, _runningVar,
            Pool, 1e-5f, 0.1f, training: true);
        Synchronize();
    }

    /// <summary>dx from the pooled gradient (through the pool's argmax, the rectifier and the batch statistics).</summary>
    [Benchmark]
    public void ReluMaxPoolBackward()
    {
        Backend.BatchNorm2dReluMaxPoolBackward(_dyPool, _yPool, _argmax, _x, _weight, _mean, _invStd, _dx, _dWeight, _dBias,
            Pool, training: true);
        Synchronize();
    }
}
