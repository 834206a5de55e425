namespace SerEngine.Backends.Cpu;

/// <summary>
/// The oracle: every primitive as plain loops, single-threaded, never optimised. Each op's loops
/// live in <c>CpuReference.&lt;Op&gt;.cs</c>; the fast <see cref="CpuBackend"/> overrides the hot ones
/// and is checked against these.
/// </summary>
public partial class CpuReferenceBackend : Backend
{
    /// <inheritdoc/>
    public override string Name => "cpu-reference";

    /// <inheritdoc/>
    public override string DeviceName => $"{Environment.ProcessorCount}-thread host CPU, plain loops (the reference)";

    /// <summary>The float array behind a storage of this backend (it may be longer than the storage: index by the storage's length and shapes only).</summary>
    protected static float[] F(Storage s) => ((CpuStorage)s).F;

    /// <summary>The int array behind a storage of this backend (it may be longer than the storage, as <see cref="F"/>).</summary>
    protected static int[] I(Storage s) => ((CpuStorage)s).I;

    /// <summary>Released arrays kept for reuse (so a training step allocates nothing in steady state).</summary>
    internal CpuBufferPool Pool { get; init; } = new();

    /// <inheritdoc/>
    protected override Storage AllocateCore(int length, DType dtype) =>
        new CpuStorage(this, dtype, length, dtype == DType.Float32 ? Pool.RentFloats(length) : Pool.RentInts(length));

    /// <inheritdoc/>
    protected override void FreeCore(Storage storage) => Pool.Return(((CpuStorage)storage).Data);

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<float> src) => src.CopyTo(F(dst));

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<int> src) => src.CopyTo(I(dst));

    /// <inheritdoc/>
    public override void Read(Storage src, Span<float> dst) => F(src).AsSpan(0, dst.Length).CopyTo(dst);

    /// <inheritdoc/>
    public override void Read(Storage src, Span<int> dst) => I(src).AsSpan(0, dst.Length).CopyTo(dst);

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        var a = F(y);
        for (int i = 0; i < n; i++) a[i] = value;
    }

    /// <inheritdoc/>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        if (src.DType != dst.DType) throw new ArgumentException($"CopyBlocks from {src.DType} to {dst.DType}");
        for (int i = 0; i < count; i++)
        {
            if (src.DType == DType.Float32)
                Array.Copy(F(src), srcOffset + i * srcStride, F(dst), dstOffset + i * dstStride, blockLength);
            else
                Array.Copy(I(src), srcOffset + i * srcStride, I(dst), dstOffset + i * dstStride, blockLength);
        }
    }
}
