using SerEngine.Backends;
using SerEngine.Optim;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Adam and AdamW against the PyTorch fixtures, SGD against hand-computed steps, optimizer state
/// surviving per-step scopes, and the state-dict round trip.
/// </summary>
public class OptimizerTests
{
    public static TheoryData<string> Backends => GradCheck.CpuBackends;

    [Theory]
    [MemberData(nameof(Backends))]
    public void AdamMatchesPyTorchFixture(string backendName) => RunAdamFixture("adam", BackendRegistry.Get(backendName));

    [Theory]
    [MemberData(nameof(Backends))]
    public void AdamWMatchesPyTorchFixture(string backendName) => RunAdamFixture("adamw", BackendRegistry.Get(backendName));

    private static void RunAdamFixture(string name, Backend be)
    {
        var f = FixtureFile.Load(name);
        var ps = f.Params;
        float lr = ps.GetProperty("lr").GetSingle();
        var betas = ps.GetProperty("betas").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        float eps = ps.GetProperty("eps").GetSingle();
        float wd = ps.GetProperty("weight_decay").GetSingle();
        int steps = ps.GetProperty("steps").GetInt32();
        Assert.True(wd > 0, "the fixture should exercise weight decay");

        var p = f.Tensor("in.param", be);
        p.RequiresGrad = true;
        Adam opt = name == "adamw" ? new AdamW([p], lr, (betas[0], betas[1]), eps, wd) : new Adam([p], lr, (betas[0], betas[1]), eps, wd);
        Assert.Null(opt.GetState(p));
        for (int t = 0; t < steps; t++)
        {
            // L = Σ p·g gives dL/dp = g exactly
            var g = f.Tensor($"in.grad_step{t}", be);
            (p * g).Sum().Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        var state = opt.GetState(p);
        Assert.NotNull(state);
        Assert.Equal(steps, state.Value.Step);
        f.AssertClose("out.param", p.ToArray());
        f.AssertClose("out.exp_avg", state.Value.ExpAvg.ToArray());
        f.AssertClose("out.exp_avg_sq", state.Value.ExpAvgSq.ToArray());
    }

    [Fact]
    public void AdamAndAdamWDifferOnlyInHowTheyDecay()
    {
        // with wd = 0 both are plain Adam; with wd > 0 they differ
        var be = BackendRegistry.Get("cpu-reference");
        float[] Run(bool decoupled, float wd)
        {
            var p = Tensor.FromArray([1f, -2f, 3f], new Shape(3), be);
            p.RequiresGrad = true;
            Adam opt = decoupled ? new AdamW([p], 0.1f, weightDecay: wd) : new Adam([p], 0.1f, weightDecay: wd);
            for (int t = 0; t < 2; t++)
            {
                (p * Tensor.FromArray([0.5f, 0.25f, -1f], new Shape(3), be)).Sum().Backward();
                opt.Step();
                opt.ZeroGrad();
            }
            return p.ToArray();
        }
        Assert.Equal(Run(false, 0f), Run(true, 0f));
        Assert.NotEqual(Run(false, 0.5f), Run(true, 0.5f));
        // the first Adam step moves every element by lr·sign(g) (up to eps)
        var p1 = Tensor.FromArray([1f, -2f], new Shape(2), be);
        p1.RequiresGrad = true;
        var adam = new Adam([p1], 0.1f);
        (p1 * Tensor.FromArray([3f, -0.001f], new Shape(2), be)).Sum().Backward();
        adam.Step();
        Assert.Equal(0.9f, p1.ToArray()[0], 5);
        Assert.Equal(-1.9f, p1.ToArray()[1], 4);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void AdamWeightDecayIsL2AndAdamWDecaysFirst(string backendName)
    {
        // Adam(wd) on g equals Adam(0) on g + wd·p; AdamW(wd) equals p *= 1 − lr·wd, then Adam(0)
        var be = BackendRegistry.Get(backendName);
        const float lr = 0.1f, wd = 0.5f;
        float[] init = [1f, -2f, 3f];
        float[][] grads = [[0.5f, 0.25f, -1f], [-0.3f, 0.2f, 0.1f], [0.05f, -0.4f, 0.6f]];
        Tensor NewParam()
        {
            var t = Tensor.FromArray(init, new Shape(3), be);
            t.RequiresGrad = true;
            return t;
        }
        var pL2 = NewParam();
        var pL2Manual = NewParam();
        var pW = NewParam();
        var pWManual = NewParam();
        var adamL2 = new Adam([pL2], lr, weightDecay: wd);
        var adamL2Manual = new Adam([pL2Manual], lr);
        var adamW = new AdamW([pW], lr, weightDecay: wd);
        var adamWManual = new Adam([pWManual], lr);
        foreach (var g in grads)
        {
            var gt = Tensor.FromArray(g, new Shape(3), be);
            (pL2 * gt).Sum().Backward();
            var gPlusL2 = pL2Manual.ToArray().Select((v, i) => g[i] + wd * v).ToArray();
            (pL2Manual * Tensor.FromArray(gPlusL2, new Shape(3), be)).Sum().Backward();
            (pW * gt).Sum().Backward();
            be.Unary(UnaryOp.Scale, pWManual.Storage, pWManual.Storage, 3, 1f - lr * wd);
            (pWManual * gt).Sum().Backward();
            foreach (var o in new Optimizer[] { adamL2, adamL2Manual, adamW, adamWManual })
            {
                o.Step();
                o.ZeroGrad();
            }
        }
        var l2 = pL2.ToArray();
        var l2Manual = pL2Manual.ToArray();
        var w = pW.ToArray();
        var wManual = pWManual.ToArray();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(l2Manual[i], l2[i], 5);
            Assert.Equal(wManual[i], w[i], 5);
        }
        Assert.NotEqual(l2[0], w[0], 3);
    }

    public static TheoryData<string, float, float, float, bool, float[], float[]> SgdCases => new()
    {
        // p0 = [1, −2, 0.5], g1 = [0.5, 1, −0.25], g2 = [−1, 0.25, 2], lr = 0.1.
        // Plain: p1 = p0 − 0.1·g1 = [0.95, −2.1, 0.525]; p2 = p1 − 0.1·g2.
        { "cpu-reference", 0f, 0f, 0f, false, [0.95f, -2.1f, 0.525f], [1.05f, -2.125f, 0.325f] },
        { "cpu", 0f, 0f, 0f, false, [0.95f, -2.1f, 0.525f], [1.05f, -2.125f, 0.325f] },
        // momentum 0.9, dampening 0.1, wd 0.01: d1 = g1 + 0.01·p0 = [0.51, 0.98, −0.245] = buf1,
        // p1 = p0 − 0.1·buf1; d2 = g2 + 0.01·p1 = [−0.99051, 0.22902, 2.005245],
        // buf2 = 0.9·buf1 + 0.9·d2 = [−0.432459, 1.088118, 1.5842205], p2 = p1 − 0.1·buf2.
        { "cpu-reference", 0.9f, 0.1f, 0.01f, false, [0.949f, -2.098f, 0.5245f], [0.9922459f, -2.2068118f, 0.36607795f] },
        { "cpu", 0.9f, 0.1f, 0.01f, false, [0.949f, -2.098f, 0.5245f], [0.9922459f, -2.2068118f, 0.36607795f] },
        // Nesterov, momentum 0.9, wd 0.01: buf1 = d1, p1 = p0 − 0.1·(d1 + 0.9·buf1) = p0 − 0.19·d1;
        // d2 = g2 + 0.01·p1 = [−0.990969, 0.228138, 2.0054655], buf2 = 0.9·buf1 + d2
        // = [−0.531969, 1.110138, 1.7849655], p2 = p1 − 0.1·(d2 + 0.9·buf2).
        { "cpu-reference", 0.9f, 0f, 0.01f, true, [0.9031f, -2.1862f, 0.54655f], [1.05007411f, -2.30892622f, 0.185356555f] },
        { "cpu", 0.9f, 0f, 0.01f, true, [0.9031f, -2.1862f, 0.54655f], [1.05007411f, -2.30892622f, 0.185356555f] },
    };

    [Theory]
    [MemberData(nameof(SgdCases))]
    public void SgdMatchesHandComputedSteps(string backendName, float momentum, float dampening, float wd, bool nesterov, float[] afterStep1, float[] afterStep2)
    {
        var be = BackendRegistry.Get(backendName);
        var p = Tensor.FromArray([1f, -2f, 0.5f], new Shape(3), be);
        p.RequiresGrad = true;
        var opt = new Sgd([p], 0.1f, momentum, dampening, wd, nesterov);
        float[][] grads = [[0.5f, 1f, -0.25f], [-1f, 0.25f, 2f]];
        float[][] expected = [afterStep1, afterStep2];
        for (int t = 0; t < 2; t++)
        {
            (p * Tensor.FromArray(grads[t], new Shape(3), be)).Sum().Backward();
            opt.Step();
            opt.ZeroGrad();
            var actual = p.ToArray();
            for (int i = 0; i < 3; i++) Assert.Equal(expected[t][i], actual[i], 5);
        }
        Assert.Equal(momentum != 0f, opt.GetMomentumBuffer(p) is not null);
    }

    [Fact]
    public void SgdRejectsNesterovWithoutMomentum()
    {
        var p = Tensor.Zeros(new Shape(2), BackendRegistry.Get("cpu-reference"));
        Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1f, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], betas: (1f, 0.999f)));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void OptimizerStateSurvivesPerStepScopes(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(21);
        var init = Tensor.RandomNormal(new Shape(4, 3), rng, backend: be).ToArray();
        var target = Tensor.RandomNormal(new Shape(4, 3), rng, backend: be).ToArray();

        // the same 5 steps with and without a scope per step must agree exactly
        (float[] Param, float[] M, float[] V, float[] Buf) Train(bool scoped)
        {
            var w = Tensor.FromArray(init, new Shape(4, 3), be);
            var u = Tensor.FromArray(init, new Shape(4, 3), be);
            w.RequiresGrad = true;
            u.RequiresGrad = true;
            var adam = new Adam([w], 0.05f, weightDecay: 0.01f);
            var sgd = new Sgd([u], 0.05f, momentum: 0.9f);
            for (int step = 0; step < 5; step++)
            {
                var scope = scoped ? TensorScope.Begin() : null;
                var t = Tensor.FromArray(target, new Shape(4, 3), be);
                var loss = Ops.Square(w - t).Mean() + Ops.Square(u - t).Mean();
                loss.Backward();
                adam.Step();
                sgd.Step();
                adam.ZeroGrad();
                sgd.ZeroGrad();
                if (scope is not null)
                {
                    Assert.True(scope.Count > 0, "the scope should own this step's temporaries");
                    scope.Dispose();
                    Assert.True(t.IsDisposed, "the scope should release the step's tensors");
                }
            }
            var s = adam.GetState(w)!.Value;
            Assert.Equal(5, s.Step);
            Assert.False(s.ExpAvg.IsDisposed || s.ExpAvgSq.IsDisposed || w.IsDisposed, "optimizer state was released by a scope");
            Assert.False(sgd.GetMomentumBuffer(u)!.IsDisposed, "momentum buffer was released by a scope");
            return (w.ToArray(), s.ExpAvg.ToArray(), s.ExpAvgSq.ToArray(), sgd.GetMomentumBuffer(u)!.ToArray());
        }

        var plain = Train(scoped: false);
        var scoped = Train(scoped: true);
        Assert.Equal(plain.Param, scoped.Param);
        Assert.Equal(plain.M, scoped.M);
        Assert.Equal(plain.V, scoped.V);
        Assert.Equal(plain.Buf, scoped.Buf);
        Assert.NotEqual(init, plain.Param);
    }

    [Fact]
    public void ParametersWithoutGradientsAreSkipped()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var a = Tensor.FromArray([1f, 2f], new Shape(2), be);
        var b = Tensor.FromArray([3f, 4f], new Shape(2), be);
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        var opt = new Adam([a, b], 0.1f);
        (a * 2f).Sum().Backward();
        opt.Step();
        Assert.NotNull(opt.GetState(a));
        Assert.Null(opt.GetState(b));
        Assert.Equal([3f, 4f], b.ToArray());
        Assert.NotEqual([1f, 2f], a.ToArray());
        Assert.Throws<ArgumentException>(() => opt.GetState(Tensor.Zeros(new Shape(2), be)));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void StateDictRoundTrip(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(22);
        var init0 = Tensor.RandomNormal(new Shape(2, 3), rng, backend: be).ToArray();
        var init1 = Tensor.RandomNormal(new Shape(5), rng, backend: be).ToArray();
        Tensor[] MakeParams()
        {
            var p0 = Tensor.FromArray(init0, new Shape(2, 3), be);
            var p1 = Tensor.FromArray(init1, new Shape(5), be);
            p0.RequiresGrad = true;
            p1.RequiresGrad = true;
            return [p0, p1];
        }
        void Step(Optimizer opt, Tensor[] ps, int t)
        {
            var loss = Ops.Square(ps[0] * (1f + t)).Sum() + Ops.Square(ps[1] - 0.5f * t).Sum();
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }

        foreach (var kind in new[] { "adam", "adamw", "sgd" })
        {
            Optimizer Make(Tensor[] ps) => kind switch
            {
                "adam" => new Adam(ps, 0.05f, weightDecay: 0.01f),
                "adamw" => new AdamW(ps, 0.05f),
                _ => new Sgd(ps, 0.05f, momentum: 0.9f, dampening: 0.1f),
            };
            var psA = MakeParams();
            var a = Make(psA);
            Step(a, psA, 0);
            Step(a, psA, 1);
            var sd = a.StateDict();
            string[] names = kind == "sgd"
                ? ["state.0.momentum_buffer", "state.1.momentum_buffer"]
                : ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step", "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.step"];
            Assert.Equal(names.Order(StringComparer.Ordinal), sd.Keys.Order(StringComparer.Ordinal));
            if (kind != "sgd")
            {
                Assert.Equal([2f], sd["state.0.step"].ToArray());
                Assert.Equal(new Shape(2, 3), sd["state.0.exp_avg"].Shape);
            }

            // a fresh optimizer over the same parameter values, loaded with the state, continues identically
            var psB = MakeParams();
            for (int i = 0; i < 2; i++) be.CopyBlocks(psA[i].Storage, 0, 0, psB[i].Storage, 0, 0, psA[i].Size, 1);
            var b = Make(psB);
            b.LoadStateDict(sd);
            Step(a, psA, 2);
            Step(b, psB, 2);
            Assert.Equal(psA[0].ToArray(), psB[0].ToArray());
            Assert.Equal(psA[1].ToArray(), psB[1].ToArray());
            // the exported tensors are copies: stepping did not change them
            var sd2 = a.StateDict();
            Assert.NotEqual(sd[names[0]].ToArray(), sd2[names[0]].ToArray());
        }
    }

    [Fact]
    public void LoadStateDictRejectsBadEntries()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var p = Tensor.Zeros(new Shape(3), be);
        var opt = new Adam([p]);
        var m = Tensor.Zeros(new Shape(3), be);
        var step = Tensor.FromArray([1f], new Shape(1), be);
        var ex = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(new Dictionary<string, Tensor> { ["state.1.exp_avg"] = m }));
        Assert.Contains("state.1.exp_avg", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(new Dictionary<string, Tensor> { ["state.0.exp_avg"] = m, ["state.0.step"] = step }));
        Assert.Contains("incomplete", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["state.0.exp_avg"] = Tensor.Zeros(new Shape(4), be), ["state.0.exp_avg_sq"] = m, ["state.0.step"] = step,
        }));
        Assert.Contains("[4]", ex.Message, StringComparison.Ordinal);
        Assert.Null(opt.GetState(p));
    }
}
