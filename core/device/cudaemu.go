//go:build cudaemu && !cuda

package device

import (
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/kernels/emu"
)

// In emulator builds "cuda" runs the CUDA backend's kernels on the CPU
// (kernels/emu): far too slow to train with, but it takes every command's
// --device cuda path end to end on a machine without a GPU, as in CI.
func init() {
	openCUDA = func() (backend.Backend, error) {
		d, err := emu.New()
		if err != nil {
			return nil, err
		}
		return cuda.New(d)
	}
	openCUDAProfiled = func() (backend.Backend, Profiler, error) {
		d, err := emu.New()
		if err != nil {
			return nil, nil, err
		}
		p := cuda.NewProfiler(d)
		b, err := cuda.New(p)
		if err != nil {
			return nil, nil, err
		}
		return b, p, nil
	}
}
