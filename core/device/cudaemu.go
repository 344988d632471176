//go:build cudaemu && !cuda

package device

import "github.com/byol-lab/byol-lab/kernels/emu"

// In emulator builds "cuda" runs the CUDA backend's kernels on the CPU
// (kernels/emu): far too slow to train with, but it takes every command's
// --device cuda path end to end on a machine without a GPU, as in CI.
func init() {
	openCUDADriver = emu.New
}
