// prelude_opencl.h — maps the SerEngine kernel dialect onto OpenCL C 1.2.
//
// Every kernel file (*.cl) is written once in the dialect and compiled twice: by the OpenCL driver
// with this prelude in front of it, and by NVRTC with prelude_cuda.h in front of it. The engine
// prepends the prelude itself (KernelSource), followed by `#line 1 "<file>"` so that build logs
// point at the kernel file's own line numbers. Tile sizes and variants arrive as -D options.
//
// Dialect summary (see docs/DESIGN.md, "Kernel dialect"):
//   KERNEL void name(...)      a kernel entry point
//   GLOBAL float* p            pointer to device memory (kernel arguments, helpers)
//   LOCAL float tile[N]        work-group shared memory, declared in the kernel body
//   LOCAL_PTR float* p         pointer to shared memory as a helper-function parameter
//   CONSTANT                   read-only, program-scope tables
//   BARRIER                    work-group barrier over local memory
//   BARRIER_GLOBAL             work-group barrier that also orders global memory
//   GID(n) LID(n) GROUP(n) LSIZE(n) NGROUPS(n) GSIZE(n)   work-item indices, as int; GID and GROUP are
//                              logical even when the launch is cut into y/z slices (LaunchGeometry), while
//                              NGROUPS and GSIZE are the slice's: use those two only along x (never cut)
//   RESTRICT, INLINE           restrict qualifier, inlined helper function
//   UNROLL                     on the line before a loop with a constant trip count: unroll it fully,
//                              so the register tiles it indexes are not spilled to local memory
//   atomic_add_f32(p, v)       float atomic add on global memory (compare-and-swap loop)
//   atomic_add_f32_local(p, v) the same on local memory
//   atomic_add_i32(p, v)       int atomic add on global memory, returns the old value
//   float4, FLOAT4(a, b, c, d) four floats (.x .y .z .w) and their constructor
//   LOAD4(p)                   p[0..3] as one float4; call it only where the host has checked that p is
//                              16-byte aligned (CUDA's plain float4 load needs it; OpenCL's vload4 does not)
//   INFINITY, NAN              float constants (OpenCL C built-ins; prelude_cuda.h spells them by their bits)
//   ulong                      64-bit unsigned integer (OpenCL C built-in; a typedef in prelude_cuda.h)
//   HAS_SUBGROUPS              defined where the subgroup macros below exist (CUDA always; OpenCL when the
//                              compiler defines cl_khr_subgroups or __opencl_c_subgroups, which needs
//                              -cl-std=CL2.0 or later: the host adds it only for devices that report
//                              the extension, and launches subgroup kernels only there)
//   SUBGROUP_SIZE SUBGROUP_LOCAL_ID SUBGROUP_ID NUM_SUBGROUPS   subgroup geometry along x, as int
//                              (CUDA: 32-lane warps of a 1-D block whose size is a multiple of 32)
//   SUBGROUP_MAX(v) SUBGROUP_SUM(v)   float max / sum over the subgroup; every lane gets it; every
//                              lane of the subgroup must reach the call
// CUDA-only code (warp shuffles) goes behind `#ifdef CUDA`; OPENCL is defined here.

#ifndef SERENGINE_PRELUDE
#define SERENGINE_PRELUDE

#define OPENCL 1

#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL __local
#define LOCAL_PTR __local
#define CONSTANT __constant
#define RESTRICT restrict
#define INLINE static inline

#define BARRIER barrier(CLK_LOCAL_MEM_FENCE)
#define BARRIER_GLOBAL barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)

// `#pragma unroll` (clang, NVIDIA and AMD OpenCL accept it in OpenCL C 1.2; opencl_unroll_hint needs 2.0).
#define UNROLL _Pragma("unroll")

// Vector loads: vload4 needs only float alignment, but kernels take the same host-checked path as on CUDA.
#define FLOAT4(a, b, c, d) ((float4)((a), (b), (c), (d)))
#define LOAD4(p) vload4(0, (p))

#define GID(n) ((int)get_global_id(n))
#define LID(n) ((int)get_local_id(n))
// A launch cut into y/z slices (CUDA's 65,535-group limit, forced here by tests) passes each slice's
// start as the global work offset: get_global_id includes it, get_group_id does not, so add it back.
#define GROUP(n) ((int)get_group_id(n) + ((n) == 0 ? 0 : (int)(get_global_offset(n) / get_local_size(n)))) // x is never cut
#define LSIZE(n) ((int)get_local_size(n))
#define NGROUPS(n) ((int)get_num_groups(n))
#define GSIZE(n) ((int)get_global_size(n))

// Float atomic add as a compare-and-swap loop on the value's bits (OpenCL 1.2 has no float atomics).
INLINE float atomic_add_f32(volatile GLOBAL float* p, float v)
{
    union { unsigned int u; float f; } expected, desired;
    unsigned int current = *(volatile GLOBAL unsigned int*)p;
    do
    {
        expected.u = current;
        desired.f = expected.f + v;
        current = atomic_cmpxchg((volatile GLOBAL unsigned int*)p, expected.u, desired.u);
    } while (current != expected.u);
    return expected.f;
}

// The same compare-and-swap loop on work-group local memory.
INLINE float atomic_add_f32_local(volatile LOCAL_PTR float* p, float v)
{
    union { unsigned int u; float f; } expected, desired;
    unsigned int current = *(volatile LOCAL_PTR unsigned int*)p;
    do
    {
        expected.u = current;
        desired.f = expected.f + v;
        current = atomic_cmpxchg((volatile LOCAL_PTR unsigned int*)p, expected.u, desired.u);
    } while (current != expected.u);
    return expected.f;
}

// Integer atomic add on global memory; returns the old value.
INLINE int atomic_add_i32(volatile GLOBAL int* p, int v)
{
    return atomic_add(p, v);
}

// Subgroups (cl_khr_subgroups): the reductions are the extension's own, so the kernel never assumes a width.
#if defined(cl_khr_subgroups) || defined(__opencl_c_subgroups)
#ifdef cl_khr_subgroups
#pragma OPENCL EXTENSION cl_khr_subgroups : enable
#endif
#define HAS_SUBGROUPS 1
#define SUBGROUP_SIZE ((int)get_sub_group_size())
#define SUBGROUP_LOCAL_ID ((int)get_sub_group_local_id())
#define SUBGROUP_ID ((int)get_sub_group_id())
#define NUM_SUBGROUPS ((int)get_num_sub_groups())
#define SUBGROUP_MAX(v) sub_group_reduce_max(v)
#define SUBGROUP_SUM(v) sub_group_reduce_add(v)
#endif

#endif // SERENGINE_PRELUDE
