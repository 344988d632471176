// Package cuda is the CUDA backend. The package itself is plain Go with no
// build tag: it turns every backend operation into launches of the kernels
// in kernels/ through a Driver. Two drivers exist:
//
//   - the GPU driver (driver_cu.go, build tag cuda) over gorgonia.org/cu;
//   - an emulator (package kernels/emu, build tag cudaemu) that compiles the
//     same .cu sources with g++ and runs them on the CPU, so CI without a
//     GPU checks every kernel against the CPU backend.
package cuda

import (
	"time"
	"unsafe"
)

// Ptr is a device address.
type Ptr uintptr

// Dim3 is a grid or block size.
type Dim3 struct{ X, Y, Z int }

// Kernel is a driver's handle to a loaded kernel function.
type Kernel int

// Driver is what the backend needs from CUDA: memory, copies and kernel
// launches on one in-order stream. Launch and copies into the device may be
// asynchronous; errors are sticky and reported by Err and Sync.
type Driver interface {
	Device() string
	// Kernel looks up an extern "C" __global__ function by name.
	Kernel(name string) (Kernel, error)
	Malloc(bytes int) (Ptr, error)
	Free(p Ptr)
	HtoD(dst Ptr, src unsafe.Pointer, bytes int)
	DtoH(dst unsafe.Pointer, src Ptr, bytes int) // waits for earlier work
	DtoD(dst, src Ptr, bytes int)
	// Launch runs k; every argument is an 8-byte holder (see args.go).
	Launch(k Kernel, grid, block Dim3, args []uint64)
	Sync() error
	Err() error
}

// SMCounter is implemented by drivers that know their GPU's number of
// streaming multiprocessors, which the GEMM's tiling plans for.
type SMCounter interface {
	SMs() int
}

// Event is a driver's handle to a point in its stream.
type Event int

// EventTimer is implemented by drivers that time work on the device itself
// (CUDA events on a GPU), so that a profile need not wait for every launch.
type EventTimer interface {
	// Mark records an event after all work queued so far.
	Mark() Event
	// Elapsed waits for the later event and returns the device time from
	// one event to the other; both are then free for reuse. Errors are
	// sticky, as ever, and give 0.
	Elapsed(from, to Event) time.Duration
}
