using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>One elementwise case over y [N, C, H, W].</summary>
/// <param name="Backend">Registry name.</param>
/// <param name="Kind">
/// <c>add</c> (same shapes), <c>add-bias</c> (+ b [1, C, 1, 1]: the blocked kernel), <c>mul-mask</c>
/// (· b [N, 1, H, W]: the strided kernel), <c>relu</c>, <c>tanh</c> (unary), <c>tanh-bwd</c> (its backward).
/// </param>
/// <param name="N">Batch.</param>
/// <param name="C">Channels.</param>
/// <param name="H">Height.</param>
/// <param name="W">Width.</param>
public sealed record ElementwiseCase(string Backend, string Kind, int N, int C, int H, int W) : IByteCount
{
    /// <summary>Elements of y.</summary>
    public int Size => N * C * H * W;

    /// <summary>Shape of the second operand of a binary kind.</summary>
    public Shape BShape => Kind switch
    {
        "add-bias" => new Shape(1, C, 1, 1),
        "mul-mask" => new Shape(N, 1, H, W),
        _ => new Shape(N, C, H, W),
    };

    /// <inheritdoc/>
    public double Bytes(string method) => 4.0 * Kind switch
    {
        "relu" or "tanh" => 2L * Size,           // x in, y out
        "tanh-bwd" => 3L * Size,                 // y, dy in; dx out (tanh' uses y only)
        _ => 2L * Size + BShape.Size,            // a, b in; y out
    };

    /// <inheritdoc/>
    public override string ToString() => $"{BenchBackends.Label(Backend)} {Kind} [{N},{C},{H},{W}]";
}

/// <summary>
/// Elementwise binary ops with broadcasting (same shape, a channel bias, a per-pixel mask) and unary
/// ops forward and backward, per backend, on [32, 64, 26, 63] (the reference on [2, 16, 26, 62]).
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*ElementwiseBenchmarks*'</c>.
/// </summary>
[Config(typeof(GbsConfig))]
public class ElementwiseBenchmarks : BackendBenchmark
{
    private static readonly string[] Kinds = ["add", "add-bias", "mul-mask", "relu", "tanh", "tanh-bwd"];
    private Storage _a = null!, _b = null!, _y = null!, _dx = null!;
    private Shape _yShape = null!;

    /// <summary>Every kind on every backend, small and large.</summary>
    public static IEnumerable<ElementwiseCase> Cases =>
    [
        .. from b in BenchBackends.For(small: true) from k in Kinds select new ElementwiseCase(b, k, 2, 16, 26, 62),
        .. from b in BenchBackends.For(small: false) from k in Kinds select new ElementwiseCase(b, k, 32, 64, 26, 63),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public ElementwiseCase Case { get; set; } = null!;

    /// <summary>Random operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Open(Case.Backend);
        _yShape = new Shape(Case.N, Case.C, Case.H, Case.W);
        _a = Normal(Case.Size, 1);               // [N, C, H, W]
        _b = Normal(Case.BShape.Size, 2, 1f, 3f); // [N, C, H, W], [1, C, 1, 1] or [N, 1, H, W]
        _y = Zeros(Case.Size);                   // [N, C, H, W]
        _dx = Zeros(Case.Size);                  // [N, C, H, W]
    }

    /// <summary>One elementwise call of the case's kind.</summary>
    [Benchmark]
    public void Elementwise()
    {
        switch (Case.Kind)
        {
            case "relu": Backend.Unary(UnaryOp.Relu, _a, _y, Case.Size, 0f); break;
            case "tanh": Backend.Unary(UnaryOp.Tanh, _a, _y, Case.Size, 0f); break;
            case "tanh-bwd": Backend.UnaryBackward(UnaryOp.Tanh, _a, _y, _b, _dx, Case.Size, 0f); break;
            case "mul-mask": Backend.Binary(BinaryOp.Mul, _a, _yShape, _b, Case.BShape, _y, _yShape); break;
            default: Backend.Binary(BinaryOp.Add, _a, _yShape, _b, Case.BShape, _y, _yShape); break;
        }
        Synchronize();
    }
}
