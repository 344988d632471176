package eval

import (
	"math"
	"testing"
)

// guarded returns a slice of n values inside NaN guard bands, and a check
// that the bands are untouched (after gonum's asm tests).
func guarded(n int) ([]float32, func(t *testing.T, name string)) {
	const band = 64
	buf := make([]float32, n+2*band)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	return buf[band : band+n : band+n], func(t *testing.T, name string) {
		t.Helper()
		for i, v := range buf {
			if (i < band || i >= band+n) && !math.IsNaN(float64(v)) {
				t.Fatalf("%s: wrote guard band at offset %d", name, i-band)
			}
		}
	}
}

func TestMicroKernels(t *testing.T) {
	kernels := map[string]func(int, []float32, []float32, []float32, int){
		"go":       microKernelGo,
		kernelName: microKernel,
	}
	r := newRand(5)
	for _, d := range []int{1, 2, 7, 8, 64, 129} {
		for _, ldo := range []int{panelW, 37} {
			q, checkQ := guarded(microQ * d)
			panel, checkP := guarded(d * panelW)
			copy(q, gaussian(r, microQ, d))
			copy(panel, gaussian(r, d, panelW))
			for name, kern := range kernels {
				n := (microQ-1)*ldo + panelW
				out, checkOut := guarded(n)
				for i := range out {
					out[i] = -7 // cells between rows must survive
				}
				kern(d, q, panel, out, ldo)
				for i := range microQ {
					for j := range ldo {
						if i == microQ-1 && j >= panelW {
							break
						}
						got := float64(out[i*ldo+j])
						if j >= panelW {
							if got != -7 {
								t.Fatalf("%s d=%d: wrote out[%d][%d]", name, d, i, j)
							}
							continue
						}
						var want, mag float64
						for l := range d {
							p := float64(q[i*d+l]) * float64(panel[l*panelW+j])
							want += p
							mag += math.Abs(p)
						}
						if math.Abs(got-want) > 1e-6*mag+1e-7 {
							t.Errorf("%s d=%d ldo=%d out[%d][%d] = %v, want %v", name, d, ldo, i, j, got, want)
						}
					}
				}
				checkOut(t, name+" out")
			}
			checkQ(t, "q")
			checkP(t, "panel")
		}
	}
}

func TestFirstAbove(t *testing.T) {
	impls := map[string]func([]float32, float32) int{"go": firstAboveGo, kernelName: firstAbove}
	for name, f := range impls {
		for n := 0; n <= 40; n++ {
			row, check := guarded(n)
			for i := range row {
				row[i] = float32(i % 5)
			}
			for _, thr := range []float32{-1, 0, 3, 4, 10} {
				want := n
				for i, v := range row {
					if v > thr {
						want = i
						break
					}
				}
				if got := f(row, thr); got != want {
					t.Errorf("%s n=%d thr=%v: %d, want %d", name, n, thr, got, want)
				}
			}
			check(t, name)
		}
		// NaN never counts as above.
		row := []float32{float32(math.NaN()), 1, 2, 3, 4, 5, 6, 7, 8, float32(math.NaN())}
		if got := f(row, 7.5); got != 8 {
			t.Errorf("%s with NaN: %d, want 8", name, got)
		}
	}
}

func TestPackRow(t *testing.T) {
	const n, d = 35, 3
	rows := make([]float32, n*d)
	for i := range rows {
		rows[i] = float32(i + 1)
	}
	np := (n + panelW - 1) / panelW
	dst, check := guarded(np * d * panelW)
	clear(dst)
	for i := range n {
		packRow(dst, rows[i*d:i*d+d], i, d)
	}
	check(t, "panels")
	for p := range np {
		for l := range d {
			for j := range panelW {
				i := p*panelW + j
				want := float32(0)
				if i < n {
					want = rows[i*d+l]
				}
				if got := dst[p*d*panelW+l*panelW+j]; got != want {
					t.Fatalf("panel %d dim %d item %d = %v, want %v", p, l, j, got, want)
				}
			}
		}
	}
}
