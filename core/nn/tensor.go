// Package nn holds layers with explicit forward and backward passes over a
// backend. A layer keeps views into its network's flat parameter buffer and
// its own activation buffers, allocated on first use and reused afterwards,
// so a training step allocates nothing once warm.
package nn

import "github.com/byol-lab/byol-lab/core/backend"

// Shape is the shape of one sample: C×H×W for images, C×1×1 for vectors.
type Shape struct{ C, H, W int }

// Size is the number of elements of one sample.
func (s Shape) Size() int { return s.C * s.H * s.W }

// Vec is the shape of a d-dimensional vector sample.
func Vec(d int) Shape { return Shape{d, 1, 1} }

// Tensor is a batch of N samples of one Shape in a backend buffer (NCHW).
// Groups is the number of independent sub-batches it holds: BYOL passes both
// views as one batch with Groups = 2, and BatchNorm keeps their statistics
// apart.
type Tensor struct {
	Buf    backend.Buffer
	N      int
	Groups int
	Shape
}

// Len is the number of elements.
func (t Tensor) Len() int { return t.N * t.Size() }

// Layer is one differentiable step. Backward must follow the Forward whose
// gradient it computes; it overwrites the layer's parameter gradients and
// returns the gradient with respect to the input (an empty Tensor when
// needDx is false, which lets the first layer skip that work).
type Layer interface {
	Forward(x Tensor, train bool) Tensor
	Backward(dy Tensor, needDx bool) Tensor
	OutShape() Shape
}

// scratch is an activation buffer that grows to the largest batch seen and
// hands out a view of the current size. The view is cached, so alternating
// batch sizes (training vs evaluation) costs a small allocation per switch,
// and a steady batch size costs nothing.
type scratch struct {
	full, view backend.Buffer
}

func (s *scratch) get(b backend.Backend, n int) backend.Buffer {
	if s.full == nil || s.full.Len() < n {
		s.full = b.Alloc(n)
		s.view = s.full
	}
	if s.view.Len() != n {
		s.view = s.full.Slice(0, n)
	}
	return s.view
}

func like(x Tensor, buf backend.Buffer, shape Shape) Tensor {
	return Tensor{Buf: buf, N: x.N, Groups: x.Groups, Shape: shape}
}
