namespace SerEngine.Backends.Cpu;

/// <summary>
/// The default backend: the reference primitives, with the hot ones (GEMM, conv2d) replaced by
/// blocked, SIMD and multi-threaded versions in <c>CpuFast.&lt;Op&gt;.cs</c>, each checked against
/// <see cref="CpuReferenceBackend"/>.
/// </summary>
public partial class CpuBackend : CpuReferenceBackend
{
    /// <inheritdoc/>
    public override string Name => "cpu";

    /// <inheritdoc/>
    public override string DeviceName => $"{Environment.ProcessorCount}-thread host CPU, SIMD {SimdBits}-bit";

    /// <summary>The vector width the fast kernels run at in this process: 512, 256 or 128 bits (the results do not depend on it).</summary>
    public static int SimdBits =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? 512 : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? 256 : 128;
}
