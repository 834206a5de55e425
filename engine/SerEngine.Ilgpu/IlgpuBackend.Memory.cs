using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Memory: ILGPU buffers of 32-bit words under the engine's GPU memory pool (GpuBufferPool: size
// buckets, SERENGINE_GPU_POOL_MB), host transfers, device copies, and the two memory kernels of
// Kernels/MemoryKernels.cs (fill, copy_blocks). Offsets and counts are in elements.
public sealed partial class IlgpuBackend
{
    private readonly GpuBufferPool _pool;
    private readonly Dictionary<ulong, MemoryBuffer1D<int, Stride1D.Dense>> _buffers = [];
    private ulong _nextHandle;

    private Action<KernelConfig, ArrayView<float>, int, float>? _fill;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, BlockCopy>? _copyBlocks;

    /// <summary>The memory pool's counters: requests, hits, driver allocations and frees, bytes parked and in use.</summary>
    public GpuPoolStats PoolStats => _pool.Stats;

    /// <summary>Returns every parked buffer to ILGPU; live buffers are untouched.</summary>
    public void TrimPool() => _pool.Trim();

    private ulong AllocateRaw(long bytes)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var buffer = _accelerator.Allocate1D<int>((bytes + 3) / 4);
            _buffers[++_nextHandle] = buffer;
            return _nextHandle;
        }
    }

    private void FreeRaw(ulong handle)
    {
        lock (_gate)
        {
            if (_buffers.Remove(handle, out var buffer)) buffer.Dispose();
        }
    }

    /// <inheritdoc/>
    protected override Storage AllocateCore(int length, DType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0) return new IlgpuStorage(this, dtype, 0, 0, 0, default);
        ulong handle = _pool.Rent((long)length * dtype.ElementSize(), out long capacity);
        ArrayView<int> words;
        lock (_gate) words = _buffers[handle].View.SubView(0, length);
        return new IlgpuStorage(this, dtype, length, handle, capacity, words);
    }

    /// <inheritdoc/>
    protected override void FreeCore(Storage storage)
    {
        var s = (IlgpuStorage)storage;
        ulong handle = s.Handle;
        s.Handle = 0;
        if (handle != 0) _pool.Return(handle, s.CapacityBytes);
    }

    /// <summary>The words of a storage of this backend (never another backend's: no silent copies).</summary>
    private ArrayView<int> I(Storage s)
    {
        if (s is IlgpuStorage gs && ReferenceEquals(s.Backend, this))
        {
            if (gs.Handle == 0 && gs.Length > 0) throw new ObjectDisposedException(nameof(Storage), "storage was already released");
            return gs.Words;
        }
        throw new ArgumentException($"buffer belongs to backend '{s.Backend.Name}' ({s.Backend.DeviceName}), not to {Name}; move the tensor first");
    }

    /// <summary>The storage as floats.</summary>
    private ArrayView<float> F(Storage s) => I(s).Cast<float>();

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<float> src)
    {
        GpuMemoryChecks.Transfer(dst, DType.Float32, src.Length, nameof(Write));
        if (src.Length == 0) return;
        var view = F(dst).SubView(0, src.Length);
        lock (_gate) view.CopyFromCPU(src);
    }

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<int> src)
    {
        GpuMemoryChecks.Transfer(dst, DType.Int32, src.Length, nameof(Write));
        if (src.Length == 0) return;
        var view = I(dst).SubView(0, src.Length);
        lock (_gate) view.CopyFromCPU(src);
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<float> dst)
    {
        GpuMemoryChecks.Transfer(src, DType.Float32, dst.Length, nameof(Read));
        if (dst.Length == 0) return;
        var view = F(src).SubView(0, dst.Length);
        lock (_gate) view.CopyToCPU(dst);
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<int> dst)
    {
        GpuMemoryChecks.Transfer(src, DType.Int32, dst.Length, nameof(Read));
        if (dst.Length == 0) return;
        var view = I(src).SubView(0, dst.Length);
        lock (_gate) view.CopyToCPU(dst);
    }

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        GpuMemoryChecks.Fill(y, n);
        if (n == 0) return;
        var yv = F(y); // [n]
        Run(ref _fill, a => a.LoadStreamKernel<ArrayView<float>, int, float>(MemoryKernels.Fill), k => k(Config1D(n), yv, n, value));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Back-to-back blocks and up to four blocks use ILGPU's device copy, one per block; more blocks the
    /// copy_blocks kernel. Overlapping ranges in one buffer are staged through a temporary buffer.
    /// </remarks>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        bool overlap = GpuMemoryChecks.CopyBlocks(src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
        if (blockLength == 0 || count == 0) return;
        if (overlap)
        {
            using var tmp = Allocate(blockLength * count, src.DType); // [count, blockLength]
            CopyBlocks(src, srcOffset, srcStride, tmp, 0, blockLength, blockLength, count);
            CopyBlocks(tmp, 0, blockLength, dst, dstOffset, dstStride, blockLength, count);
            return;
        }
        ArrayView<int> s = I(src), d = I(dst);
        if (GpuMemoryChecks.IsContiguous(srcStride, dstStride, blockLength, count))
        {
            lock (_gate) s.SubView(srcOffset, (long)blockLength * count).CopyTo(d.SubView(dstOffset, (long)blockLength * count));
            return;
        }
        if (count <= 4)
        {
            lock (_gate)
                for (int i = 0; i < count; i++)
                    s.SubView(srcOffset + (long)i * srcStride, blockLength).CopyTo(d.SubView(dstOffset + (long)i * dstStride, blockLength));
            return;
        }
        // src, dst: count blocks of [blockLength] at their strides
        var copy = new BlockCopy(srcOffset, srcStride, dstOffset, dstStride, blockLength, count);
        Run(ref _copyBlocks, a => a.LoadStreamKernel<ArrayView<int>, ArrayView<int>, BlockCopy>(MemoryKernels.CopyBlocks),
            k => k(Config1D((long)blockLength * count), s, d, copy));
    }
}
