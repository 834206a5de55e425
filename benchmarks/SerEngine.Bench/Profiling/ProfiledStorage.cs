using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// A buffer of a <see cref="ProfilingBackend"/>: the tensors of a profiled run hold it (so their
/// primitives go through the profiler), and it holds the inner backend's buffer, which the profiler
/// hands to the inner backend. Releasing it releases the inner buffer.
/// </summary>
public sealed class ProfiledStorage : Storage
{
    internal ProfiledStorage(ProfilingBackend backend, Storage inner) : base(backend, inner.DType, inner.Length) => Inner = inner;

    /// <summary>The inner backend's buffer.</summary>
    public Storage Inner { get; }
}

/// <summary>A GEMM operand packed by the inner backend, owned by the <see cref="ProfilingBackend"/> that asked for it.</summary>
internal sealed class ProfiledPackedGemmA(ProfilingBackend backend, Storage source, PackedGemmA inner)
    : PackedGemmA(backend, source, inner.Trans, inner.Rows, inner.Depth)
{
    /// <summary>What the inner backend packed.</summary>
    public PackedGemmA Inner { get; } = inner;
}

/// <summary>Conv2d filters packed by the inner backend, owned by the <see cref="ProfilingBackend"/> that asked for them.</summary>
internal sealed class ProfiledPackedConv2dWeight(ProfilingBackend backend, Storage source, PackedConv2dWeight inner)
    : PackedConv2dWeight(backend, source, inner.Geometry)
{
    /// <summary>What the inner backend packed.</summary>
    public PackedConv2dWeight Inner { get; } = inner;
}
