using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One Adam case: n parameters.</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="N">Parameters.</param>
public sealed record AdamCase(string Backend, int N) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method) => 4.0 * 7L * N; // param, grad, m, v in; param, m, v out

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} {N}";
}

/// <summary>
/// One AdamW step (in place on param, m, v) per backend: a model-sized parameter set and a large one.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*AdamBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class AdamBenchmarks : BackendBenchmark
{
    private static readonly AdamStepParams Step = new(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, Decoupled: true, Step: 10);
    private Storage _param = null!, _grad = null!, _m = null!, _v = null!;

    /// <summary>300 k parameters on every backend (with the reference), 8 M without.</summary>
    public static IEnumerable<AdamCase> Cases =>
    [
        .. BenchBackends.For(small: true).Select(b => new AdamCase(b, 300_000)),
        .. BenchBackends.For(small: false).Select(b => new AdamCase(b, 8_000_000)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public AdamCase Case { get; set; } = null!;

    /// <summary>Random parameters and gradients, zero moments.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        _param = Normal(Case.N, 1, 0.1f); // [n]
        _grad = Normal(Case.N, 2, 0.01f); // [n]
        _m = Zeros(Case.N);               // [n]
        _v = Zeros(Case.N);               // [n]
    }

    /// <summary>param, m, v updated in place.</summary>
    [Benchmark]
    public void AdamStep()
    {
        Backend.AdamStep(_param, _grad, _m, _v, Case.N, Step);
        Synchronize();
    }
}
