package gemm

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/parallel"
)

type noop struct{ x [2]int }

func (n *noop) Run(lo, hi int) { n.x[lo&1] += hi }

func BenchmarkZZPoolFor(b *testing.B) {
	p := parallel.New(2)
	defer p.Close()
	t := &noop{}
	for b.Loop() {
		p.For(2, 1, t)
	}
}

func TestZZThreshold(t *testing.T) {
	p := parallel.New(2)
	defer p.Close()
	saved := parMinFlops
	parMinFlops = 0
	defer func() { parMinFlops = saved }()
	for _, s := range [][3]int{{64, 64, 64}, {80, 80, 80}, {100, 100, 100}, {128, 128, 128}, {160, 160, 160}, {200, 200, 200}, {16, 784, 9}, {32, 196, 144}, {64, 49, 288}, {128, 49, 1152}, {16, 1024, 27}, {512, 64, 512}, {512, 512, 64}} {
		m, n, k := s[0], s[1], s[2]
		a := make([]float32, m*k)
		bb := make([]float32, k*n)
		c := make([]float32, m*n)
		f1 := func() { Sgemm(nil, false, false, m, n, k, 1, a, k, bb, n, 0, c, n) }
		f2 := func() { Sgemm(p, false, false, m, n, k, 1, a, k, bb, n, 0, c, n) }
		reps := max(1, int(1e6/(2*float64(m*n*k)/100e9*1e9)))
		var r1, r2 []float64
		for range 100 {
			for i, f := range []func(){f1, f2} {
				t0 := time.Now()
				for range reps {
					f()
				}
				r := 2 * float64(m*n*k) * float64(reps) / time.Since(t0).Seconds() / 1e9
				if i == 0 {
					r1 = append(r1, r)
				} else {
					r2 = append(r2, r)
				}
			}
		}
		slices.Sort(r1)
		slices.Sort(r2)
		fmt.Printf("%v %.2f MFLOP: 1T max %6.1f med %6.1f | 2T max %6.1f med %6.1f\n", s, 2*float64(m*n*k)/1e6, r1[len(r1)-1], r1[len(r1)/2], r2[len(r2)-1], r2[len(r2)/2])
	}
}

type spin struct{ d time.Duration }

func (s *spin) Run(lo, hi int) {
	t0 := time.Now()
	for time.Since(t0) < s.d {
	}
}

func TestZZSpin(t *testing.T) {
	p := parallel.New(2)
	defer p.Close()
	for _, d := range []time.Duration{10 * time.Microsecond, 50 * time.Microsecond, 200 * time.Microsecond, time.Millisecond} {
		s := &spin{d}
		var ws []time.Duration
		for range 200 {
			t0 := time.Now()
			p.For(2, 1, s)
			ws = append(ws, time.Since(t0))
			time.Sleep(100 * time.Microsecond)
		}
		slices.Sort(ws)
		fmt.Printf("spin %v: For wall min %v med %v\n", d, ws[0], ws[len(ws)/2])
	}
}

func BenchmarkZZTiny(b *testing.B) {
	for _, s := range [][3]int{{16, 49, 9}, {8, 32, 8}, {1, 1, 1}, {64, 49, 64}} {
		m, n, k := s[0], s[1], s[2]
		a := make([]float32, m*k)
		bb := make([]float32, k*n)
		c := make([]float32, m*n)
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			for b.Loop() {
				Sgemm(nil, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
