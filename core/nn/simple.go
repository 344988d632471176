package nn

import "github.com/byol-lab/byol-lab/core/backend"

// ReLU runs in place on its input: the layer before it (BatchNorm, Linear)
// never needs its own output again, and ReLU's backward needs only its
// output's sign.
type ReLU struct {
	b     backend.Backend
	Shape Shape
	y     Tensor
}

func NewReLU(b backend.Backend, s Shape) *ReLU { return &ReLU{b: b, Shape: s} }

func (l *ReLU) OutShape() Shape { return l.Shape }

func (l *ReLU) Forward(x Tensor, train bool) Tensor {
	l.b.ReLU(x.Buf, x.Buf, x.Len())
	l.y = x
	return x
}

func (l *ReLU) Backward(dy Tensor, needDx bool) Tensor {
	if !needDx {
		return Tensor{}
	}
	l.b.ReLUBackward(l.y.Buf, dy.Buf, dy.Buf, dy.Len())
	return dy
}

// GlobalAvgPool averages each channel's plane: N×C×H×W → N×C.
type GlobalAvgPool struct {
	b     backend.Backend
	In    Shape
	y, dx scratch
}

func NewGlobalAvgPool(b backend.Backend, in Shape) *GlobalAvgPool {
	return &GlobalAvgPool{b: b, In: in}
}

func (l *GlobalAvgPool) OutShape() Shape { return Vec(l.In.C) }

func (l *GlobalAvgPool) Forward(x Tensor, train bool) Tensor {
	y := l.y.get(l.b, x.N*l.In.C)
	l.b.GlobalAvgPool(x.Buf, y, x.N, l.In.C, l.In.H*l.In.W)
	return like(x, y, Vec(l.In.C))
}

func (l *GlobalAvgPool) Backward(dy Tensor, needDx bool) Tensor {
	if !needDx {
		return Tensor{}
	}
	dx := l.dx.get(l.b, dy.N*l.In.Size())
	l.b.GlobalAvgPoolBackward(dy.Buf, dx, dy.N, l.In.C, l.In.H*l.In.W)
	return like(dy, dx, l.In)
}

// Flatten views N×C×H×W as N×(C·H·W); NCHW memory needs no copy.
type Flatten struct{ In Shape }

func NewFlatten(in Shape) *Flatten { return &Flatten{In: in} }

func (l *Flatten) OutShape() Shape { return Vec(l.In.Size()) }

func (l *Flatten) Forward(x Tensor, train bool) Tensor { return like(x, x.Buf, l.OutShape()) }

func (l *Flatten) Backward(dy Tensor, needDx bool) Tensor {
	if !needDx {
		return Tensor{}
	}
	return like(dy, dy.Buf, l.In)
}

// Sequential chains layers.
type Sequential struct {
	Layers []Layer
	in     Shape
}

// NewSequential chains layers; in is the input shape (returned as OutShape
// when there are no layers).
func NewSequential(in Shape, layers ...Layer) *Sequential {
	return &Sequential{Layers: layers, in: in}
}

func (s *Sequential) OutShape() Shape {
	if len(s.Layers) == 0 {
		return s.in
	}
	return s.Layers[len(s.Layers)-1].OutShape()
}

func (s *Sequential) Forward(x Tensor, train bool) Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x, train)
	}
	return x
}

func (s *Sequential) Backward(dy Tensor, needDx bool) Tensor {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(dy, needDx || i > 0)
	}
	return dy
}
