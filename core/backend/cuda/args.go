package cuda

import (
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
)

// Kernel arguments travel as 8-byte holders (gorgonia.org/cu copies 8 bytes
// per argument). A 4-byte int or float sits in the low half, which is where
// a little-endian device reads it.

// P passes a buffer as a device pointer (float* or const float*).
func P(b backend.Buffer) uint64 { return uint64(b.(*Buf).ptr) }

// I passes an int argument.
func I(v int) uint64 { return uint64(uint32(int32(v))) }

// F passes a float argument.
func F(v float32) uint64 { return uint64(math.Float32bits(v)) }

// U passes an unsigned long long argument.
func U(v uint64) uint64 { return v }

// kernelNames lists every kernel the backend launches, in registration
// order; New resolves them all once, so a missing kernel fails at start-up.
var kernelNames []string

// kid identifies a registered kernel.
type kid int

// kernel registers a kernel name; call it in a package-level var.
func kernel(name string) kid {
	kernelNames = append(kernelNames, name)
	return kid(len(kernelNames) - 1)
}
