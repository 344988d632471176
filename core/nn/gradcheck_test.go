package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu"
)

// The gradient checks compare each layer's float32 backward pass with
// central finite differences of an independent float64 reference forward
// (naive loops below), so a bug shared by forward and backward still fails.

type refFn func(x, params []float64, n int) []float64

func refLinear(in, out int, bias bool) refFn {
	return func(x, p []float64, n int) []float64 {
		y := make([]float64, n*out)
		for i := 0; i < n; i++ {
			for o := 0; o < out; o++ {
				s := 0.0
				if bias {
					s = p[out*in+o]
				}
				for k := 0; k < in; k++ {
					s += x[i*in+k] * p[o*in+k]
				}
				y[i*out+o] = s
			}
		}
		return y
	}
}

func refConv(in Shape, cout, k, stride, pad int) refFn {
	ho, wo := (in.H+2*pad-k)/stride+1, (in.W+2*pad-k)/stride+1
	return func(x, w []float64, n int) []float64 {
		y := make([]float64, n*cout*ho*wo)
		for b := 0; b < n; b++ {
			for co := 0; co < cout; co++ {
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						s := 0.0
						for ci := 0; ci < in.C; ci++ {
							for ky := 0; ky < k; ky++ {
								for kx := 0; kx < k; kx++ {
									iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
									if iy < 0 || iy >= in.H || ix < 0 || ix >= in.W {
										continue
									}
									s += x[((b*in.C+ci)*in.H+iy)*in.W+ix] * w[((co*in.C+ci)*k+ky)*k+kx]
								}
							}
						}
						y[((b*cout+co)*ho+oy)*wo+ox] = s
					}
				}
			}
		}
		return y
	}
}

func refBN(s Shape, groups int) refFn {
	return func(x, p []float64, n int) []float64 {
		c, sp := s.C, s.H*s.W
		y := make([]float64, len(x))
		ng := n / groups
		for g := 0; g < groups; g++ {
			for ch := 0; ch < c; ch++ {
				var vals []int
				for b := g * ng; b < (g+1)*ng; b++ {
					for i := 0; i < sp; i++ {
						vals = append(vals, (b*c+ch)*sp+i)
					}
				}
				mean, vr := 0.0, 0.0
				for _, i := range vals {
					mean += x[i]
				}
				mean /= float64(len(vals))
				for _, i := range vals {
					vr += (x[i] - mean) * (x[i] - mean)
				}
				vr /= float64(len(vals))
				for _, i := range vals {
					y[i] = p[ch]*(x[i]-mean)/math.Sqrt(vr+bnEps) + p[c+ch]
				}
			}
		}
		return y
	}
}

func refReLU(x, _ []float64, _ int) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = max(v, 0)
	}
	return y
}

func refGAP(in Shape) refFn {
	return func(x, _ []float64, n int) []float64 {
		sp := in.H * in.W
		y := make([]float64, n*in.C)
		for i := range y {
			for j := 0; j < sp; j++ {
				y[i] += x[i*sp+j] / float64(sp)
			}
		}
		return y
	}
}

// chain composes reference layers; sizes gives each one's parameter count.
func chain(fns []refFn, sizes []int) refFn {
	return func(x, p []float64, n int) []float64 {
		off := 0
		for i, fn := range fns {
			x = fn(x, p[off:off+sizes[i]], n)
			off += sizes[i]
		}
		return x
	}
}

func refBlock(in Shape, cout, stride int, groups int) refFn {
	c1 := refConv(in, cout, 3, stride, 1)
	s1 := Shape{cout, (in.H+2-3)/stride + 1, (in.W+2-3)/stride + 1}
	main := chain([]refFn{c1, refBN(s1, groups), refReLU, refConv(s1, cout, 3, 1, 1), refBN(s1, groups)},
		[]int{cout * in.C * 9, 2 * cout, 0, cout * cout * 9, 2 * cout})
	mainLen := cout*in.C*9 + 2*cout + cout*cout*9 + 2*cout
	identity := stride == 1 && in.C == cout
	short := chain([]refFn{refConv(in, cout, 1, stride, 0), refBN(s1, groups)}, []int{cout * in.C, 2 * cout})
	return func(x, p []float64, n int) []float64 {
		m := main(x, p[:mainLen], n)
		s := x
		if !identity {
			s = short(x, p[mainLen:], n)
		}
		for i := range m {
			m[i] = max(m[i]+s[i], 0)
		}
		return m
	}
}

type gradCase struct {
	name   string
	in     Shape
	n      int
	groups int
	build  func(b backend.Backend, ps *Params) Layer
	ref    refFn
}

func TestLayerGradients(t *testing.T) {
	img := Shape{3, 6, 5}
	cases := []gradCase{
		{name: "linear", in: Vec(7), n: 5, build: func(b backend.Backend, ps *Params) Layer {
			return NewLinear(b, ps, "fc", 7, 4, true)
		}, ref: refLinear(7, 4, true)},
		{name: "linear-nobias", in: Vec(6), n: 3, build: func(b backend.Backend, ps *Params) Layer {
			return NewLinear(b, ps, "fc", 6, 5, false)
		}, ref: refLinear(6, 5, false)},
		{name: "conv3x3-s1", in: img, n: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewConv2d(b, ps, "c", img, 4, 3, 1, 1)
		}, ref: refConv(img, 4, 3, 1, 1)},
		{name: "conv3x3-s2", in: img, n: 3, build: func(b backend.Backend, ps *Params) Layer {
			return NewConv2d(b, ps, "c", img, 2, 3, 2, 1)
		}, ref: refConv(img, 2, 3, 2, 1)},
		{name: "conv1x1-s2-nopad", in: img, n: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewConv2d(b, ps, "c", img, 3, 1, 2, 0)
		}, ref: refConv(img, 3, 1, 2, 0)},
		{name: "batchnorm2d", in: img, n: 4, build: func(b backend.Backend, ps *Params) Layer {
			return NewBatchNorm(b, ps, "bn", img)
		}, ref: refBN(img, 1)},
		{name: "batchnorm2d-2groups", in: img, n: 4, groups: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewBatchNorm(b, ps, "bn", img)
		}, ref: refBN(img, 2)},
		{name: "batchnorm1d-2groups", in: Vec(5), n: 6, groups: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewBatchNorm(b, ps, "bn", Vec(5))
		}, ref: refBN(Vec(5), 2)},
		{name: "relu", in: img, n: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewReLU(b, img)
		}, ref: refReLU},
		{name: "gap", in: img, n: 3, build: func(b backend.Backend, ps *Params) Layer {
			return NewGlobalAvgPool(b, img)
		}, ref: refGAP(img)},
		{name: "flatten", in: img, n: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewFlatten(img)
		}, ref: func(x, _ []float64, _ int) []float64 { return append([]float64(nil), x...) }},
		{name: "block-identity", in: Shape{4, 5, 5}, n: 4, groups: 2, build: func(b backend.Backend, ps *Params) Layer {
			return NewBasicBlock(b, ps, "blk", Shape{4, 5, 5}, 4, 1)
		}, ref: refBlock(Shape{4, 5, 5}, 4, 1, 2)},
		{name: "block-downsample", in: Shape{2, 6, 6}, n: 3, build: func(b backend.Backend, ps *Params) Layer {
			return NewBasicBlock(b, ps, "blk", Shape{2, 6, 6}, 3, 2)
		}, ref: refBlock(Shape{2, 6, 6}, 3, 2, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkGradients(t, tc) })
	}
}

func checkGradients(t *testing.T, tc gradCase) {
	b := cpu.New(nil)
	ps := &Params{}
	layer := tc.build(b, ps)
	rng := rand.New(rand.NewPCG(1, 2))
	ps.Alloc(b, rng)
	// Randomise BatchNorm affine parameters too, so their gradients matter.
	params := cpu.Data(ps.W)
	for i := range params {
		params[i] += float32(0.3 * rng.NormFloat64())
	}
	groups := max(tc.groups, 1)
	x := make([]float32, tc.n*tc.in.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	xb := b.Alloc(len(x))
	b.Upload(xb, x)
	y := layer.Forward(Tensor{Buf: xb, N: tc.n, Groups: groups, Shape: tc.in}, true)

	// Loss L = Σ r⊙y with fixed random r.
	r := make([]float64, y.Len())
	dy := make([]float32, y.Len())
	for i := range r {
		r[i] = rng.NormFloat64()
		dy[i] = float32(r[i])
	}
	x64, p64 := to64(x), to64(params)
	yRef := tc.ref(x64, p64, tc.n)
	if len(yRef) != y.Len() {
		t.Fatalf("reference output has %d elements, layer %d", len(yRef), y.Len())
	}
	assertClose(t, "forward", to64(cpu.Data(y.Buf)[:y.Len()]), yRef, 1e-4)

	dyb := b.Alloc(len(dy))
	b.Upload(dyb, dy)
	dx := layer.Backward(Tensor{Buf: dyb, N: tc.n, Groups: groups, Shape: y.Shape}, true)

	loss := func(x, p []float64) float64 {
		s := 0.0
		for i, v := range tc.ref(x, p, tc.n) {
			s += r[i] * v
		}
		return s
	}
	const h = 1e-6
	numeric := func(v []float64) []float64 {
		g := make([]float64, len(v))
		for i := range v {
			old := v[i]
			v[i] = old + h
			lp := loss(x64, p64)
			v[i] = old - h
			lm := loss(x64, p64)
			v[i] = old
			g[i] = (lp - lm) / (2 * h)
		}
		return g
	}
	assertClose(t, "dx", to64(cpu.Data(dx.Buf)[:len(x)]), numeric(x64), 1e-3)
	if len(params) > 0 {
		assertClose(t, "dparams", to64(cpu.Data(ps.G)[:len(params)]), numeric(p64), 1e-3)
	}
}

func to64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

// assertClose checks |got−want| ≤ tol·(1 + |want|) elementwise, after scaling
// by the largest magnitude so float32 rounding on big sums is tolerated.
func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range got {
		if math.IsNaN(got[i]) || math.Abs(got[i]-want[i]) > tol*scale {
			t.Fatalf("%s[%d] = %.7g, want %.7g (tol %.1g·%.3g)", what, i, got[i], want[i], tol, scale)
		}
	}
}
