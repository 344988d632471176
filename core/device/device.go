// Package device opens the compute backend a config names: "cpu" always,
// "cuda" in a binary built with -tags cuda.
package device

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// NoCUDA explains what to do when a binary without CUDA is asked for it.
const NoCUDA = "device cuda: this binary was built without CUDA; on a machine with an NVIDIA GPU " +
	"and the CUDA toolkit build it with: go build -tags cuda -o byol-lab ./cmd/byol-lab"

var (
	gpuOnce sync.Once
	gpu     backend.Backend
	gpuErr  error
)

// Open returns the backend for name. CPU backends run their loops on pool.
// The GPU is opened once per process (one context) and shared; like every
// backend, it is used by one goroutine at a time.
func Open(name string, pool *parallel.Pool) (backend.Backend, error) {
	switch name {
	case "", "cpu":
		return cpu.New(pool), nil
	case "cuda":
		if openCUDADriver == nil {
			return nil, fmt.Errorf("%s", NoCUDA)
		}
		gpuOnce.Do(func() { gpu, _, gpuErr = openCUDA(false) })
		return gpu, gpuErr
	}
	return nil, fmt.Errorf("device %q: want cpu or cuda", name)
}

// Profiler times a backend's kernels one by one (bench --profile).
type Profiler interface {
	Enable(on bool)
	Reset()
	Report(w io.Writer, steps int) error
}

// OpenProfiled opens a backend of its own (not the shared GPU of Open) with
// a Profiler over its kernels, disabled until enabled. Only cuda has one:
// on the CPU, Go's profiler answers the same question.
func OpenProfiled(name string) (backend.Backend, Profiler, error) {
	switch name {
	case "", "cpu":
		return nil, nil, errors.New("the kernel profile needs --device cuda; for the CPU use " +
			"go test -run '^$' -bench StepCPU -cpuprofile cpu.out ./core/backend/cpu/ and go tool pprof")
	case "cuda":
		if openCUDADriver == nil {
			return nil, nil, errors.New(NoCUDA)
		}
		return openCUDA(true)
	}
	return nil, nil, fmt.Errorf("device %q: want cpu or cuda", name)
}

// HasCUDA reports whether this binary was built with CUDA support.
func HasCUDA() bool { return openCUDADriver != nil }

// openCUDADriver is set by cuda.go (the GPU, -tags cuda) and cudaemu.go
// (the CPU emulator, -tags cudaemu).
var openCUDADriver func() (cuda.Driver, error)

// openCUDA opens the CUDA backend, its driver wrapped in a Profiler if
// profiled.
func openCUDA(profiled bool) (backend.Backend, Profiler, error) {
	d, err := openCUDADriver()
	if err != nil {
		return nil, nil, err
	}
	var p *cuda.Profiler
	if profiled {
		p = cuda.NewProfiler(d)
		d = p
	}
	b, err := cuda.New(d)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		return b, nil, nil
	}
	return b, p, nil
}
