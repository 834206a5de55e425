using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Models;
using SerEngine.Optim;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The CPU pool hands out arrays longer than their storages (size classes); nothing past a storage's
/// length may enter a result or come out of a tensor. With the slack test setting every array is
/// longer still and its tail is NaN, and training steps of both models give the same bits as with
/// exact arrays (the whole suite also runs once with <c>SERENGINE_CPU_POOL_SLACK_TEST=1</c>).
/// </summary>
public sealed class CpuPoolSlackTests
{
    private static CpuReferenceBackend Make(bool fast, bool slack)
    {
        var pool = new CpuBufferPool { CapacityBytes = 256L << 20, SlackTest = slack };
        return fast ? new CpuBackend(2) { Pool = pool } : new CpuReferenceBackend { Pool = pool };
    }

    [Fact]
    public void TheTailIsNotVisibleThroughTensors()
    {
        var be = Make(fast: true, slack: true);
        var t = Tensor.FromArray([.. Enumerable.Range(0, 1000).Select(i => (float)i)], new Shape(10, 100), be);
        Assert.True(((CpuStorage)t.Storage).F.Length > 1000);
        var values = t.ToArray();
        Assert.Equal(1000, values.Length);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (float)i), values);
        var labels = Tensor.FromArray([.. Enumerable.Range(0, 100)], new Shape(100), be);
        Assert.Equal(Enumerable.Range(0, 100), labels.ToInt32Array());
        var sum = Ops.Sum(t);                              // a reduction over the whole storage stops at its length
        Assert.Equal(499500f, sum.ToArray()[0]);
        var host = SerEngine.IO.HostTensor.FromTensor(t);
        Assert.Equal(1000, host.Floats!.Length);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AttentionFcnStepsGiveTheSameBitsWithPoisonedTails(bool fast)
    {
        var exact = Run(Make(fast, slack: false), FcnSteps);
        var slack = Run(Make(fast, slack: true), FcnSteps);
        Assert.Equal(exact.Count, slack.Count);
        for (int i = 0; i < exact.Count; i++) Assert.True(exact[i].AsSpan().SequenceEqual(slack[i]), $"result {i} differs");
    }

    [Fact]
    public void FocusCalibrationNetStepsGiveTheSameBitsWithPoisonedTails()
    {
        var exact = Run(Make(true, slack: false), FcaSteps);
        var slack = Run(Make(true, slack: true), FcaSteps);
        Assert.Equal(exact.Count, slack.Count);
        for (int i = 0; i < exact.Count; i++) Assert.True(exact[i].AsSpan().SequenceEqual(slack[i]), $"result {i} differs");
    }

    private static List<float[]> Run(Backend be, Func<Backend, List<float[]>> steps) => steps(be);

    // two training steps on variable-length batches (batch norm over valid frames, dropout, Adam), then an eval forward
    private static List<float[]> FcnSteps(Backend be)
    {
        var rng = new Generator(11);
        var model = new AttentionFcn(new AttentionFcnConfig(4, Widths: [8, 12, 16, 12, 8], Dropout: 0.3f, BatchNorm: true), rng, be);
        var adam = new Adam(model.Parameters(), 1e-2f);
        var results = new List<float[]>();
        int[][] batches = [[97, 131, 67], [150, 64]];
        foreach (var lengths in batches)
        {
            model.Train();
            int t = lengths.Max();
            var x = Tensor.RandomNormal(new Shape(lengths.Length, 1, 64, t), rng, backend: be);
            var labels = Tensor.FromArray([.. lengths.Select(l => l % 4)], new Shape(lengths.Length), be);
            adam.ZeroGrad();
            var (logits, alpha) = model.Forward(x, lengths);
            var loss = Ops.CrossEntropy(logits, labels);
            loss.Backward();
            results.Add(logits.ToArray());
            results.Add(alpha.ToArray());
            results.AddRange(model.Parameters().Select(p => p.Grad!.ToArray()));
            adam.Step();
        }
        model.Eval();
        results.Add(model.Forward(Tensor.RandomNormal(new Shape(2, 1, 64, 77), rng, backend: be), [77, 70]).Logits.ToArray());
        results.AddRange(model.Parameters().Select(p => p.ToArray()));
        return results;
    }

    private static List<float[]> FcaSteps(Backend be)
    {
        var rng = new Generator(12);
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, 26, 3, 8, Dropout: 0.2f), rng, be);
        var adam = new Adam(model.Parameters(), 1e-2f);
        var results = new List<float[]>();
        for (int step = 0; step < 2; step++)
        {
            model.Train();
            var x = Tensor.RandomNormal(new Shape(5, 1, 26, 37), rng, backend: be);
            var labels = Tensor.FromArray([0, 1, 2, 3, 1], new Shape(5), be);
            adam.ZeroGrad();
            var (logits, _) = model.Forward(x);
            Ops.CrossEntropy(logits, labels).Backward();
            results.Add(logits.ToArray());
            results.AddRange(model.Parameters().Select(p => p.Grad!.ToArray()));
            adam.Step();
        }
        model.Eval();
        results.Add(model.Forward(Tensor.RandomNormal(new Shape(1, 1, 26, 41), rng, backend: be)).Logits.ToArray());
        return results;
    }
}
