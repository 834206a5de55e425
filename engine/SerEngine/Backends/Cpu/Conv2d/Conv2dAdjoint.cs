namespace SerEngine.Backends.Cpu;

/// <summary>
/// Backward-input of a stride-1 convolution as a forward convolution (the shifted-window,
/// channel-vector and Winograd paths run it so): dy [N, K, OutH, OutW] is the image, padded by the
/// complement of the forward padding (dilated extent − padding), and C channels come out; the
/// filters are w flipped and transposed (w'[c, k, r, s] = w[k, c, R−1−r, S−1−s]).
/// </summary>
internal static class Conv2dAdjoint
{
    /// <summary>True when <paramref name="g"/> has such an adjoint: stride 1 and no padding beyond the dilated kernel extent (the complement is not negative).</summary>
    public static bool Exists(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1
        && g.PadTop <= g.DilationH * (g.R - 1) && g.PadBottom <= g.DilationH * (g.R - 1)
        && g.PadLeft <= g.DilationW * (g.S - 1) && g.PadRight <= g.DilationW * (g.S - 1);

    /// <summary>The adjoint forward convolution of <paramref name="g"/> (stride 1; see <see cref="Exists"/>).</summary>
    public static Conv2dGeometry Geometry(in Conv2dGeometry g)
    {
        int eh = g.DilationH * (g.R - 1), ew = g.DilationW * (g.S - 1);
        return new(g.N, g.K, g.OutH, g.OutW, g.C, g.R, g.S, 1, 1, eh - g.PadTop, eh - g.PadBottom, ew - g.PadLeft, ew - g.PadRight, g.DilationH, g.DilationW);
    }
}
