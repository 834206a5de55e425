using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One cross-entropy case: logits [N, C] against N labels.</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="N">Rows (samples).</param>
/// <param name="C">Classes.</param>
public sealed record CrossEntropyCase(string Backend, int N, int C) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method) => 4.0 * (2L * N * C + 2L * N); // forward: logits, labels in; probs, loss out. backward: probs, labels, dLoss in; dLogits out

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} [{N}, {C}]";
}

/// <summary>
/// Cross-entropy with its fused softmax, forward (loss and probs; the GPU reads a label-error flag
/// back) and backward (dLogits), per backend: the models' batch of 4 emotions, and a wide case.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*CrossEntropyBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class CrossEntropyBenchmarks : BackendBenchmark
{
    private Storage _logits = null!, _labels = null!, _loss = null!, _probs = null!, _dLoss = null!, _dLogits = null!;

    /// <summary>[32, 4] on every backend (with the reference), [16384, 512] without.</summary>
    public static IEnumerable<CrossEntropyCase> Cases =>
    [
        .. BenchBackends.For(small: true).Select(b => new CrossEntropyCase(b, 32, 4)),
        .. BenchBackends.For(small: false).Select(b => new CrossEntropyCase(b, 16384, 512)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public CrossEntropyCase Case { get; set; } = null!;

    /// <summary>Random logits and labels; one forward pass for probs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        var (n, c) = (Case.N, Case.C);
        _logits = Normal(n * c, 1, 2f);                                       // [N, C]
        _labels = Ints(Enumerable.Range(0, n).Select(i => i * 7 % c).ToArray()); // [N]
        _loss = Zeros(n);                                                     // [N]
        _probs = Zeros(n * c);                                                // [N, C]
        _dLoss = Floats(Enumerable.Repeat(1f / n, n).ToArray());              // [N]
        _dLogits = Zeros(n * c);                                              // [N, C]
        Forward();
    }

    /// <summary>loss, probs = cross-entropy(logits, labels).</summary>
    [Benchmark]
    public void Forward()
    {
        Backend.CrossEntropyForward(_logits, _labels, _loss, _probs, Case.N, Case.C);
        Synchronize();
    }

    /// <summary>dLogits = dLoss·(probs − onehot(labels)).</summary>
    [Benchmark]
    public void Backward()
    {
        Backend.CrossEntropyBackward(_probs, _labels, _dLoss, _dLogits, Case.N, Case.C);
        Synchronize();
    }
}
