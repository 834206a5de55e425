using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Nn;
using SerEngine.Optim;

namespace SerEngine.Tests.Nn;

[Collection(ProcessWideCollection.Name)]
public class MemoryTests
{
    private sealed class TinyNet : Layer
    {
        private readonly Sequential _features;
        private readonly Linear _fc;

        public TinyNet(Generator rng)
        {
            _features = RegisterModule("features", new Sequential(
                new Conv2d(1, 4, (3, 3), rng, padding: (1, 1)),
                new BatchNorm2d(4),
                new Relu(),
                new MaxPool2d((2, 2))));
            _fc = RegisterModule("fc", new Linear(4 * 4 * 4, 3, rng));
        }

        public override Tensor Forward(Tensor x) => _fc.Forward(Ops.Flatten(_features.Forward(x), 1));
    }

    [Fact]
    public void TrainingStepsKeepMemoryFlatOverAThousandSteps()
    {
        var backend = BackendRegistry.Get("cpu");
        var rng = new Generator(11);
        var model = new TinyNet(rng);
        var opt = new Adam(model.Parameters(), lr: 1e-2f);
        var x = new float[8 * 64];
        var labels = new int[8];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 3;

        long liveAfterWarmup = 0, managedAfterWarmup = 0;
        float firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < 1000; step++)
        {
            using (TensorScope.Begin())
            {
                var input = Tensor.FromArray(x, new Shape(8, 1, 8, 8), backend);
                var target = Tensor.FromArray(labels, new Shape(8), backend);
                var loss = Ops.CrossEntropy(model.Forward(input), target);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                lastLoss = loss.Item();
                if (step == 0) firstLoss = lastLoss;
            }
            if (step == 20)
            {
                liveAfterWarmup = backend.LiveBytes;
                managedAfterWarmup = GC.GetTotalMemory(forceFullCollection: true);
            }
        }
        long live = backend.LiveBytes;
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(liveAfterWarmup, live);                          // every step releases what it allocated
        Assert.True(managed - managedAfterWarmup < 2_000_000, $"managed heap grew by {managed - managedAfterWarmup} bytes over 980 steps");
        Assert.True(lastLoss < firstLoss * 0.5f, $"the loss should fall on a fixed batch: {firstLoss} -> {lastLoss}");
    }

    [Fact]
    public void ScopeReleasesIntermediatesButKeepsParametersAndGradients()
    {
        var backend = BackendRegistry.Get("cpu-reference");
        var lin = new Linear(3, 2, new Generator(1), backend: backend);
        long before = backend.LiveBytes;
        Tensor kept;
        using (var scope = TensorScope.Begin())
        {
            var y = lin.Forward(Tensor.Ones(new Shape(4, 3), backend)).Sum();
            y.Backward();
            kept = scope.Keep(y * 2f);
            Assert.True(scope.Count > 3);
        }
        Assert.False(kept.IsDisposed);
        Assert.False(lin.Weight.IsDisposed);
        Assert.NotNull(lin.Weight.Grad);
        Assert.False(lin.Weight.Grad!.IsDisposed);
        // what is left: the kept scalar and the two gradients
        Assert.Equal(before + 4 + 4 * (2 * 3 + 2), backend.LiveBytes);
        lin.ZeroGrad();
        kept.Dispose();
        Assert.Equal(before, backend.LiveBytes);
    }

    [Fact]
    public void BackwardReleasesEachGradientOnceItsNodeHasRun()
    {
        var backend = BackendRegistry.Get("cpu-reference");
        using var scope = TensorScope.Begin();
        var x = Tensor.Ones(new Shape(1000), backend);
        x.RequiresGrad = true;
        var a = x * x;                      // [1000]
        var b = Ops.Exp(a) + a;             // a used twice: its gradient is a sum
        var loss = b.Sum();
        long forward = backend.LiveBytes;
        loss.Backward();
        // left beside the forward tensors: x.Grad only; dloss, db, da (and the seed) were released on the way
        Assert.Equal(forward + 4 * 1000, backend.LiveBytes);
        Assert.Equal(2f + 2f * MathF.E, x.Grad!.ToArray()[0], 5);   // d/dx (e^{x²} + x²) at 1
        var seed = Tensor.Ones(loss.Shape, backend);
        x.Grad = null;
        var c = (x * 3f).Sum();
        Graph.Backward([c], [seed]);
        Assert.False(seed.IsDisposed);      // a seed the caller gave stays theirs
        Assert.Equal(3f, x.Grad!.ToArray()[999]);
    }

    [Fact]
    public void UsingAReleasedTensorSaysWhy()
    {
        Tensor t;
        using (TensorScope.Begin()) t = Tensor.Zeros(new Shape(2));
        var e = Assert.Throws<ObjectDisposedException>(() => t.ToArray());
        Assert.Contains("TensorScope", e.Message);
    }
}
