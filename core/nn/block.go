package nn

import (
	"fmt"

	"github.com/byol-lab/byol-lab/core/backend"
)

// BasicBlock is ResNet's residual block: relu(bn(conv(relu(bn(conv(x))))) +
// shortcut(x)), where the shortcut is a 1×1 convolution with BatchNorm when
// the stride or width changes and the identity otherwise.
type BasicBlock struct {
	b     backend.Backend
	main  *Sequential // conv-bn-relu-conv-bn
	short *Sequential // nil for the identity
	out   Shape
	y, dx scratch
	yt    Tensor
}

// NewBasicBlock registers a residual block mapping in to cout channels.
func NewBasicBlock(b backend.Backend, ps *Params, name string, in Shape, cout, stride int) *BasicBlock {
	c1 := NewConv2d(b, ps, name+".conv1", in, cout, 3, stride, 1)
	s1 := c1.OutShape()
	bn1 := NewBatchNorm(b, ps, name+".bn1", s1)
	c2 := NewConv2d(b, ps, name+".conv2", s1, cout, 3, 1, 1)
	bn2 := NewBatchNorm(b, ps, name+".bn2", s1)
	blk := &BasicBlock{b: b, out: s1,
		main: NewSequential(in, c1, bn1, NewReLU(b, s1), c2, bn2)}
	if stride != 1 || in.C != cout {
		sc := NewConv2d(b, ps, name+".shortcut.0", in, cout, 1, stride, 0)
		if sc.OutShape() != s1 {
			panic(fmt.Sprintf("nn: block %s shortcut shape %v != %v", name, sc.OutShape(), s1))
		}
		blk.short = NewSequential(in, sc, NewBatchNorm(b, ps, name+".shortcut.1", s1))
	}
	return blk
}

func (l *BasicBlock) OutShape() Shape { return l.out }

func (l *BasicBlock) Forward(x Tensor, train bool) Tensor {
	m := l.main.Forward(x, train)
	s := x
	if l.short != nil {
		s = l.short.Forward(x, train)
	}
	y := l.y.get(l.b, m.Len())
	l.b.Add(y, m.Buf, s.Buf, m.Len())
	l.b.ReLU(y, y, m.Len())
	l.yt = like(m, y, l.out)
	return l.yt
}

func (l *BasicBlock) Backward(dy Tensor, needDx bool) Tensor {
	// dy is masked in place by the final ReLU, then feeds both branches.
	l.b.ReLUBackward(l.yt.Buf, dy.Buf, dy.Buf, dy.Len())
	dm := l.main.Backward(dy, needDx)
	if l.short == nil {
		if !needDx {
			return Tensor{}
		}
		dx := l.dx.get(l.b, dm.Len())
		l.b.Add(dx, dm.Buf, dy.Buf, dm.Len())
		return like(dm, dx, dm.Shape)
	}
	ds := l.short.Backward(dy, needDx)
	if !needDx {
		return Tensor{}
	}
	dx := l.dx.get(l.b, dm.Len())
	l.b.Add(dx, dm.Buf, ds.Buf, dm.Len())
	return like(dm, dx, dm.Shape)
}
