// elementwise.cl — binary ops with broadcasting, unary ops and their derivatives, the dropout mask.
//
// Dimension legend: n = number of output elements (y is contiguous, row-major); rank ≤ 8 after the
// launch code has collapsed the shapes (size-1 dims dropped, dims that are contiguous in every
// operand merged).
//
// Kernels (one work-item per output element, global size rounded up to whole groups):
//   binary_blocked   default. Each operand's index is (i / inner) % mid: covers same shape
//                    (inner 1, mid n), a scalar (mid 1), a row [C] under [N, C] (inner 1, mid C),
//                    a column [N, 1] under [N, C] (inner C, mid N), a channel bias [C, 1, 1] under
//                    [N, C, H, W] (inner H·W, mid C): every operand whose kept dims are one
//                    contiguous run of y's dims.                                    (Backend.Binary)
//   binary_strided   general NumPy broadcasting: per-operand strides over y's dims (0 where the
//                    operand broadcasts), rank ≤ 8.                                 (Backend.Binary)
//   unary            y = op(x), op an int (the UnaryOp order below).               (Backend.Unary)
//   unary_backward   dx = dy · op'(x), from x or y = op(x).                  (Backend.UnaryBackward)
//   dropout_mask     counter-based mask, bit for bit the CPU reference's DropoutUniform.
//                                                                             (Backend.DropoutMask)
// CPU twins: CpuReference.Elementwise.cs.

// BinaryOp order (engine/SerEngine/Backends/Geometry.cs).
#define BINARY_ADD 0
#define BINARY_SUB 1
#define BINARY_MUL 2
#define BINARY_DIV 3

// UnaryOp order (engine/SerEngine/Backends/Geometry.cs).
#define UNARY_NEG 0
#define UNARY_RELU 1
#define UNARY_TANH 2
#define UNARY_SIGMOID 3
#define UNARY_EXP 4
#define UNARY_LOG 5
#define UNARY_SCALE 6
#define UNARY_ADD_SCALAR 7
#define UNARY_SQUARE 8
#define UNARY_SQRT 9

#define MAX_RANK 8

INLINE float binary_apply(const int op, const float a, const float b)
{
    switch (op)
    {
        case BINARY_ADD: return a + b;
        case BINARY_SUB: return a - b;
        case BINARY_MUL: return a * b;
        default: return a / b;
    }
}

KERNEL void binary_blocked(const int op,
                           GLOBAL const float* a, const int aInner, const int aMid, // a[(i / aInner) % aMid]
                           GLOBAL const float* b, const int bInner, const int bMid, // b[(i / bInner) % bMid]
                           GLOBAL float* y,                                         // [n]; may alias a
                           const int n)
{
    const int i = GID(0);
    if (i >= n) return;
    const float x1 = a[i / aInner % aMid];
    const float x2 = b[i / bInner % bMid];
    y[i] = binary_apply(op, x1, x2);
}

// Flat offset of element i of y (dims d[0..rank)) in an operand with strides s[0..rank).
INLINE int strided_offset(int i, const int rank, const int* d, const int* s)
{
    int offset = 0;
    for (int k = rank - 1; k >= 0; k--)
    {
        offset += i % d[k] * s[k];
        i /= d[k];
    }
    return offset;
}

KERNEL void binary_strided(const int op,
                           GLOBAL const float* a, GLOBAL const float* b,
                           GLOBAL float* y, // [d0, ..., d(rank-1)], n elements
                           const int n, const int rank,
                           const int d0, const int d1, const int d2, const int d3,
                           const int d4, const int d5, const int d6, const int d7,
                           const int sa0, const int sa1, const int sa2, const int sa3,  // a's strides over y's dims
                           const int sa4, const int sa5, const int sa6, const int sa7,
                           const int sb0, const int sb1, const int sb2, const int sb3,  // b's strides over y's dims
                           const int sb4, const int sb5, const int sb6, const int sb7)
{
    const int i = GID(0);
    if (i >= n) return;
    const int d[MAX_RANK] = { d0, d1, d2, d3, d4, d5, d6, d7 };
    const int sa[MAX_RANK] = { sa0, sa1, sa2, sa3, sa4, sa5, sa6, sa7 };
    const int sb[MAX_RANK] = { sb0, sb1, sb2, sb3, sb4, sb5, sb6, sb7 };
    const float x1 = a[strided_offset(i, rank, d, sa)];
    const float x2 = b[strided_offset(i, rank, d, sb)];
    y[i] = binary_apply(op, x1, x2);
}

KERNEL void unary(const int op,
                  GLOBAL const float* x, // [n]
                  GLOBAL float* y,       // [n]; may alias x
                  const int n, const float alpha)
{
    const int i = GID(0);
    if (i >= n) return;
    const float v = x[i];
    float r;
    switch (op)
    {
        case UNARY_NEG: r = -v; break;
        case UNARY_RELU: r = v > 0.0f ? v : 0.0f; break;
        case UNARY_TANH: r = tanh(v); break;
        case UNARY_SIGMOID: r = 1.0f / (1.0f + exp(-v)); break;
        case UNARY_EXP: r = exp(v); break;
        case UNARY_LOG: r = log(v); break;
        case UNARY_SCALE: r = alpha * v; break;
        case UNARY_ADD_SCALAR: r = v + alpha; break;
        case UNARY_SQUARE: r = v * v; break;
        default: r = sqrt(v); break; // UNARY_SQRT
    }
    y[i] = r;
}

KERNEL void unary_backward(const int op,
                           GLOBAL const float* x,  // [n] input of the forward pass
                           GLOBAL const float* y,  // [n] its output
                           GLOBAL const float* dy, // [n]
                           GLOBAL float* dx,       // [n]
                           const int n, const float alpha)
{
    const int i = GID(0);
    if (i >= n) return;
    const float g = dy[i];
    float r;
    switch (op)
    {
        case UNARY_NEG: r = -g; break;
        case UNARY_RELU: r = x[i] > 0.0f ? g : 0.0f; break;
        case UNARY_TANH: r = g * (1.0f - y[i] * y[i]); break;
        case UNARY_SIGMOID: r = g * y[i] * (1.0f - y[i]); break;
        case UNARY_EXP: r = g * y[i]; break;
        case UNARY_LOG: r = g / x[i]; break;
        case UNARY_SCALE: r = alpha * g; break;
        case UNARY_ADD_SCALAR: r = g; break;
        case UNARY_SQUARE: r = 2.0f * x[i] * g; break;
        default: r = g * 0.5f / y[i]; break; // UNARY_SQRT
    }
    dx[i] = r;
}

// SplitMix64 finaliser over seed + (index + 1)·golden ratio, top 24 bits as a uniform in [0, 1):
// the same formula as CpuReferenceBackend.DropoutUniform, so every backend draws the same mask.
KERNEL void dropout_mask(GLOBAL float* mask, // [n]
                         const int n, const float p,
                         const float keep,   // 1 / (1 − p), computed once on the host in float
                         const int seedLo, const int seedHi)
{
    const int i = GID(0);
    if (i >= n) return;
    const ulong seed = ((ulong)(uint)seedHi << 32) | (ulong)(uint)seedLo;
    ulong z = seed + ((ulong)i + 1UL) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z ^= z >> 31;
    const float u = (float)(uint)(z >> 40) * (1.0f / 16777216.0f);
    mask[i] = u < p ? 0.0f : keep;
}
