using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>
/// One attention-softmax case: scores [B·H·Q, K] with a bias of the same shape and a key mask [B, K]
/// shared by the H·Q rows of each batch item (rowsPerMask = H·Q).
/// </summary>
/// <param name="Backend">Registry name.</param>
/// <param name="B">Batch.</param>
/// <param name="H">Heads.</param>
/// <param name="Q">Queries.</param>
/// <param name="K">Keys (the softmax axis).</param>
public sealed record BiasedSoftmaxCase(string Backend, int B, int H, int Q, int K) : IByteCount
{
    /// <summary>Rows of the score matrix.</summary>
    public int Rows => B * H * Q;

    /// <inheritdoc/>
    public double Bytes(string method) => method == nameof(BiasedSoftmaxBenchmarks.Forward)
        ? 4.0 * (3L * Rows * K + (long)B * K) // x, bias in; y out; mask in
        : 4.0 * 4L * Rows * K;                // y, dy in; dx, dBias out

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} [{B}·{H}·{Q}, {K}]";
}

/// <summary>
/// The fused attention softmax (<c>BiasedSoftmax</c>: y = softmax(scale·x + bias) over kept keys) and
/// its backward (dx and dBias), per backend, at the attention shape [32·4·128, 128] (the reference at
/// [2·4·32, 32]). GB/s = compulsory bytes / mean time.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*BiasedSoftmaxBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class BiasedSoftmaxBenchmarks : BackendBenchmark
{
    private Storage _x = null!, _bias = null!, _mask = null!, _y = null!, _dy = null!, _dx = null!, _dBias = null!;

    /// <summary>The cases: every backend at the model's shape, the reference (and cpu) at a small one.</summary>
    public static IEnumerable<BiasedSoftmaxCase> Cases =>
    [
        .. BenchBackends.For(small: true).Select(b => new BiasedSoftmaxCase(b, 2, 4, 32, 32)),
        .. BenchBackends.For(small: false).Select(b => new BiasedSoftmaxCase(b, 32, 4, 128, 128)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public BiasedSoftmaxCase Case { get; set; } = null!;

    /// <summary>Random scores, bias and dy; a key mask that drops a different tail of keys per batch item.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        var c = Case;
        int size = c.Rows * c.K;
        _x = Normal(size, 1);                    // [rows, K]
        _bias = Normal(size, 2, 0.5f);           // [rows, K]
        var mask = new int[c.B * c.K];           // [B, K], 1 = keep
        for (int b = 0; b < c.B; b++)
            for (int k = 0; k < c.K; k++) mask[b * c.K + k] = k < c.K - b * 7 % Math.Max(1, c.K / 4) ? 1 : 0;
        _mask = Ints(mask);
        _y = Zeros(size);                        // [rows, K]
        _dy = Normal(size, 3);                   // [rows, K]
        _dx = Zeros(size);                       // [rows, K]
        _dBias = Zeros(size);                    // [rows, K]
        Backend.BiasedSoftmax(_x, _bias, _mask, _y, c.Rows, c.K, c.H * c.Q, 0.125f); // a real y for the backward
        Synchronize();
    }

    /// <summary>y = softmax(scale·x + bias) over the kept keys.</summary>
    [Benchmark]
    public void Forward()
    {
        Backend.BiasedSoftmax(_x, _bias, _mask, _y, Case.Rows, Case.K, Case.H * Case.Q, 0.125f);
        Synchronize();
    }

    /// <summary>dx = scale·g and dBias = g, g = y·(dy − Σ dy·y).</summary>
    [Benchmark]
    public void Backward()
    {
        Backend.BiasedSoftmaxBackward(_y, _dy, _dx, _dBias, Case.Rows, Case.K, 0.125f);
        Synchronize();
    }
}
