// memory.cl — the memory primitives that need a kernel: fill and strided block copy.
//
// Variants: one each (memory-bound, one element per work-item).
//   fill         y[i] = value for i < n                                   (Backend.Fill)
//   copy_blocks  block b, element e: dst[dstOffset + b·dstStride + e] =
//                src[srcOffset + b·srcStride + e], e < blockLength, b < count (Backend.CopyBlocks)
// Elements are copied as 32-bit words, so one kernel serves Float32 and Int32 buffers bit for bit.
// Launch: 1-D, one work-item per element, global size rounded up to the work-group size.

KERNEL void fill(GLOBAL float* RESTRICT y, // [n]
                 const int n, const float value)
{
    const int i = GID(0);
    if (i < n) y[i] = value;
}

// src and dst may be the same buffer as long as the copied ranges do not overlap (no RESTRICT).
KERNEL void copy_blocks(GLOBAL const uint* src, const int srcOffset, const int srcStride,
                        GLOBAL uint* dst, const int dstOffset, const int dstStride,
                        const int blockLength, const int count)
{
    const int i = GID(0); // flat index over [count, blockLength]
    if (i >= blockLength * count) return;
    const int b = i / blockLength;
    const int e = i - b * blockLength;
    dst[dstOffset + b * dstStride + e] = src[srcOffset + b * srcStride + e];
}
