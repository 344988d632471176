package nn

import "github.com/byol-lab/byol-lab/core/backend"

// PyTorch's BatchNorm defaults.
const (
	bnMomentum = 0.1
	bnEps      = 1e-5
)

// BatchNorm normalises each channel (BatchNorm2d for images, BatchNorm1d for
// vectors, where S = 1). In training it uses the statistics of each group of
// the batch and updates its running statistics; in evaluation it uses them.
type BatchNorm struct {
	b                 backend.Backend
	Shape             Shape
	Gamma, Beta       *Param
	RunMean, RunVar   *State
	x                 Tensor
	y, dx, mean, istd scratch
}

// NewBatchNorm registers a BatchNorm over samples of the given shape.
func NewBatchNorm(b backend.Backend, ps *Params, name string, s Shape) *BatchNorm {
	return &BatchNorm{
		b: b, Shape: s,
		Gamma:   ps.add(name+".weight", BNScale, constant(1), s.C),
		Beta:    ps.add(name+".bias", BNShift, constant(0), s.C),
		RunMean: ps.addState(name+".running_mean", s.C, 0),
		RunVar:  ps.addState(name+".running_var", s.C, 1),
	}
}

func (l *BatchNorm) OutShape() Shape { return l.Shape }

func (l *BatchNorm) geom(x Tensor, groups int) backend.BNGeom {
	return backend.BNGeom{N: x.N, C: l.Shape.C, S: l.Shape.H * l.Shape.W, Groups: groups}
}

func groupsOf(x Tensor) int { return max(x.Groups, 1) }

func (l *BatchNorm) Forward(x Tensor, train bool) Tensor {
	l.x = x
	y := l.y.get(l.b, x.Len())
	if train {
		g := l.geom(x, groupsOf(x))
		mean, istd := l.mean.get(l.b, g.Groups*g.C), l.istd.get(l.b, g.Groups*g.C)
		l.b.BatchNormTrain(x.Buf, y, l.Gamma.W, l.Beta.W, mean, istd, l.RunMean.Buf, l.RunVar.Buf, g, bnMomentum, bnEps)
	} else {
		l.b.BatchNormEval(x.Buf, y, l.Gamma.W, l.Beta.W, l.RunMean.Buf, l.RunVar.Buf, l.geom(x, 1), bnEps)
	}
	return like(x, y, l.Shape)
}

func (l *BatchNorm) Backward(dy Tensor, needDx bool) Tensor {
	g := l.geom(dy, groupsOf(dy))
	dx := l.dx.get(l.b, dy.Len())
	l.b.BatchNormBackward(l.x.Buf, dy.Buf, l.Gamma.W, l.mean.view, l.istd.view, dx, l.Gamma.G, l.Beta.G, g)
	return like(dy, dx, l.Shape)
}
