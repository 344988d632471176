package nn

import "github.com/byol-lab/byol-lab/core/backend"

// Linear is y = x·Wᵀ + b with W stored out×in, as in PyTorch.
type Linear struct {
	b       backend.Backend
	In, Out int
	W, B    *Param // B is nil without bias
	x       Tensor
	y, dx   scratch
}

// NewLinear registers a Linear layer's parameters in ps.
func NewLinear(b backend.Backend, ps *Params, name string, in, out int, bias bool) *Linear {
	l := &Linear{b: b, In: in, Out: out}
	l.W = ps.add(name+".weight", Weight, kaimingUniform(in), out, in)
	if bias {
		l.B = ps.add(name+".bias", Bias, kaimingUniform(in), out)
	}
	return l
}

func (l *Linear) OutShape() Shape { return Vec(l.Out) }

func (l *Linear) Forward(x Tensor, train bool) Tensor {
	l.x = x
	y := l.y.get(l.b, x.N*l.Out)
	l.b.Gemm(false, true, x.N, l.Out, l.In, 1, x.Buf, l.W.W, 0, y)
	if l.B != nil {
		l.b.AddBias(y, l.B.W, x.N, l.Out)
	}
	return like(x, y, Vec(l.Out))
}

func (l *Linear) Backward(dy Tensor, needDx bool) Tensor {
	n := dy.N
	l.b.Gemm(true, false, l.Out, l.In, n, 1, dy.Buf, l.x.Buf, 0, l.W.G)
	if l.B != nil {
		l.b.BiasGrad(l.B.G, dy.Buf, n, l.Out)
	}
	if !needDx {
		return Tensor{}
	}
	dx := l.dx.get(l.b, n*l.In)
	l.b.Gemm(false, false, n, l.In, l.Out, 1, dy.Buf, l.W.W, 0, dx)
	return like(dy, dx, l.x.Shape)
}
