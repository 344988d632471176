package nn

import "github.com/byol-lab/byol-lab/core/backend"

// Conv2d is a K×K convolution without bias (BatchNorm always follows).
type Conv2d struct {
	b               backend.Backend
	In              Shape
	Cout, K, S, Pad int
	W               *Param
	x               Tensor
	y, dx           scratch
}

// NewConv2d registers a convolution over inputs of shape in.
func NewConv2d(b backend.Backend, ps *Params, name string, in Shape, cout, k, stride, pad int) *Conv2d {
	c := &Conv2d{b: b, In: in, Cout: cout, K: k, S: stride, Pad: pad}
	c.W = ps.add(name+".weight", Weight, kaimingUniform(in.C*k*k), cout, in.C, k, k)
	return c
}

func (c *Conv2d) geom(n int) backend.ConvGeom {
	return backend.ConvGeom{N: n, Cin: c.In.C, H: c.In.H, W: c.In.W, Cout: c.Cout, K: c.K, Stride: c.S, Pad: c.Pad}
}

func (c *Conv2d) OutShape() Shape {
	g := c.geom(1)
	return Shape{c.Cout, g.OutH(), g.OutW()}
}

func (c *Conv2d) Forward(x Tensor, train bool) Tensor {
	c.x = x
	out := c.OutShape()
	y := c.y.get(c.b, x.N*out.Size())
	c.b.Conv2d(x.Buf, c.W.W, y, c.geom(x.N))
	return like(x, y, out)
}

func (c *Conv2d) Backward(dy Tensor, needDx bool) Tensor {
	g := c.geom(dy.N)
	c.b.Conv2dBackwardFilter(c.x.Buf, dy.Buf, c.W.G, g)
	if !needDx {
		return Tensor{}
	}
	dx := c.dx.get(c.b, dy.N*c.In.Size())
	c.b.Conv2dBackwardData(dy.Buf, c.W.W, dx, g)
	return like(dy, dx, c.In)
}
