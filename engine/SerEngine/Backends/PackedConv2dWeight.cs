namespace SerEngine.Backends;

/// <summary>
/// A conv2d weight prepared once by <see cref="Backend.PackConv2dWeight"/> for many forward passes
/// (<see cref="Backend.Conv2dForwardPacked"/>): an inference network's filters applied to a new
/// input each call. The base form just keeps the source storage (the backend convolves with it as
/// given); a backend may attach its own layout (the fast CPU backend keeps 3×3 and 5×5 filters
/// Winograd-transformed where its routing gives them a Winograd path). It reads <see cref="Source"/>
/// as it was when packed: after the source changes, pack again.
/// </summary>
public class PackedConv2dWeight
{
    /// <summary>Keeps <paramref name="source"/> [K, C, R, S] as the filters of convolutions shaped like <paramref name="g"/>.</summary>
    public PackedConv2dWeight(Backend backend, Storage source, in Conv2dGeometry g)
    {
        Backend = backend;
        Source = source;
        Geometry = g;
    }

    /// <summary>The backend that packed it (only that backend convolves with it).</summary>
    public Backend Backend { get; }

    /// <summary>The filters as given, [K, C, R, S].</summary>
    public Storage Source { get; }

    /// <summary>
    /// The convolution it was packed for. Later calls may change the batch, the image size and the
    /// padding; the filter shape, strides and dilations must stay (<see cref="Check"/>).
    /// </summary>
    public Conv2dGeometry Geometry { get; }

    /// <summary>Throws unless <paramref name="g"/> has the filter shape, strides and dilations this weight was packed for.</summary>
    /// <exception cref="ArgumentException">the geometry differs in K, C, R, S, a stride or a dilation.</exception>
    public void Check(in Conv2dGeometry g)
    {
        var p = Geometry;
        if (g.K != p.K || g.C != p.C || g.R != p.R || g.S != p.S || g.StrideH != p.StrideH || g.StrideW != p.StrideW
            || g.DilationH != p.DilationH || g.DilationW != p.DilationW)
            throw new ArgumentException(
                $"conv2d: the packed weight is [{p.K}, {p.C}, {p.R}, {p.S}] stride ({p.StrideH}, {p.StrideW}) dilation ({p.DilationH}, {p.DilationW}), " +
                $"the call asks for [{g.K}, {g.C}, {g.R}, {g.S}] stride ({g.StrideH}, {g.StrideW}) dilation ({g.DilationH}, {g.DilationW})");
    }
}
