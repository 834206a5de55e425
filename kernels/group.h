// group.h — work-group helpers shared by the row kernels (softmax.cl, loss.cl, reduce.cl); a kernel
// file takes them with `#include "group.h"`, which KernelSource expands in place (with #line
// markers), so no include path reaches the OpenCL or NVRTC compiler.
//
// Dimension legend: n the row length a work-group walks; scratch [LSIZE(0)] local floats.

// Row loop: work-item LID visits j = LID, LID + LSIZE, ... below n. Every work-item runs the same
// number of iterations and the bound is checked inside: PoCL 3.1 (LLVM 15) miscompiles the plain
// `for (j = lid; j < n; j += size)` as a kernel's last loop after a barrier (work-items with
// lid ≥ n stored once past the row), and a uniform trip count is also what GPUs like.
#define FOR_GROUP_STRIDE(j, n) \
    for (int j##Base = 0, j = LID(0); j##Base < (n); j##Base += LSIZE(0), j = j##Base + LID(0)) \
        if ((j) >= (n)) {} else // (an if-else, so that a following `else` binds to the caller's if)

// Tree reductions over the work-group (LSIZE(0) a power of two); every work-item gets the result.
INLINE float group_max(LOCAL_PTR float* scratch, const float v)
{
    const int lid = LID(0);
    scratch[lid] = v;
    BARRIER;
    for (int gap = LSIZE(0) / 2; gap > 0; gap >>= 1)
    {
        if (lid < gap) scratch[lid] = fmax(scratch[lid], scratch[lid + gap]);
        BARRIER;
    }
    const float r = scratch[0];
    BARRIER; // scratch is reused by the next reduction
    return r;
}

INLINE float group_sum(LOCAL_PTR float* scratch, const float v)
{
    const int lid = LID(0);
    scratch[lid] = v;
    BARRIER;
    for (int gap = LSIZE(0) / 2; gap > 0; gap >>= 1)
    {
        if (lid < gap) scratch[lid] += scratch[lid + gap];
        BARRIER;
    }
    const float r = scratch[0];
    BARRIER;
    return r;
}
