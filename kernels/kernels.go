// Package kernels holds the CUDA C sources of the CUDA backend and the
// module nvcc built from them (see README.md).
package kernels

import _ "embed"

//go:generate sh gen.sh

// Fatbin is the compiled module: sm_80 and sm_90 machine code plus
// compute_80 PTX that newer GPUs JIT-compile.
//
//go:embed byol.fatbin
var Fatbin []byte
