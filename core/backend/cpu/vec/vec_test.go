package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Guard bands as in the gemm tests (after gonum): every slice sits inside a
// larger buffer of NaNs with a recognisable payload, so a kernel that reads
// past its slice poisons a result and one that writes past it is caught.
const guard = 19

var sentinel = math.Float32frombits(0x7fc0beef)

type guarded struct {
	buf []float32
	n   int
}

func newGuarded(r *rand.Rand, n, off int) *guarded {
	g := &guarded{buf: make([]float32, 2*guard+off+n), n: n}
	for i := range g.buf {
		g.buf[i] = sentinel
	}
	for i := range n {
		g.buf[guard+off+i] = float32(r.NormFloat64()*2 + 0.5)
	}
	g.buf = g.buf[off:] // misalign the slice by off floats
	return g
}

func (g *guarded) s() []float32 { return g.buf[guard : guard+g.n] }

func (g *guarded) check(t *testing.T, name string) {
	t.Helper()
	for i, v := range g.buf {
		if (i < guard || i >= guard+g.n) && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("%s: guard cell %d overwritten with %v", name, i-guard, v)
		}
	}
}

// lengths covers every remainder mod 8 and 32 and the unrolled blocks.
func lengths() []int {
	var ns []int
	for n := 0; n <= 80; n++ {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 784, 1000, 4099)
}

// modes runs f with the assembly (where the CPU has it) and with the Go
// loops alone.
func modes(t *testing.T, f func(t *testing.T)) {
	saved := useAsm
	defer func() { useAsm = saved }()
	for _, asm := range []bool{false, true} {
		if asm && !saved {
			continue
		}
		useAsm = asm
		name := "go"
		if asm {
			name = "asm"
		}
		t.Run(name, f)
	}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestReductions(t *testing.T) {
	modes(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, n := range lengths() {
			off := r.IntN(8)
			x, dy := newGuarded(r, n, off), newGuarded(r, n, 7-off)
			c := r.NormFloat64()
			var ws, wss, wdy, wdyx, wsum, mag float64
			for i, v := range x.s() {
				d := float64(v) - c
				ws += d
				wss += d * d
				g := float64(dy.s()[i])
				wdy += g
				wdyx += g * d
				wsum += float64(v)
				mag += math.Abs(float64(v))
			}
			s, ss := SumSq(x.s(), c)
			sdy, sdyx := DotCentered(x.s(), dy.s(), c)
			sum := Sum(x.s())
			tol := 1e-12 * float64(n+1) * 16
			if !near(s, ws, tol) || !near(ss, wss, tol) {
				t.Fatalf("n=%d: SumSq = %v, %v, want %v, %v", n, s, ss, ws, wss)
			}
			if !near(sdy, wdy, tol) || !near(sdyx, wdyx, tol) {
				t.Fatalf("n=%d: DotCentered = %v, %v, want %v, %v", n, sdy, sdyx, wdy, wdyx)
			}
			if !near(float64(sum), wsum, 1e-6*float64(n+1)*mag/float64(n+1)+1e-6) {
				t.Fatalf("n=%d: Sum = %v, want %v", n, sum, wsum)
			}
			x.check(t, "x")
			dy.check(t, "dy")
		}
	})
}

func TestElementwise(t *testing.T) {
	modes(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range lengths() {
			off := r.IntN(8)
			x, y, dst := newGuarded(r, n, off), newGuarded(r, n, (off+3)%8), newGuarded(r, n, (off+5)%8)
			c, a, b, d := float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())
			const u = 1.0 / (1 << 23)
			Normalize(dst.s(), x.s(), c, a, b)
			for i, v := range x.s() {
				want := (float64(v)-float64(c))*float64(a) + float64(b)
				tol := 4 * u * (math.Abs(float64(v)-float64(c))*math.Abs(float64(a)) + math.Abs(float64(b)) + math.Abs(float64(c*a)))
				if !near(float64(dst.s()[i]), want, tol) {
					t.Fatalf("n=%d: Normalize[%d] = %v, want %v", n, i, dst.s()[i], want)
				}
			}
			AxpyCentered(dst.s(), x.s(), y.s(), a, b, c, d)
			for i, v := range x.s() {
				g := float64(y.s()[i])
				want := float64(a)*g + float64(b)*(float64(v)-float64(c)) + float64(d)
				tol := 4 * u * (math.Abs(float64(a)*g) + math.Abs(float64(b))*(math.Abs(float64(v))+math.Abs(float64(c))) + math.Abs(float64(d)))
				if !near(float64(dst.s()[i]), want, tol) {
					t.Fatalf("n=%d: AxpyCentered[%d] = %v, want %v", n, i, dst.s()[i], want)
				}
			}
			Add(dst.s(), x.s(), y.s())
			for i, v := range x.s() {
				if dst.s()[i] != v+y.s()[i] {
					t.Fatalf("n=%d: Add[%d] = %v, want %v", n, i, dst.s()[i], v+y.s()[i])
				}
			}
			ReLUMask(dst.s(), x.s(), y.s())
			for i, v := range x.s() {
				want := float32(0)
				if v > 0 {
					want = y.s()[i]
				}
				if dst.s()[i] != want {
					t.Fatalf("n=%d: ReLUMask[%d] = %v, want %v", n, i, dst.s()[i], want)
				}
			}
			ReLU(dst.s(), x.s())
			for i, v := range x.s() {
				if dst.s()[i] != max(v, 0) {
					t.Fatalf("n=%d: ReLU[%d] = %v, want %v", n, i, dst.s()[i], max(v, 0))
				}
			}
			for _, g := range []*guarded{x, y, dst} {
				g.check(t, "operand")
			}
		}
	})
}

// TestInPlaceAndNaN: the in-place forms the backend uses, and NaN handling:
// ReLU keeps a NaN (the divergence check sees it), ReLUMask drops a NaN y.
func TestInPlaceAndNaN(t *testing.T) {
	modes(t, func(t *testing.T) {
		nan := float32(math.NaN())
		for _, n := range []int{1, 8, 9, 33, 64} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i%5) - 2
			}
			x[n-1] = nan
			ReLU(x, x)
			for i, v := range x[:n-1] {
				if v != max(float32(i%5)-2, 0) {
					t.Fatalf("n=%d: in-place ReLU[%d] = %v", n, i, v)
				}
			}
			if !math.IsNaN(float64(x[n-1])) {
				t.Fatalf("n=%d: ReLU(NaN) = %v, want NaN", n, x[n-1])
			}
			y := make([]float32, n)
			dy := make([]float32, n)
			for i := range y {
				y[i], dy[i] = float32(i%3)-1, float32(i+1)
			}
			y[0] = nan
			ReLUMask(dy, y, dy)
			for i := range dy {
				want := float32(0)
				if y[i] > 0 {
					want = float32(i + 1)
				}
				if dy[i] != want {
					t.Fatalf("n=%d: in-place ReLUMask[%d] = %v, want %v", n, i, dy[i], want)
				}
			}
			a := make([]float32, n)
			for i := range a {
				a[i] = float32(i)
			}
			Add(a, a, a)
			for i, v := range a {
				if v != float32(2*i) {
					t.Fatalf("n=%d: in-place Add[%d] = %v", n, i, v)
				}
			}
		}
	})
}

func TestGather(t *testing.T) {
	modes(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range lengths() {
			src := newGuarded(r, 1+r.IntN(100), r.IntN(8))
			dst := newGuarded(r, n, r.IntN(8))
			idx := make([]int32, n)
			for i := range idx {
				idx[i] = int32(r.IntN(src.n))
				if r.IntN(4) == 0 {
					idx[i] = -1 - int32(r.IntN(1000)) // padding: never read
				}
			}
			Gather(dst.s(), src.s(), idx)
			for i, k := range idx {
				want := float32(0)
				if k >= 0 {
					want = src.s()[k]
				}
				if dst.s()[i] != want {
					t.Fatalf("n=%d: Gather[%d] = %v, want src[%d] = %v", n, i, dst.s()[i], k, want)
				}
			}
			dst.check(t, "dst")
			src.check(t, "src")
		}
	})
}

// TestUnfold3x3s2 checks the stride-2 unfold and its adjoint against the
// definition, with NaN guards around and between the rows (ld > ho·wo).
func TestUnfold3x3s2(t *testing.T) {
	if !useAVX512 {
		if Unfold3x3s2(make([]float32, 100), 4, make([]float32, 16), 2, 2) {
			t.Fatal("Unfold3x3s2 claims a vector version on a CPU without AVX-512")
		}
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, ho := range []int{1, 2, 3, 7, 14, 16} {
		for _, wo := range []int{1, 2, 3, 7, 8, 9, 14, 15, 16} {
			h, w := 2*ho, 2*wo
			ld := ho*wo + r.IntN(5)
			plane := newGuarded(r, h*w, r.IntN(8))
			col := newGuarded(r, 8*ld+ho*wo, r.IntN(8))
			// gap cells between rows are guards too: set them to the sentinel
			for t := range 9 {
				for i := t*ld + ho*wo; i < min((t+1)*ld, col.n); i++ {
					col.s()[i] = sentinel
				}
			}
			at := func(iy, ix int) float32 {
				if iy < 0 || ix < 0 {
					return 0
				}
				return plane.s()[iy*w+ix]
			}
			if !Unfold3x3s2(col.s(), ld, plane.s(), ho, wo) {
				t.Fatalf("ho=%d wo=%d: no vector version", ho, wo)
			}
			for ky := range 3 {
				for kx := range 3 {
					for oy := range ho {
						for ox := range wo {
							got := col.s()[(ky*3+kx)*ld+oy*wo+ox]
							if want := at(2*oy+ky-1, 2*ox+kx-1); got != want {
								t.Fatalf("ho=%d wo=%d: tap (%d,%d) pixel (%d,%d) = %v, want %v", ho, wo, ky, kx, oy, ox, got, want)
							}
						}
					}
				}
			}
			for t2 := range 9 {
				for i := t2*ld + ho*wo; i < min((t2+1)*ld, col.n); i++ {
					if math.Float32bits(col.s()[i]) != math.Float32bits(sentinel) {
						t.Fatalf("ho=%d wo=%d: gap after row %d written", ho, wo, t2)
					}
				}
			}
			plane.check(t, "plane")
			col.check(t, "col")

			// Fold: the adjoint, overwriting whatever the plane held.
			dst := newGuarded(r, h*w, r.IntN(8))
			if !Fold3x3s2(dst.s(), col.s(), ld, ho, wo) {
				t.Fatalf("ho=%d wo=%d: no vector fold", ho, wo)
			}
			want := make([]float64, h*w)
			for ky := range 3 {
				for kx := range 3 {
					for oy := range ho {
						for ox := range wo {
							iy, ix := 2*oy+ky-1, 2*ox+kx-1
							if iy >= 0 && ix >= 0 {
								want[iy*w+ix] += float64(col.s()[(ky*3+kx)*ld+oy*wo+ox])
							}
						}
					}
				}
			}
			for i, v := range want {
				if math.Abs(float64(dst.s()[i])-v) > 1e-5*(1+math.Abs(v)) {
					t.Fatalf("ho=%d wo=%d: fold pixel %d = %v, want %v", ho, wo, i, dst.s()[i], v)
				}
			}
			dst.check(t, "fold plane")
		}
	}
	if Unfold3x3s2(make([]float32, 9*17*17), 17*17, make([]float32, 4*17*17), 17, 17) {
		t.Error("Unfold3x3s2 took wo = 17")
	}
}

func BenchmarkVec(b *testing.B) {
	const n = 1 << 16 // 256 KiB a slice: L2-resident
	r := rand.New(rand.NewPCG(5, 6))
	x, y, dst := newGuarded(r, n, 0).s(), newGuarded(r, n, 0).s(), newGuarded(r, n, 0).s()
	for _, asm := range []bool{false, true} {
		saved := useAsm
		if asm && !saved {
			continue
		}
		useAsm = asm
		name := map[bool]string{false: "go/", true: "asm/"}[asm]
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"SumSq", func() { SumSq(x, 0.5) }},
			{"DotCentered", func() { DotCentered(x, y, 0.5) }},
			{"Normalize", func() { Normalize(dst, x, 0.5, 2, 1) }},
			{"AxpyCentered", func() { AxpyCentered(dst, x, y, 1, 2, 3, 4) }},
			{"ReLU", func() { ReLU(dst, x) }},
			{"ReLUMask", func() { ReLUMask(dst, x, y) }},
		} {
			b.Run(name+k.name, func(b *testing.B) {
				b.SetBytes(4 * n)
				for b.Loop() {
					k.f()
				}
			})
		}
		useAsm = saved
	}
}
