using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>
/// The memory-bound elementwise primitives on the fast <c>cpu</c> backend against the
/// <c>cpu-reference</c> loops, at shapes the models produce: broadcast binaries (same shape, a linear
/// layer's bias row, a per-channel scale), ReLU and tanh and ReLU's backward, the conv-bias gradient
/// (SumTo), and the attention head permutes. GB/s counts each operand read or written once.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*ElementwiseBenchmarks*'</c>.
/// </summary>
[Config(typeof(RatesConfig))]
public class ElementwiseBenchmarks
{
    private static readonly string[] BackendNames = ["cpu-reference", "cpu"];
    private const int Big = 16 * 64 * 49 * 74; // AttentionFcn's first feature map, b16
    private static readonly Shape Map = new(16, 64, 49, 74);
    private Backend _be = null!;
    private Storage _a = null!, _b = null!, _y = null!, _row = null!, _chan = null!, _small = null!;

    /// <summary>Each case on both backends.</summary>
    public static IEnumerable<BytesCase> Cases =>
        from backend in BackendNames
        from c in new (string Name, double Bytes)[]
        {
            ("add 3.7M", 3.0 * Big * 4), ("add row 480x256", 3.0 * 480 * 256 * 4), ("mul chan 3.7M", 2.0 * Big * 4),
            ("relu 3.7M", 2.0 * Big * 4), ("tanh 3.7M", 2.0 * Big * 4), ("relu bwd 3.7M", 3.0 * Big * 4),
            ("sumto chan 3.7M", 1.0 * Big * 4), ("permute heads", 2.0 * 32 * 15 * 256 * 4),
        }
        select new BytesCase(c.Name, backend, c.Bytes);

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public BytesCase Case { get; set; } = null!;

    /// <summary>Random operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = BackendRegistry.Get(Case.Backend);
        var rng = new Generator(1);
        Storage R(params int[] dims) => Tensor.RandomNormal(new Shape(dims), rng, backend: _be).KeepAlive().Storage;
        _a = R(Big);
        _b = R(Big);
        _y = R(Big);
        _row = R(256);
        _chan = R(64);
        _small = R(32 * 15 * 4 * 64);
    }

    /// <summary>Runs the case.</summary>
    [Benchmark]
    public void Run()
    {
        switch (Case.Name)
        {
            case "add 3.7M": _be.Binary(BinaryOp.Add, _a, Map, _b, Map, _y, Map); break;
            case "add row 480x256": _be.Binary(BinaryOp.Add, _a, new Shape(480, 256), _row, new Shape(1, 256), _y, new Shape(480, 256)); break;
            case "mul chan 3.7M": _be.Binary(BinaryOp.Mul, _a, Map, _chan, new Shape(1, 64, 1, 1), _y, Map); break;
            case "relu 3.7M": _be.Unary(UnaryOp.Relu, _a, _y, Big, 0f); break;
            case "tanh 3.7M": _be.Unary(UnaryOp.Tanh, _a, _y, Big, 0f); break;
            case "relu bwd 3.7M": _be.UnaryBackward(UnaryOp.Relu, _a, _a, _b, _y, Big, 0f); break;
            case "sumto chan 3.7M": _be.SumTo(_a, Map, _chan, new Shape(1, 64, 1, 1)); break;
            case "permute heads": _be.Permute(_small, new Shape(32, 15, 4, 64), [0, 2, 1, 3], _y); break;
            default: throw new InvalidOperationException(Case.Name);
        }
    }
}
