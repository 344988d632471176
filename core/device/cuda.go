//go:build cuda

package device

import (
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
)

func init() {
	openCUDA = func() (backend.Backend, error) {
		d, err := cuda.OpenGPU(0)
		if err != nil {
			return nil, err
		}
		return cuda.New(d)
	}
	openCUDAProfiled = func() (backend.Backend, Profiler, error) {
		d, err := cuda.OpenGPU(0)
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
