package cuda

import "github.com/byol-lab/byol-lab/core/backend"

// Winograd F(m×m, 3×3), m = 2 or 4, for 3×3 stride-1 convolutions, all
// three passes (kernels/winograd.cuh): filter, input and output transforms
// (or their adjoints) around one batched launch of t² GEMMs (t = m + 2),
// which do t² multiplications per m×m outputs and channel pair where a
// direct convolution does 9m². Batches run in chunks of images so the
// transformed tiles fit the workspace bound.

// winoKernels are one m's transforms.
type winoKernels struct {
	m                                               int
	filter, input, output, outputAdjoint, filterAdj kid
}

func winoRegister(m int) winoKernels {
	p := "wino" + string(rune('0'+m)) + "_"
	return winoKernels{m: m,
		filter: kernel(p + "filter"), input: kernel(p + "input"), output: kernel(p + "output"),
		outputAdjoint: kernel(p + "output_adjoint"), filterAdj: kernel(p + "filter_adjoint")}
}

var (
	wino2 = winoRegister(2)
	wino4 = winoRegister(4)
)

// winoMinChannels keeps Winograd off layers with few channels (a stem on
// RGB), where the GEMMs have too little depth to pay for the transforms.
const winoMinChannels = 16

// winogradFits says whether g is a layer Winograd runs.
func winogradFits(g backend.ConvGeom) bool {
	return g.K == 3 && g.Stride == 1 && g.Cin >= winoMinChannels && g.Cout >= winoMinChannels && g.N > 0
}

// winoState holds the Winograd workspaces: transformed filters U, input
// tiles V and products M, grown on demand.
type winoState struct {
	u, v, m *Buf
}

// convWinograd computes out = conv(in, w) for a 3×3 filter at stride 1:
// the forward pass (in = x, out = y), or with flip the data gradient (in =
// dy, out = dx, the flipped filters transposed, padding 2 − pad).
func (c *CUDA) convWinograd(k *winoKernels, in, w, out Ptr, g backend.ConvGeom, flip bool) {
	cin, cout, h, wd, pad := g.Cin, g.Cout, g.H, g.W, g.Pad
	oh, ow := g.OutH(), g.OutW()
	flipArg := 0
	if flip {
		cin, cout, h, wd, oh, ow, pad = g.Cout, g.Cin, oh, ow, g.H, g.W, 2-g.Pad
		flipArg = 1
	}
	t := k.m + 2
	th, tw := ceilDiv(oh, k.m), ceilDiv(ow, k.m)
	u := c.grow(&c.wino.u, t*t*cin*cout)
	c.launch1D(k.filter, cin*cout, 256, U(uint64(w)), P(u), I(g.Cout), I(g.Cin), I(flipArg))

	nb := c.conv.chunk(g.N, t*t*(cin+cout)*th*tw)
	v := c.grow(&c.wino.v, t*t*cin*nb*th*tw)
	m := c.grow(&c.wino.m, t*t*cout*nb*th*tw)
	for n0 := 0; n0 < g.N; n0 += nb {
		cnt := min(nb, g.N-n0)
		tiles := cnt * th * tw
		c.launch1D(k.input, cin*tiles, 256,
			U(uint64(in+Ptr(4*n0*cin*h*wd))), P(v), I(cnt), I(cin), I(h), I(wd), I(pad), I(th), I(tw))
		c.gemmRun(&gemmOp{
			m: cout, n: tiles, k: cin, alpha: 1,
			a: u.ptr, b: v.ptr, c: m.ptr,
			lda: cin, ldb: tiles, ldc: tiles,
			sa: cout * cin, sb: cin * tiles, sc: cout * tiles, batch: t * t,
		})
		c.launch1D(k.output, cout*tiles, 256,
			P(m), U(uint64(out+Ptr(4*n0*cout*oh*ow))), I(cnt), I(cout), I(oh), I(ow), I(th), I(tw))
	}
}

// convWinogradFilter computes the filter gradient dw of a 3×3 stride-1
// convolution: dU[ξ] = dM[ξ]·V[ξ]ᵀ summed over the tiles of every chunk,
// then dw = Gᵀ·dU·G.
func (c *CUDA) convWinogradFilter(k *winoKernels, x, dy, dw Ptr, g backend.ConvGeom) {
	oh, ow := g.OutH(), g.OutW()
	t := k.m + 2
	th, tw := ceilDiv(oh, k.m), ceilDiv(ow, k.m)
	du := c.grow(&c.wino.u, t*t*g.Cin*g.Cout)
	nb := c.conv.chunk(g.N, t*t*(g.Cin+g.Cout)*th*tw)
	v := c.grow(&c.wino.v, t*t*g.Cin*nb*th*tw)
	m := c.grow(&c.wino.m, t*t*g.Cout*nb*th*tw)
	for n0 := 0; n0 < g.N; n0 += nb {
		cnt := min(nb, g.N-n0)
		tiles := cnt * th * tw
		c.launch1D(k.input, g.Cin*tiles, 256,
			U(uint64(x+Ptr(4*n0*g.Cin*g.H*g.W))), P(v), I(cnt), I(g.Cin), I(g.H), I(g.W), I(g.Pad), I(th), I(tw))
		c.launch1D(k.outputAdjoint, g.Cout*tiles, 256,
			U(uint64(dy+Ptr(4*n0*g.Cout*oh*ow))), P(m), I(cnt), I(g.Cout), I(oh), I(ow), I(th), I(tw))
		beta := float32(1)
		if n0 == 0 {
			beta = 0
		}
		c.gemmRun(&gemmOp{
			transB: true, m: g.Cout, n: g.Cin, k: tiles, alpha: 1, beta: beta,
			a: m.ptr, b: v.ptr, c: du.ptr,
			lda: tiles, ldb: tiles, ldc: g.Cin,
			sa: g.Cout * tiles, sb: g.Cin * tiles, sc: g.Cout * g.Cin, batch: t * t,
		})
	}
	c.launch1D(k.filterAdj, g.Cout*g.Cin, 256, P(du), U(uint64(dw)), I(g.Cout), I(g.Cin))
}
