// Package cpu is the pure-Go compute backend: it builds for every GOOS/GOARCH
// (js/wasm included) and is the numerical reference for the other backends.
//
// A CPU value is used by one goroutine at a time (it owns scratch space);
// several CPU values may share one parallel.Pool.
package cpu

import (
	"fmt"
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu/vec"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// Buf is a CPU buffer: a plain float32 slice.
type Buf struct{ data []float32 }

// Len is the number of elements.
func (b *Buf) Len() int { return len(b.data) }

// Slice returns a view of n elements starting at off.
func (b *Buf) Slice(off, n int) backend.Buffer {
	if off < 0 || n < 0 || off+n > len(b.data) {
		panic(fmt.Sprintf("cpu: slice [%d:%d] of a buffer of %d", off, off+n, len(b.data)))
	}
	return &Buf{b.data[off : off+n : off+n]}
}

// Data exposes a CPU buffer's memory, for zero-copy host access.
func Data(b backend.Buffer) []float32 { return b.(*Buf).data }

func f(b backend.Buffer) []float32 { return b.(*Buf).data }

// CPU implements backend.Backend.
type CPU struct {
	pool *parallel.Pool
	conv convTask
	bn   bnTask
	elem elemTask
	nce  nceTask
}

var _ backend.Backend = (*CPU)(nil)

// New returns a CPU backend running its loops on pool (nil: a pool of
// GOMAXPROCS threads shared by the process).
func New(pool *parallel.Pool) *CPU {
	if pool == nil {
		pool = parallel.Default()
	}
	c := &CPU{pool: pool}
	c.conv.scratch = make([][]float32, pool.Threads())
	c.conv.dw = make([][]float32, pool.Threads())
	c.conv.outs = make([][]float32, pool.Threads())
	c.conv.planes = make([][]float32, pool.Threads())
	return c
}

// Name identifies the backend.
func (c *CPU) Name() string { return "cpu" }

// Pool is the worker pool the backend runs on.
func (c *CPU) Pool() *parallel.Pool { return c.pool }

func (c *CPU) Alloc(n int) backend.Buffer { return &Buf{make([]float32, n)} }

func (c *CPU) Upload(dst backend.Buffer, src []float32) {
	mustLen("Upload", len(src), dst.Len())
	copy(f(dst), src)
}

func (c *CPU) Download(dst []float32, src backend.Buffer) {
	mustLen("Download", len(dst), src.Len())
	copy(dst, f(src))
}

func (c *CPU) Copy(dst, src backend.Buffer) {
	mustLen("Copy", dst.Len(), src.Len())
	copy(f(dst), f(src))
}

func (c *CPU) Fill(dst backend.Buffer, v float32) {
	d := f(dst)
	for i := range d {
		d[i] = v
	}
}

func mustLen(op string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("cpu: %s of %d elements into %d", op, got, want))
	}
}

func (c *CPU) AddBias(y, bias backend.Buffer, rows, cols int) {
	yd, bd := f(y)[:rows*cols], f(bias)[:cols]
	for i := 0; i < rows; i++ {
		row := yd[i*cols : (i+1)*cols]
		for j, b := range bd {
			row[j] += b
		}
	}
}

func (c *CPU) BiasGrad(db, dy backend.Buffer, rows, cols int) {
	d, g := f(db)[:cols], f(dy)[:rows*cols]
	for j := range d {
		d[j] = 0
	}
	for i := 0; i < rows; i++ {
		row := g[i*cols : (i+1)*cols]
		for j, v := range row {
			d[j] += v
		}
	}
}

// elemTask runs an elementwise kernel over a range of indices.
type elemTask struct {
	op      int // elemReLU, elemReLUBackward, elemAdd
	a, b, o []float32
}

const (
	elemReLU = iota
	elemReLUBackward
	elemAdd
)

// elemGrain keeps small tensors on one thread: below it, waking a worker
// costs more than the loop.
const elemGrain = 1 << 15

func (t *elemTask) Run(lo, hi int) {
	a, b, o := t.a[lo:hi], t.b[lo:hi], t.o[lo:hi]
	switch t.op {
	case elemReLU:
		vec.ReLU(o, a)
	case elemReLUBackward: // a = y, b = dy
		vec.ReLUMask(o, a, b)
	case elemAdd:
		vec.Add(o, a, b)
	}
}

func (c *CPU) runElem(op int, a, b, o []float32) {
	c.elem = elemTask{op: op, a: a, b: b, o: o}
	c.pool.For(len(o), elemGrain, &c.elem)
}

func (c *CPU) ReLU(x, y backend.Buffer, n int) {
	c.runElem(elemReLU, f(x)[:n], f(x)[:n], f(y)[:n])
}

func (c *CPU) ReLUBackward(y, dy, dx backend.Buffer, n int) {
	c.runElem(elemReLUBackward, f(y)[:n], f(dy)[:n], f(dx)[:n])
}

func (c *CPU) Add(y, a, b backend.Buffer, n int) {
	c.runElem(elemAdd, f(a)[:n], f(b)[:n], f(y)[:n])
}

func (c *CPU) GlobalAvgPool(x, y backend.Buffer, n, ch, s int) {
	xd, yd := f(x)[:n*ch*s], f(y)[:n*ch]
	inv := 1 / float32(s)
	for p := range yd {
		yd[p] = vec.Sum(xd[p*s:(p+1)*s]) * inv
	}
}

func (c *CPU) GlobalAvgPoolBackward(dy, dx backend.Buffer, n, ch, s int) {
	g, d := f(dy)[:n*ch], f(dx)[:n*ch*s]
	inv := 1 / float32(s)
	for p, v := range g {
		v *= inv
		plane := d[p*s : (p+1)*s]
		for i := range plane {
			plane[i] = v
		}
	}
}

// normEps matches torch.nn.functional.normalize: x / max(‖x‖, eps).
const normEps = 1e-12

func rowNorm(r []float32) float64 {
	var s float64
	for _, v := range r {
		s += float64(v) * float64(v)
	}
	return max(math.Sqrt(s), normEps)
}

func (c *CPU) L2Normalize(x, y backend.Buffer, rows, d int) {
	xd, yd := f(x)[:rows*d], f(y)[:rows*d]
	for i := 0; i < rows; i++ {
		r := xd[i*d : (i+1)*d]
		inv := float32(1 / rowNorm(r))
		o := yd[i*d : (i+1)*d]
		for j, v := range r {
			o[j] = v * inv
		}
	}
}

func (c *CPU) BYOLLoss(p, z, dp, loss backend.Buffer, rows, d, shift int, scale float32) {
	pd, zd, gd := f(p)[:rows*d], f(z)[:rows*d], f(dp)[:rows*d]
	var total float64
	for i := 0; i < rows; i++ {
		j := (i + shift) % rows
		pi, zj := pd[i*d:(i+1)*d], zd[j*d:(j+1)*d]
		np, nz := rowNorm(pi), rowNorm(zj)
		var dot float64
		for k := range pi {
			dot += float64(pi[k]) * float64(zj[k])
		}
		cos := dot / (np * nz)
		total += 2 - 2*cos
		// d(2−2cos)/dp = −2·(z/(‖p‖‖z‖) − cos·p/‖p‖²)
		a := -2 * float64(scale) / (np * nz)
		b := 2 * float64(scale) * cos / (np * np)
		gi := gd[i*d : (i+1)*d]
		for k := range gi {
			gi[k] = float32(a*float64(zj[k]) + b*float64(pi[k]))
		}
	}
	f(loss)[0] = float32(total * float64(scale))
}

func (c *CPU) EMA(target, online backend.Buffer, tau float32) {
	t, o := f(target), f(online)
	mustLen("EMA", len(o), len(t))
	for i, v := range o {
		t[i] = tau*t[i] + (1-tau)*v
	}
}

func (c *CPU) SumSquares(x backend.Buffer) float32 {
	var s float64
	for _, v := range f(x) {
		s += float64(v) * float64(v)
	}
	return float32(s)
}
