using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Several linear layers on the same x (attention's query, key and value projections), whose GEMMs share one
/// packing of x: each output bit for bit its own <see cref="Backend.LinearForward"/> on the same backend, and
/// <see cref="Ops.LinearMany"/>'s outputs and every gradient bit for bit those of separate <see cref="Ops.Linear"/>
/// calls. FocusCalibrationNet's shape, ragged ones, a k split, the one-row path, with and without bias;
/// one to three threads, both kernel widths.
/// </summary>
public class CpuFastLinearManyTests
{
    [Theory]
    [InlineData(480, 256, 480)]
    [InlineData(480, 256, 256)]
    [InlineData(100, 77, 300)]
    [InlineData(30, 40, 2048)]
    [InlineData(1, 33, 64)]
    public void SharedPackingOfXIsEachLayersOwnForwardBitForBit(int m, int outF, int inF)
    {
        var rng = new Generator((ulong)(m * 11 + outF * 3 + inF));
        var x = Random(rng, m * inF);
        Storage[] ws = [Random(rng, outF * inF), Random(rng, outF * inF), Random(rng, outF * inF)];
        Storage[] bs = [Random(rng, outF), Random(rng, outF), Random(rng, outF)];
        foreach (var kind in new[] { GemmKernelKind.Vector256, GemmKernelKind.Vector512 })
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend { Threads = threads, GemmKernel = kind };
                foreach (bool withBias in new[] { true, false })
                {
                    Storage?[] biases = withBias ? bs : new Storage?[3];
                    Storage[] many = [.. ws.Select(_ => Ref.Allocate(m * outF, DType.Float32))];
                    fast.LinearForwardMany(x, ws, biases, many, m, outF, inF);
                    for (int l = 0; l < ws.Length; l++)
                    {
                        var one = Ref.Allocate(m * outF, DType.Float32);
                        fast.LinearForward(x, ws[l], biases[l], one, m, outF, inF);
                        string what = $"{kind} t{threads} {m}x{outF}x{inF} bias {withBias} layer {l}";
                        Assert.True(Read(one).AsSpan().SequenceEqual(Read(many[l])), $"shared packing differs from the layer's own forward: {what}");
                    }
                }
            }
        }
    }

    [Fact]
    public void LinearManyGivesLinearsOutputsAndGradientsBitForBit()
    {
        var be = new CpuBackend { Threads = 2 };
        var rng = new Generator(5);
        var x = Tensor.RandomNormal(new Shape(4, 15, 96), rng, backend: be);
        var ws = Enumerable.Range(0, 3).Select(_ => Tensor.RandomNormal(new Shape(64, 96), rng, backend: be)).ToArray();
        var bs = Enumerable.Range(0, 3).Select(_ => Tensor.RandomNormal(new Shape(64), rng, backend: be)).ToArray();
        var up = Enumerable.Range(0, 3).Select(_ => Tensor.RandomNormal(new Shape(4, 15, 64), rng, backend: be)).ToArray();
        (float[][] Ys, float[][] Grads) Run(bool many)
        {
            var xs = x.Clone();
            xs.RequiresGrad = true;
            var wl = ws.Select(w => { var c = w.Clone(); c.RequiresGrad = true; return c; }).ToArray();
            var bl = bs.Select(b => { var c = b.Clone(); c.RequiresGrad = true; return c; }).ToArray();
            var ys = many ? Ops.LinearMany(xs, wl, bl) : [.. Enumerable.Range(0, 3).Select(l => Ops.Linear(xs, wl[l], bl[l]))];
            var loss = (ys[0] * up[0]).Sum() + (ys[1] * up[1]).Sum() + (ys[2] * up[2]).Sum();
            loss.Backward();
            return ([.. ys.Select(y => y.ToArray())], [xs.Grad!.ToArray(), .. wl.Select(w => w.Grad!.ToArray()), .. bl.Select(b => b.Grad!.ToArray())]);
        }
        var (ysOne, gradsOne) = Run(false);
        var (ysMany, gradsMany) = Run(true);
        for (int l = 0; l < 3; l++) Assert.True(ysOne[l].AsSpan().SequenceEqual(ysMany[l]), $"output {l} differs");
        for (int g = 0; g < gradsOne.Length; g++) Assert.True(gradsOne[g].AsSpan().SequenceEqual(gradsMany[g]), $"gradient {g} differs");
    }
}
