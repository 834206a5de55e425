// prelude_cuda.h — maps the SerEngine kernel dialect onto CUDA C++ (compiled by NVRTC).
//
// The same kernel files (*.cl) that the OpenCL driver compiles with prelude_opencl.h are compiled
// by NVRTC with this prelude in front of them; see prelude_opencl.h for the dialect summary.
// NVRTC compiles C++, so kernels are `extern "C"` to keep their names unmangled for
// cuModuleGetFunction. Nothing here includes a header: NVRTC provides the CUDA built-ins itself.
// Without a GPU, CI compiles the same text to PTX with clang, cuda_nvrtc_builtins.h standing in for those built-ins.

#ifndef SERENGINE_PRELUDE
#define SERENGINE_PRELUDE

#define CUDA 1

#define KERNEL extern "C" __global__
#define GLOBAL
#define LOCAL __shared__
#define LOCAL_PTR
#define CONSTANT __constant__
#define RESTRICT __restrict__
#define INLINE static __device__ __forceinline__

#define BARRIER __syncthreads()
#define BARRIER_GLOBAL __syncthreads()

// Fully unrolls the next loop (constant trip count), so arrays it indexes stay in registers.
#define UNROLL _Pragma("unroll")

// OpenCL C scalar type names used by the dialect.
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long long ulong;

// Index n is a literal 0, 1 or 2 in practice, so the selection folds away at compile time.
#define SERENGINE_XYZ(v, n) ((n) == 0 ? (int)(v).x : (n) == 1 ? (int)(v).y : (int)(v).z)
#define LID(n) SERENGINE_XYZ(threadIdx, n)
// First y/z group of a launch cut into slices because y or z exceeds 65,535 blocks (LaunchGeometry);
// the backend writes it with cuModuleGetGlobal + cuMemcpyHtoD before such a slice, and it is 0 otherwise.
extern "C" { __constant__ int serengine_group_base[3]; }
#define GROUP(n) ((n) == 0 ? (int)blockIdx.x : (n) == 1 ? (int)blockIdx.y + serengine_group_base[1] : (int)blockIdx.z + serengine_group_base[2])
#define LSIZE(n) SERENGINE_XYZ(blockDim, n)
#define NGROUPS(n) SERENGINE_XYZ(gridDim, n)
#define GID(n) (GROUP(n) * LSIZE(n) + LID(n))
#define GSIZE(n) (NGROUPS(n) * LSIZE(n))

// Vector loads: one 16-byte ld.global.v4 of read-only kernel inputs; the host passes the flag that takes
// this path only when p is 16-byte aligned (leading dimension and offsets multiples of 4), else the kernel
// does four scalar loads. Inline PTX, because a plain *(const float4*)p whose value meets a scalar-built
// float4 at a branch is split into 2- and 1-word loads (clang's PTX, CudaPtxCheckTests).
#define FLOAT4(a, b, c, d) make_float4((a), (b), (c), (d))
INLINE float4 serengine_load4(const float* p)
{
    float4 v;
    asm("ld.global.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
    return v;
}
#define LOAD4(p) serengine_load4(p)

// OpenCL built-ins that CUDA spells differently.
#define as_float(x) __int_as_float(x)
#define as_int(x) __float_as_int(x)
#define as_uint(x) ((uint)__float_as_uint(x))
#define mad(a, b, c) fmaf((a), (b), (c))

// OpenCL C defines INFINITY and NAN as built-in macros; NVRTC has no <math.h>, so spell them by their bits.
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fc00000)
#endif

// Float atomic add: the hardware instruction (OpenCL builds use a compare-and-swap loop instead);
// same contract: adds v to *p and returns the old value.
INLINE float atomic_add_f32(volatile GLOBAL float* p, float v) { return atomicAdd((float*)p, v); }
INLINE float atomic_add_f32_local(volatile LOCAL_PTR float* p, float v) { return atomicAdd((float*)p, v); }
INLINE int atomic_add_i32(volatile GLOBAL int* p, int v) { return atomicAdd((int*)p, v); }

// Subgroups are 32-lane warps (see prelude_opencl.h for the macros' contract); blocks are 1-D with a
// size that is a multiple of 32, so every warp is full and the butterflies use the full mask.
#define HAS_SUBGROUPS 1
#define SUBGROUP_SIZE 32
#define SUBGROUP_LOCAL_ID (LID(0) & 31)
#define SUBGROUP_ID (LID(0) >> 5)
#define NUM_SUBGROUPS ((LSIZE(0) + 31) >> 5)
INLINE float serengine_warp_max(float v)
{
    for (int lane = 16; lane > 0; lane >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, lane));
    return v;
}
INLINE float serengine_warp_sum(float v)
{
    for (int lane = 16; lane > 0; lane >>= 1) v += __shfl_xor_sync(0xffffffffu, v, lane);
    return v;
}
#define SUBGROUP_MAX(v) serengine_warp_max(v)
#define SUBGROUP_SUM(v) serengine_warp_sum(v)

#endif // SERENGINE_PRELUDE
