//go:build cuda

package device

import "github.com/byol-lab/byol-lab/core/backend/cuda"

func init() {
	openCUDADriver = func() (cuda.Driver, error) { return cuda.OpenGPU(0) }
}
