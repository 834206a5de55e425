using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One permute case: y = x [XDims] with axes reordered by Perm.</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="Name">What the permutation is for.</param>
/// <param name="XDims">Shape of x.</param>
/// <param name="Perm">y.shape[i] = x.shape[Perm[i]].</param>
public sealed record PermuteCase(string Backend, string Name, int[] XDims, int[] Perm) : IByteCount
{
    /// <inheritdoc/>
    public double Bytes(string method) => 4.0 * 2 * new Shape(XDims).Size; // x in, y out

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} {Name} {new Shape(XDims)}";
}

/// <summary>
/// Permute per backend: attention's head split [B, T, H, D] → [B, H, T, D], NCHW → NHWC, and a
/// square transpose (the GPU's <c>strided_gather</c>).
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*PermuteBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class PermuteBenchmarks : BackendBenchmark
{
    private Storage _x = null!, _y = null!;

    private static IEnumerable<PermuteCase> Patterns(string b, int batch) =>
    [
        new(b, "heads", [batch, 128, 4, 64], [0, 2, 1, 3]),   // [B, T, H, D] → [B, H, T, D]
        new(b, "nhwc", [batch, 64, 26, 63], [0, 2, 3, 1]),    // [N, C, H, W] → [N, H, W, C]
        new(b, "transpose", [batch * 32, 1024], [1, 0]),      // [R, C] → [C, R]
    ];

    /// <summary>Every pattern on every backend: batch 2 (with the reference) and batch 32.</summary>
    public static IEnumerable<PermuteCase> Cases =>
    [
        .. BenchBackends.For(small: true).SelectMany(b => Patterns(b, 2)),
        .. BenchBackends.For(small: false).SelectMany(b => Patterns(b, 32)),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public PermuteCase Case { get; set; } = null!;

    /// <summary>Random x.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        int n = new Shape(Case.XDims).Size;
        _x = Normal(n, 1); // [XDims]
        _y = Zeros(n);     // [XDims permuted]
    }

    /// <summary>y = x with its axes permuted.</summary>
    [Benchmark]
    public void Permute()
    {
        Backend.Permute(_x, new Shape(Case.XDims), Case.Perm, _y);
        Synchronize();
    }
}
