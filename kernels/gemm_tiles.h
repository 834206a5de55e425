// gemm_tiles.h — the register-blocked GEMM tiling shared by gemm.cl (gemm_tiled_regblock) and
// conv2d.cl (implicit_gemm); each file takes it with `#include "gemm_tiles.h"` (KernelSource expands
// it in place). The launch code passes its own values as -D options (GpuBackend.Gemm.cs, GpuBackend.Conv2d.cs);
// these defaults only let a file compile alone.
//
// A work-group computes a TSM×TSN tile of C from TSK-deep slabs of the operands in local memory;
// each work-item accumulates a WPTM×WPTN block of C in registers.

#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 128
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 8
#endif
#ifndef WPTN
#define WPTN 8
#endif

#define RTSM (TSM / WPTM) // work-items along dim 1 of a register-blocked work-group
#define RTSN (TSN / WPTN) // work-items along dim 0
