//go:build cudaemu && !cuda

package cuda_test

import (
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/kernels/emu"
)

// openDriver runs the kernels on the CPU emulator.
func openDriver(t *testing.T) cuda.Driver {
	d, err := emu.New()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stepBatch keeps the emulated step small: one OS thread per CUDA thread.
const stepBatch = 8
