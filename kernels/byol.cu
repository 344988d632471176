// The CUDA backend's kernels: one translation unit, so nvcc emits one
// module and the emulator compiles one file. See README.md for conventions.
#include "ops.cuh"
#include "gemm.cuh"
#include "conv.cuh"
#include "augment.cuh"
#include "contrastive.cuh"
#include "winograd.cuh"
