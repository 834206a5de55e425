using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One square SGEMM case: C [n, n] = A [n, n] · B [n, n] on a named backend.</summary>
/// <param name="Backend">Registry name (<c>cpu-reference</c> or <c>cpu</c>).</param>
/// <param name="Size">n.</param>
public sealed record GemmCase(string Backend, int Size) : IFlopCount
{
    /// <inheritdoc/>
    public double Flops => 2.0 * Size * Size * Size;

    /// <inheritdoc/>
    public override string ToString() => $"{Backend} {Size}";
}

/// <summary>
/// SGEMM on the CPU backends: the fast <c>cpu</c> GEMM (packed panels, FMA micro-kernel, all threads)
/// against the <c>cpu-reference</c> triple loop, which only runs the small sizes.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*GemmBenchmarks*'</c>.
/// </summary>
[Config(typeof(GflopsConfig))]
public class GemmBenchmarks
{
    private Backend _backend = null!;
    private Storage _a = null!, _b = null!, _c = null!;

    /// <summary>The cases: the reference at 64 and 256 only, the fast GEMM up to 1024 (the <c>sgemm.1024</c> case).</summary>
    public static IEnumerable<GemmCase> Cases =>
    [
        new("cpu-reference", 64), new("cpu-reference", 256),
        new("cpu", 64), new("cpu", 256), new("cpu", 512), new("cpu", 1024),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public GemmCase Case { get; set; } = null!;

    /// <summary>Allocates A, B (random) and C.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BackendRegistry.Get(Case.Backend);
        int n = Case.Size;
        var rng = new Generator(1);
        _a = Tensor.RandomNormal(new Shape(n, n), rng, backend: _backend).KeepAlive().Storage;
        _b = Tensor.RandomNormal(new Shape(n, n), rng, backend: _backend).KeepAlive().Storage;
        _c = Tensor.Zeros(new Shape(n, n), _backend).KeepAlive().Storage;
    }

    /// <summary>C = A · B.</summary>
    [Benchmark]
    public void Sgemm() => _backend.Gemm(false, false, 1, Case.Size, Case.Size, Case.Size, 1f, _a, 0, _b, 0, 0f, _c, 0);
}
