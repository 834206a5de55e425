// cuda_nvrtc_builtins.h — what NVRTC provides without any #include, declared for clang's CUDA front
// end. Used only by the CI check that compiles every kernel file to PTX with
// `clang -x cuda --cuda-device-only -nocudainc -nocudalib -include cuda_nvrtc_builtins.h`
// (tests/SerEngine.Tests/Gpu/CudaPtxCheckTests.cs); the engine never compiles it. Declare here
// only what the kernels use, spelled as NVRTC spells it, so a kernel that needs more than NVRTC
// gives fails here as it would on a GPU. Math goes to libdevice's __nv_* functions as in CUDA's
// own headers; -nocudalib leaves them as .extern calls in the PTX.

#ifndef SERENGINE_NVRTC_BUILTINS
#define SERENGINE_NVRTC_BUILTINS

#include <__clang_cuda_builtin_vars.h> // threadIdx, blockIdx, blockDim, gridDim, warpSize

#define __host__ __attribute__((host))
#define __device__ __attribute__((device))
#define __global__ __attribute__((global))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))

#define SERENGINE_NV static __device__ __forceinline__

// float4 and make_float4 (CUDA's vector_types.h / vector_functions.h; NVRTC declares them itself).
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
SERENGINE_NV float4 make_float4(float x, float y, float z, float w) { float4 v = {x, y, z, w}; return v; }

// Bit casts (CUDA's device_functions.h).
SERENGINE_NV float __int_as_float(int x) { return __builtin_bit_cast(float, x); }
SERENGINE_NV int __float_as_int(float x) { return __builtin_bit_cast(int, x); }
SERENGINE_NV unsigned int __float_as_uint(float x) { return __builtin_bit_cast(unsigned int, x); }
SERENGINE_NV float __uint_as_float(unsigned int x) { return __builtin_bit_cast(float, x); }

// Synchronisation, warp shuffles and atomics (sm_70+ forms).
// __syncthreads is a clang NVPTX builtin already.
SERENGINE_NV float __shfl_xor_sync(unsigned int mask, float v, int lane, int width = 32)
{ return __nvvm_shfl_sync_bfly_f32(mask, v, lane, ((32 - width) << 8) | 0x1f); }
SERENGINE_NV int __shfl_xor_sync(unsigned int mask, int v, int lane, int width = 32)
{ return __nvvm_shfl_sync_bfly_i32(mask, v, lane, ((32 - width) << 8) | 0x1f); }
SERENGINE_NV float atomicAdd(float* p, float v) { return __nvvm_atom_add_gen_f(p, v); }
SERENGINE_NV int atomicAdd(int* p, int v) { return __nvvm_atom_add_gen_i(p, v); }
SERENGINE_NV unsigned int atomicAdd(unsigned int* p, unsigned int v) { return __nvvm_atom_add_gen_i((int*)p, (int)v); }
SERENGINE_NV int atomicCAS(int* p, int expected, int desired) { return __nvvm_atom_cas_gen_i(p, expected, desired); }
SERENGINE_NV unsigned int atomicCAS(unsigned int* p, unsigned int expected, unsigned int desired)
{ return (unsigned int)__nvvm_atom_cas_gen_i((int*)p, (int)expected, (int)desired); }

// Integer min/max (CUDA's math_functions.h overloads).
SERENGINE_NV int min(int a, int b) { return a < b ? a : b; }
SERENGINE_NV int max(int a, int b) { return a > b ? a : b; }
SERENGINE_NV unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
SERENGINE_NV unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
SERENGINE_NV float min(float a, float b) { return a < b ? a : b; }
SERENGINE_NV float max(float a, float b) { return a > b ? a : b; }

// Math: the C names (float ...f and double), plus the C++ float overloads NVRTC gives.
#define SERENGINE_NV_MATH1(name)                                                        \
    extern "C" __device__ float __nv_##name##f(float);                                  \
    extern "C" __device__ double __nv_##name(double);                                   \
    SERENGINE_NV float name##f(float x) { return __nv_##name##f(x); }                   \
    SERENGINE_NV double name(double x) { return __nv_##name(x); }                       \
    SERENGINE_NV float name(float x) { return __nv_##name##f(x); }
#define SERENGINE_NV_MATH2(name)                                                        \
    extern "C" __device__ float __nv_##name##f(float, float);                           \
    extern "C" __device__ double __nv_##name(double, double);                           \
    SERENGINE_NV float name##f(float x, float y) { return __nv_##name##f(x, y); }       \
    SERENGINE_NV double name(double x, double y) { return __nv_##name(x, y); }          \
    SERENGINE_NV float name(float x, float y) { return __nv_##name##f(x, y); }

SERENGINE_NV_MATH1(exp)
SERENGINE_NV_MATH1(log)
SERENGINE_NV_MATH1(log10)
SERENGINE_NV_MATH1(sqrt)
SERENGINE_NV_MATH1(tanh)
SERENGINE_NV_MATH1(sin)
SERENGINE_NV_MATH1(cos)
SERENGINE_NV_MATH1(fabs)
SERENGINE_NV_MATH2(pow)
SERENGINE_NV_MATH2(fmax)
SERENGINE_NV_MATH2(fmin)
extern "C" __device__ float __nv_fmaf(float, float, float);
SERENGINE_NV float fmaf(float x, float y, float z) { return __nv_fmaf(x, y, z); }

#undef SERENGINE_NV_MATH1
#undef SERENGINE_NV_MATH2
#undef SERENGINE_NV

#endif // SERENGINE_NVRTC_BUILTINS
