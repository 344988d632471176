//go:build cuda

package cuda

// What gorgonia.org/cu v0.9.6 lacks, called directly: pinned host memory,
// and a start-up check that replaces cu's bare exit without a GPU by a
// message saying which build to use.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>

// Runs before Go's runtime and package init, so before cu's init() would
// print its own error and exit.
static void __attribute__((constructor)) byol_lab_check_cuda(void) {
	CUresult r = cuInit(0);
	if (r == CUDA_SUCCESS) return;
	const char *msg = "unknown error";
	cuGetErrorString(r, &msg);
	fprintf(stderr,
		"byol-lab: this binary was built with -tags cuda and needs an NVIDIA GPU and driver,\n"
		"but CUDA could not start: %s.\n"
		"On a machine without a GPU use the default build: go run ./cmd/byol-lab\n", msg);
	exit(3);
}

static CUresult byol_alloc_host(void **p, size_t n) { return cuMemAllocHost(p, n); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// allocHost returns n bytes of page-locked host memory for async uploads.
func allocHost(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if r := C.byol_alloc_host(&p, C.size_t(n)); r != C.CUDA_SUCCESS {
		return nil, fmt.Errorf("cuMemAllocHost(%d): error %d", n, int(r))
	}
	return p, nil
}
