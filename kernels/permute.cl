// permute.cl — the strided gather behind Permute and BroadcastTo.
//
// Dimension legend: y is contiguous with dims d[0..rank) (rank ≤ 8 after the launch code has
// dropped size-1 dims and merged dims that stay contiguous), n = d[0]·…·d[rank−1]; s[k] is the
// stride in x of y's axis k.
//
// Kernels:
//   strided_gather   default (the only variant): y[i] = x[Σ_k coord_k(i) · s[k]], one work-item per
//                    output element. Permute passes x's strides in the permuted order
//                    (Backend.Permute); BroadcastTo passes 0 on broadcast dims (Backend.BroadcastTo).
//                    Words are copied as 32-bit uints, so Float32 and Int32 buffers both work.
// CPU twins: CpuReference.Elementwise.cs (Permute, BroadcastTo).

#define MAX_RANK 8

KERNEL void strided_gather(GLOBAL const uint* RESTRICT x, // strided view of y's dims
                           GLOBAL uint* RESTRICT y,       // [d0, ..., d(rank-1)], n elements
                           const int n, const int rank,
                           const int d0, const int d1, const int d2, const int d3,
                           const int d4, const int d5, const int d6, const int d7,
                           const int s0, const int s1, const int s2, const int s3,
                           const int s4, const int s5, const int s6, const int s7)
{
    const int i = GID(0);
    if (i >= n) return;
    const int d[MAX_RANK] = { d0, d1, d2, d3, d4, d5, d6, d7 };
    const int s[MAX_RANK] = { s0, s1, s2, s3, s4, s5, s6, s7 };
    int rest = i, offset = 0;
    for (int k = rank - 1; k >= 0; k--)
    {
        offset += rest % d[k] * s[k];
        rest /= d[k];
    }
    y[i] = x[offset];
}
