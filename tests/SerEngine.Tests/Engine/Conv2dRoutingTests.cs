using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Backends.Cpu.Conv2dPath;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast CPU backend's conv2d routing (<see cref="Conv2dRouting"/>): every conv layer of both
/// models at batches 1, 16 and 32, each pass, on an AVX2 + FMA machine (the table records the paths
/// the backend took before the routing became one function, issue 18, so a change of routing shows
/// up here as a changed row); other instruction sets; forced and disabled paths; the settings' syntax.
/// </summary>
public class Conv2dRoutingTests
{
    /// <summary>
    /// A conv layer of the models at batch <paramref name="n"/>: AttentionFcn on x [N, 1, 200, 300]
    /// (the bench case's frames) with the AlexNet widths 64, 192, 384, 256, 256 (<c>alexnet.*</c>) or
    /// the narrow 32, 64, 128, 128, 128 (<c>narrow.*</c>); FocusCalibrationNet on x [N, 1, 26, 63] (<c>fca.*</c>).
    /// </summary>
    internal static Conv2dGeometry Layer(string name, int n)
    {
        int[] alexnet = [64, 192, 384, 256, 256], narrow = [32, 64, 128, 128, 128];
        string[] parts = name.Split('.', 2);
        int[]? w = parts[0] switch { "alexnet" => alexnet, "narrow" => narrow, _ => null };
        return (w, parts[1]) switch
        {
            ({ } c, "features.0") => Same(n, 1, 200, 300, c[0], 11, 11, 4, 2, 2),
            ({ } c, "features.3") => Same(n, c[0], 24, 36, c[1], 5, 5, 1, 2, 2),
            ({ } c, "features.6") => Same(n, c[1], 11, 17, c[2], 3, 3, 1, 1, 1),
            ({ } c, "features.8") => Same(n, c[2], 11, 17, c[3], 3, 3, 1, 1, 1),
            ({ } c, "features.10") => Same(n, c[3], 11, 17, c[4], 3, 3, 1, 1, 1),
            (null, "conv1a") => Same(n, 1, 26, 63, 8, 10, 2, 1, 4, 0),
            (null, "conv1b") => Same(n, 1, 26, 63, 8, 2, 8, 1, 0, 3),
            (null, "conv2") => Same(n, 16, 25, 62, 32, 3, 3, 1, 1, 1),
            (null, "conv3") => Same(n, 32, 12, 31, 48, 3, 3, 1, 1, 1),
            (null, "conv4") => Same(n, 48, 6, 15, 64, 3, 3, 1, 1, 1),
            (null, "conv5") => Same(n, 64, 6, 15, 80, 3, 3, 1, 1, 1),
            _ => throw new ArgumentException($"unknown layer {name}", nameof(name)),
        };
    }

    private static Conv2dGeometry Same(int n, int c, int h, int w, int k, int r, int s, int stride, int padH, int padW) =>
        new(n, c, h, w, k, r, s, stride, stride, padH, padH, padW, padW, 1, 1);

    /// <summary>Layer, batch, then the path of the forward, packed-weight forward, backward-input and backward-weight passes.</summary>
    public static TheoryData<string, int, Conv2dPath, Conv2dPath, Conv2dPath, Conv2dPath> Table => new()
    {
        { "alexnet.features.0", 1, ChannelVector, ChannelVector, ImplicitGemm, ChannelVector },
        { "alexnet.features.3", 1, WinogradF25, WinogradF25, WinogradF25, WinogradF25 },
        { "alexnet.features.6", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.8", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.10", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "narrow.features.0", 1, ImplicitGemm, ImplicitGemm, ImplicitGemm, ChannelVector },
        { "narrow.features.3", 1, WinogradF25, WinogradF25, WinogradF25, WinogradF25 },
        { "narrow.features.6", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "narrow.features.8", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "narrow.features.10", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "fca.conv1a", 1, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fca.conv1b", 1, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fca.conv2", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ShiftedWindow },
        { "fca.conv3", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ShiftedWindow },
        { "fca.conv4", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ShiftedWindow },
        { "fca.conv5", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.0", 16, ChannelVector, ChannelVector, ImplicitGemm, ChannelVector },
        { "alexnet.features.3", 16, WinogradF25, WinogradF25, WinogradF25, WinogradF25 },
        { "alexnet.features.6", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "alexnet.features.8", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "alexnet.features.10", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "narrow.features.0", 16, ChannelVector, ChannelVector, ImplicitGemm, ChannelVector },
        { "narrow.features.3", 16, WinogradF25, WinogradF25, WinogradF25, WinogradF25 },
        { "narrow.features.6", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "narrow.features.8", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "narrow.features.10", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "fca.conv1a", 16, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fca.conv1b", 16, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fca.conv2", 16, WinogradF23, WinogradF23, WinogradF23, ChannelVector },
        { "fca.conv3", 16, WinogradF23, WinogradF23, WinogradF23, ChannelVector },
        { "fca.conv4", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "fca.conv5", 16, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "alexnet.features.0", 32, ChannelVector, ChannelVector, ImplicitGemm, ChannelVector },
        { "alexnet.features.3", 32, WinogradF25, WinogradF25, WinogradF25, WinogradF25 },
        { "alexnet.features.6", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "alexnet.features.8", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "alexnet.features.10", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "narrow.features.0", 32, ChannelVector, ChannelVector, ImplicitGemm, ChannelVector },
        { "narrow.features.3", 32, WinogradF25, WinogradF25, WinogradF25, WinogradF25 },
        { "narrow.features.6", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "narrow.features.8", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "narrow.features.10", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "fca.conv1a", 32, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fca.conv1b", 32, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fca.conv2", 32, WinogradF23, WinogradF23, WinogradF23, ChannelVector },
        { "fca.conv3", 32, WinogradF23, WinogradF23, WinogradF23, ChannelVector },
        { "fca.conv4", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
        { "fca.conv5", 32, WinogradF23, WinogradF23, WinogradF23, WinogradF23 },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void ModelLayersTakeTheirPaths(string layer, int batch, Conv2dPath forward, Conv2dPath packed, Conv2dPath backwardInput, Conv2dPath backwardWeight)
    {
        var g = Layer(layer, batch);
        Assert.Equal(forward, Choose(Conv2dPass.Forward, g));
        Assert.Equal(packed, Choose(Conv2dPass.ForwardPacked, g));
        Assert.Equal(backwardInput, Choose(Conv2dPass.BackwardInput, g));
        Assert.Equal(backwardWeight, Choose(Conv2dPass.BackwardWeight, g));
    }

    /// <summary>The rules alone on an AVX2 + FMA machine (the table holds on any machine).</summary>
    private static Conv2dPath Choose(Conv2dPass pass, in Conv2dGeometry g, Conv2dPathSettings settings = default) =>
        Conv2dRouting.Choose(pass, g, settings, Conv2dIsa.Avx2Fma);

    private static readonly Conv2dPass[] Passes = Enum.GetValues<Conv2dPass>();

    [Fact]
    public void TheBackendRoutesWithTheHostIsaAndItsSettings()
    {
        var fast = new CpuBackend(2) { Conv2dPaths = Conv2dPathSettings.Parse("-channel-vector,-winograd-f23") };
        var g = Layer("fca.conv2", 16);
        foreach (var pass in Passes)
            Assert.Equal(Conv2dRouting.Choose(pass, g, fast.Conv2dPaths, Conv2dIsa.Host), fast.ChooseConv2dPath(pass, g));
        if (Conv2dIsa.Host == Conv2dIsa.Avx2Fma) Assert.Equal(Conv2dPath.ShiftedWindow, fast.ChooseConv2dPath(Conv2dPass.Forward, g));
    }

    [Fact]
    public void WithoutSimdEveryPassRunsTheGemm()
    {
        foreach (var layer in new[] { "alexnet.features.0", "alexnet.features.3", "narrow.features.8", "fca.conv1a", "fca.conv2" })
            foreach (var pass in Passes)
                Assert.Equal(ImplicitGemm, Conv2dRouting.Choose(pass, Layer(layer, 16), default, new Conv2dIsa(false, false, false)));
    }

    [Fact]
    public void WithoutFmaOnlyTheDirectAndShiftedPathsRemain()
    {
        var avx = new Conv2dIsa(true, false, false);
        Assert.Equal(ShiftedWindow, Conv2dRouting.Choose(Conv2dPass.Forward, Layer("fca.conv2", 16), default, avx));
        Assert.Equal(ShiftedWindow, Conv2dRouting.Choose(Conv2dPass.ForwardPacked, Layer("fca.conv2", 1), default, avx));
        Assert.Equal(ShiftedWindow, Conv2dRouting.Choose(Conv2dPass.Forward, Layer("alexnet.features.3", 16), default, avx));
        Assert.Equal(ShiftedWindow, Conv2dRouting.Choose(Conv2dPass.BackwardInput, Layer("narrow.features.3", 16), default, avx));
        Assert.Equal(ImplicitGemm, Conv2dRouting.Choose(Conv2dPass.Forward, Layer("alexnet.features.0", 16), default, avx));
        Assert.Equal(OneChannelDirect, Conv2dRouting.Choose(Conv2dPass.BackwardWeight, Layer("fca.conv1b", 16), default, avx));
    }

    [Fact]
    public void AForcedPathRunsWhereItCanAndTheRulesElsewhere()
    {
        var f23 = Conv2dPathSettings.Parse("winograd-f23");
        Assert.Equal(WinogradF23, Choose(Conv2dPass.Forward, Layer("fca.conv2", 16), f23));        // 3×3: a per-call transform
        Assert.Equal(WinogradF23, Choose(Conv2dPass.BackwardInput, Layer("fca.conv2", 16), f23));
        Assert.Equal(WinogradF23, Choose(Conv2dPass.BackwardWeight, Layer("fca.conv2", 16), f23));
        Assert.Equal(ChannelVector, Choose(Conv2dPass.BackwardWeight, Layer("fca.conv2", 16), default)); // F(2×2, 3×3) backward-weight of under 48 channels only when forced
        Assert.Equal(WinogradF25, Choose(Conv2dPass.Forward, Layer("alexnet.features.3", 16), f23)); // 5×5: the rules
        Assert.Equal(OneChannelDirect, Choose(Conv2dPass.Forward, Layer("fca.conv1a", 1), f23));
        var shifted = Conv2dPathSettings.Default.Force(ShiftedWindow);
        Assert.Equal(ShiftedWindow, Choose(Conv2dPass.Forward, Layer("fca.conv1a", 1), shifted));    // one channel at stride 1: it can
        Assert.Equal(ChannelVector, Choose(Conv2dPass.Forward, Layer("alexnet.features.0", 16), shifted)); // stride 4: it cannot
        var gemm = Conv2dPathSettings.Parse("implicit-gemm");
        foreach (var pass in Passes) Assert.Equal(ImplicitGemm, Choose(pass, Layer("narrow.features.3", 32), gemm));
    }

    [Fact]
    public void DisabledPathsAreSkipped()
    {
        // the two old switches: Winograd off (packed and per-call), channel-vector kernels off
        var noWinograd = Conv2dPathSettings.Parse("-winograd-f23,-winograd-f25");
        Assert.Equal(ShiftedWindow, Choose(Conv2dPass.ForwardPacked, Layer("fca.conv2", 1), noWinograd));
        Assert.Equal(ChannelVector, Choose(Conv2dPass.Forward, Layer("alexnet.features.3", 16), noWinograd));
        Assert.Equal(ChannelVector, Choose(Conv2dPass.BackwardInput, Layer("narrow.features.3", 16), noWinograd));
        var neither = noWinograd.Disable(ChannelVector);
        Assert.Equal(ShiftedWindow, Choose(Conv2dPass.Forward, Layer("alexnet.features.3", 16), neither));
        Assert.Equal(ImplicitGemm, Choose(Conv2dPass.Forward, Layer("alexnet.features.0", 16), neither));
        Assert.Equal(ShiftedWindow, Choose(Conv2dPass.BackwardWeight, Layer("fca.conv2", 16), neither));
        Assert.Equal(ImplicitGemm, Choose(Conv2dPass.BackwardWeight, Layer("alexnet.features.6", 16), neither));
        // with the direct loops off, one channel at stride 1 has no other fast path (the shifted window wants several)
        Assert.Equal(ImplicitGemm, Choose(Conv2dPass.Forward, Layer("fca.conv1a", 16), Conv2dPathSettings.Parse("-one-channel-direct")));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData(" winograd-f23 ", "winograd-f23")]
    [InlineData("-Winograd_F25,-winograd-f23", "-winograd-f23,-winograd-f25")]
    [InlineData("-channel-vector, shifted-window", "shifted-window,-channel-vector")]
    [InlineData("IMPLICIT-GEMM,-one-channel-direct", "implicit-gemm,-one-channel-direct")]
    public void SettingsParseAndPrintByName(string text, string printed)
    {
        var settings = Conv2dPathSettings.Parse(text);
        Assert.Equal(printed, settings.ToString());
        Assert.Equal(settings, Conv2dPathSettings.Parse(printed));
    }

    [Theory]
    [InlineData("winograd", "not a CPU conv2d path")]
    [InlineData("winograd-f23,channel-vector", "force one at most")]
    [InlineData("winograd-f23,-winograd-f23", "cannot be disabled too")]
    [InlineData("-shifted-window,shifted-window", "cannot be forced too")]
    [InlineData("-implicit-gemm", "cannot be disabled")]
    public void BadSettingsAreRefusedNamingTheProblem(string text, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Conv2dPathSettings.Parse(text));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ConvBenchmarkRowsNameTheirPath()
    {
        string[] methods = ["Forward", "BackwardInput", "BackwardWeight", "ForwardRelu"];
        foreach (var c in SerEngine.Benchmarks.Conv2dBenchmarks.Cases.Concat(SerEngine.Benchmarks.Conv2dPackedBenchmarks.Cases))
            foreach (var method in methods)
            {
                if (c.Backend == "cpu-reference") Assert.Equal("-", c.PathName(method));
                else Assert.Contains(c.PathName(method), Conv2dPathNames.All);
            }
        if (Conv2dIsa.Host != Conv2dIsa.Avx2Fma) return;
        // the bench case's 5×5 layer: Winograd on cpu, the kernels it replaced on the variants
        var g = Layer("alexnet.features.3", 16);
        Assert.Equal("winograd-f25", new SerEngine.Benchmarks.Conv2dCase("5x5", "cpu", g).PathName("Forward"));
        Assert.Equal("channel-vector", new SerEngine.Benchmarks.Conv2dCase("5x5", "cpu-channels", g).PathName("Forward"));
        Assert.Equal("shifted-window", new SerEngine.Benchmarks.Conv2dCase("5x5", "cpu-shifted", g).PathName("Forward"));
        Assert.Equal("winograd-f23", new SerEngine.Benchmarks.Conv2dCase("conv2", "cpu", Layer("fca.conv2", 1)).PathName("ForwardRelu"));
        Assert.Equal("shifted-window", new SerEngine.Benchmarks.Conv2dCase("conv2", "cpu-direct", Layer("fca.conv2", 1)).PathName("ForwardRelu"));
    }

    [Fact]
    public void EveryPathHasOneName()
    {
        Assert.Equal(Enum.GetValues<Conv2dPath>().Length, Conv2dPathNames.All.Distinct().Count());
        foreach (var path in Enum.GetValues<Conv2dPath>()) Assert.Equal(path, Conv2dPathNames.Parse(Conv2dPathNames.Of(path)));
    }
}
