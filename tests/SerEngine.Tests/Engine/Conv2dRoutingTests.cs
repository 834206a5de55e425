using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Backends.Cpu.Conv2dPath;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast CPU backend's conv2d routing at every conv layer of both models, batches 1, 16 and 32,
/// for each pass: the table records the paths the backend took before the routing became one
/// function (issue 18), so a change of routing shows up here as a changed row.
/// </summary>
public class Conv2dRoutingTests
{
    /// <summary>
    /// A conv layer of the models at batch <paramref name="n"/>: AttentionFcn on x [N, 1, 200, 300]
    /// (the bench case's frames) with the AlexNet widths 64, 192, 384, 256, 256 (<c>alexnet.*</c>) or
    /// the narrow 32, 64, 128, 128, 128 (<c>narrow.*</c>); FocusCalibrationNet on x [N, 1, 26, 63] (<c>fcn.*</c>).
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
        { "alexnet.features.0", 1, ChannelVector, ChannelVector, ImplicitGemm, ImplicitGemm },
        { "alexnet.features.3", 1, WinogradF25, WinogradF25, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.6", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.8", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.10", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "narrow.features.0", 1, ImplicitGemm, ImplicitGemm, ImplicitGemm, ImplicitGemm },
        { "narrow.features.3", 1, WinogradF25, WinogradF25, WinogradF25, ShiftedWindow },
        { "narrow.features.6", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "narrow.features.8", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "narrow.features.10", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "fcn.conv1a", 1, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fcn.conv1b", 1, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fcn.conv2", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ShiftedWindow },
        { "fcn.conv3", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ShiftedWindow },
        { "fcn.conv4", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ShiftedWindow },
        { "fcn.conv5", 1, ShiftedWindow, WinogradF23, ShiftedWindow, ImplicitGemm },
        { "alexnet.features.0", 16, ChannelVector, ChannelVector, ImplicitGemm, ImplicitGemm },
        { "alexnet.features.3", 16, WinogradF25, WinogradF25, ChannelVector, ChannelVector },
        { "alexnet.features.6", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "alexnet.features.8", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "alexnet.features.10", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "narrow.features.0", 16, ChannelVector, ChannelVector, ImplicitGemm, ImplicitGemm },
        { "narrow.features.3", 16, WinogradF25, WinogradF25, WinogradF25, ChannelVector },
        { "narrow.features.6", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "narrow.features.8", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "narrow.features.10", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv1a", 16, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fcn.conv1b", 16, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fcn.conv2", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv3", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv4", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv5", 16, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "alexnet.features.0", 32, ChannelVector, ChannelVector, ImplicitGemm, ImplicitGemm },
        { "alexnet.features.3", 32, WinogradF25, WinogradF25, ChannelVector, ChannelVector },
        { "alexnet.features.6", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "alexnet.features.8", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "alexnet.features.10", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "narrow.features.0", 32, ChannelVector, ChannelVector, ImplicitGemm, ImplicitGemm },
        { "narrow.features.3", 32, WinogradF25, WinogradF25, WinogradF25, ChannelVector },
        { "narrow.features.6", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "narrow.features.8", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "narrow.features.10", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv1a", 32, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fcn.conv1b", 32, OneChannelDirect, OneChannelDirect, ShiftedWindow, OneChannelDirect },
        { "fcn.conv2", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv3", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv4", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
        { "fcn.conv5", 32, ChannelVector, WinogradF23, ChannelVector, ChannelVector },
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

    // TEMPORARY: the routing as the backend's predicate chains decide it today (AVX2 + FMA host);
    // replaced by the one routing function in the next commit.
    private static Conv2dPath Choose(Conv2dPass pass, in Conv2dGeometry g)
    {
        var b = new CpuBackend(2);
        Conv2dPath Forward(in Conv2dGeometry g) =>
            CpuBackend.Conv2dUsesDirect(g) ? OneChannelDirect : b.Conv2dForwardUsesWinograd(g) ? WinogradF25
            : b.Conv2dForwardUsesChannels(g) ? ChannelVector : CpuBackend.Conv2dUsesShifted(g) ? ShiftedWindow : ImplicitGemm;
        return pass switch
        {
            Conv2dPass.Forward => Forward(g),
            Conv2dPass.ForwardPacked => b.Conv2dUsesWinograd(g) ? (g.R == 3 ? WinogradF23 : WinogradF25) : Forward(g),
            Conv2dPass.BackwardInput => b.Conv2dBackwardInputUsesWinograd(g) ? WinogradF25 : b.Conv2dBackwardInputUsesChannels(g) ? ChannelVector
                : CpuBackend.Conv2dBackwardInputUsesShifted(g) ? ShiftedWindow : ImplicitGemm,
            _ => CpuBackend.Conv2dUsesDirect(g) ? OneChannelDirect : b.Conv2dBackwardWeightUsesChannels(g) ? ChannelVector
                : CpuBackend.Conv2dBackwardWeightUsesShifted(g) ? ShiftedWindow : ImplicitGemm,
        };
    }
}
