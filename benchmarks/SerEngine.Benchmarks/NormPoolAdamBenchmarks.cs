using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>
/// BatchNorm2d (training forward and backward on FocusCalibrationNet's conv2 output [32, 32, 25·62]),
/// MaxPool2d (2×2 on the same map; 3×3 stride 2 on AttentionFcn's first map [16, 64, 49, 74]) and one
/// Adam step over 2.5 M parameters, on the fast <c>cpu</c> backend against the <c>cpu-reference</c>
/// loops. GB/s counts every operand read or written once.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*NormPoolAdamBenchmarks*'</c>.
/// </summary>
[Config(typeof(RatesConfig))]
public class NormPoolAdamBenchmarks
{
    private static readonly string[] BackendNames = ["cpu-reference", "cpu"];
    private const int N = 32, C = 32, HW = 25 * 62, AdamN = 2_500_000;
    private static readonly Pool2dGeometry Pool2 = new(N, C, 25, 62, 2, 2, 2, 2, 0, 0);
    private static readonly Pool2dGeometry Pool3 = new(16, 64, 49, 74, 3, 3, 2, 2, 0, 0);
    private Backend _be = null!;
    private Storage _x = null!, _y = null!, _dy = null!, _dx = null!, _c1 = null!, _c2 = null!, _c3 = null!, _c4 = null!;
    private Storage _arg = null!, _p = null!, _g = null!, _m = null!, _v = null!, _big = null!, _bigOut = null!, _bigArg = null!;

    /// <summary>Each case on both backends.</summary>
    public static IEnumerable<BytesCase> Cases =>
        from backend in BackendNames
        from c in new (string Name, double Bytes)[]
        {
            ("bn fwd 32x32x1550", 2.0 * N * C * HW * 4), ("bn bwd 32x32x1550", 3.0 * N * C * HW * 4),
            ("pool2 fwd 32x32", 1.5 * N * C * HW * 4), ("pool2 bwd 32x32", 1.5 * N * C * HW * 4),
            ("pool3s2 fwd 16x64", (1.0 + 2.0 * 24 * 36 / (49 * 74)) * 16 * 64 * 49 * 74 * 4),
            ("adam 2.5M", 7.0 * AdamN * 4),
        }
        select new BytesCase(c.Name, backend, c.Bytes);

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public BytesCase Case { get; set; } = null!;

    /// <summary>Random operands; the pool's argmax computed once for the backward case.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = BackendRegistry.Get(Case.Backend);
        var rng = new Generator(1);
        Storage R(int n) => Tensor.RandomNormal(new Shape(n), rng, backend: _be).KeepAlive().Storage;
        (_x, _y, _dy, _dx) = (R(N * C * HW), R(N * C * HW), R(N * C * HW), R(N * C * HW));
        (_c1, _c2, _c3, _c4) = (R(C), R(C), R(C), R(C));
        _arg = Tensor.Empty(new Shape(N * C * 12 * 31), DType.Int32, _be).KeepAlive().Storage;
        _be.MaxPool2dForward(_x, _y, _arg, Pool2);
        (_p, _g, _m, _v) = (R(AdamN), R(AdamN), R(AdamN), R(AdamN));
        _be.Unary(UnaryOp.Square, _v, _v, AdamN, 0f);
        _big = R(16 * 64 * 49 * 74);
        _bigOut = R(16 * 64 * 24 * 36);
        _bigArg = Tensor.Empty(new Shape(16 * 64 * 24 * 36), DType.Int32, _be).KeepAlive().Storage;
    }

    /// <summary>Runs the case.</summary>
    [Benchmark]
    public void Run()
    {
        switch (Case.Name)
        {
            case "bn fwd 32x32x1550": _be.BatchNorm2dForward(_x, _c1, _c2, _y, _c3, _c4, null, null, N, C, HW, 1e-5f, 0.1f, true); break;
            case "bn bwd 32x32x1550": _be.BatchNorm2dBackward(_dy, _x, _c1, _c3, _c4, _dx, _c2, _c2, N, C, HW, true); break;
            case "pool2 fwd 32x32": _be.MaxPool2dForward(_x, _y, _arg, Pool2); break;
            case "pool2 bwd 32x32": _be.MaxPool2dBackward(_dy, _arg, _dx, Pool2); break;
            case "pool3s2 fwd 16x64": _be.MaxPool2dForward(_big, _bigOut, _bigArg, Pool3); break;
            case "adam 2.5M": _be.AdamStep(_p, _g, _m, _v, AdamN, new AdamStepParams(1e-4f, 0.9f, 0.999f, 1e-8f, 0f, false, 10)); break;
            default: throw new InvalidOperationException(Case.Name);
        }
    }
}
