using BenchmarkDotNet.Attributes;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>
/// The fused attention softmax (the <c>softmax.biased_masked.fwd_bwd.32x4x128x128</c> layout: 16384
/// rows of 128 keys, scale 0.125, bias, keys ≥ 100 masked) forward and backward, and the plain row
/// softmax, on the fast <c>cpu</c> backend against the <c>cpu-reference</c> loops. GB/s counts x,
/// bias and y (forward), y, dy and dx (backward) once each.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*SoftmaxBenchmarks*'</c>.
/// </summary>
[Config(typeof(RatesConfig))]
public class SoftmaxBenchmarks
{
    private static readonly string[] BackendNames = ["cpu-reference", "cpu"];
    private static readonly string[] CaseNames = ["masked fwd", "masked bwd", "softmax fwd"];
    private const int Rows = 32 * 4 * 128, Cols = 128;
    private Backend _be = null!;
    private Storage _x = null!, _bias = null!, _y = null!, _dy = null!, _dx = null!, _mask = null!;

    /// <summary>Each case on both backends.</summary>
    public static IEnumerable<BytesCase> Cases =>
        from backend in BackendNames
        from name in CaseNames
        select new BytesCase(name, backend, 3.0 * Rows * Cols * 4);

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public BytesCase Case { get; set; } = null!;

    /// <summary>Random scores, bias and upstream gradient; the key mask; y computed once for the backward case.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = BackendRegistry.Get(Case.Backend);
        var rng = new Generator(1);
        Storage R() => Tensor.RandomNormal(new Shape(Rows, Cols), rng, backend: _be).KeepAlive().Storage;
        (_x, _bias, _y, _dy, _dx) = (R(), R(), R(), R(), R());
        var m = new int[32 * Cols];
        for (int i = 0; i < m.Length; i++) m[i] = i % Cols < 100 ? 1 : 0;
        _mask = Tensor.FromArray(m, new Shape(32, Cols), _be).KeepAlive().Storage;
        _be.BiasedSoftmax(_x, _bias, _mask, _y, Rows, Cols, 4 * 128, 0.125f);
    }

    /// <summary>Runs the case.</summary>
    [Benchmark]
    public void Run()
    {
        switch (Case.Name)
        {
            case "masked fwd": _be.BiasedSoftmax(_x, _bias, _mask, _y, Rows, Cols, 4 * 128, 0.125f); break;
            case "masked bwd": _be.BiasedSoftmaxBackward(_y, _dy, _dx, null, Rows, Cols, 0.125f); break;
            case "softmax fwd": _be.Softmax(_x, _dx, Rows, Cols, log: false); break;
            default: throw new InvalidOperationException(Case.Name);
        }
    }
}
