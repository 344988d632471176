//go:build linux

package gemm

import (
	"fmt"
	"golang.org/x/sys/unix"
	"runtime"
	"slices"

	"github.com/byol-lab/byol-lab/core/parallel"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// cpuRate: best-of-7 GFLOP/s per thread CPU second.
func cpuRate(flops float64, f func()) float64 {
	f()
	n := 1
	for {
		t0 := time.Now()
		for range n {
			f()
		}
		if time.Since(t0) > 20*time.Millisecond {
			break
		}
		n *= 2
	}
	best := 0.0
	for rep := 0; rep < 7; rep++ {
		t0 := cpuTime()
		for range n {
			f()
		}
		r := flops * float64(n) / (cpuTime() - t0).Seconds() / 1e9
		best = max(best, r)
	}
	return best
}

func TestZZVariants(t *testing.T) {
	runtime.LockOSThread()
	const k = 256
	for _, kn := range kernels() {
		a := make([]float32, kn.mr*k)
		bp := make([]float32, kn.nr*k)
		c := make([]float32, kn.mr*kn.nr)
		r := cpuRate(2*float64(kn.mr*kn.nr*k), func() { kn.fn(k, a, bp, c, kn.nr, 1, 1, kn.mr, kn.nr) })
		fmt.Printf("%-12s %6.2f GFLOP/s\n", kn.name, r)
	}
}

func TestZZShapes(t *testing.T) {
	runtime.LockOSThread()
	for _, kn := range kernels() {
		for _, s := range benchShapes {
			m, n, k := s.m, s.n, s.k
			a := make([]float32, m*k)
			bb := make([]float32, k*n)
			c := make([]float32, m*n)
			lda, ldb := k, n
			if s.transA {
				lda = m
			}
			if s.transB {
				ldb = k
			}
			var r float64
			withKernel(kn, func() {
				r = cpuRate(2*float64(m*n*k), func() { Sgemm(nil, s.transA, s.transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n) })
			})
			fmt.Printf("%-12s %-28s %7.2f GFLOP/s\n", kn.name, s.name, r)
		}
	}
}

func TestZZPack(t *testing.T) {
	runtime.LockOSThread()
	const m, k = 512, 256
	a := make([]float32, 512*512+1024)
	dst := make([]float32, (m+32)*k)
	for _, tr := range []bool{false, true} {
		for _, mr := range []int{8, 32} {
			r := cpuRate(float64(m*k), func() { packA(dst, tr, a, 512, 0, m, 0, k, mr) })
			fmt.Printf("packA trans=%v mr=%d: %.2f Gfloat/s\n", tr, mr, r)
			r = cpuRate(float64(m*k), func() { packB(dst, tr, a, 512, 0, k, 0, m, mr) })
			fmt.Printf("packB trans=%v nr=%d: %.2f Gfloat/s\n", tr, mr, r)
		}
	}
}

// TestZZWall: interleaved short wall-clock windows, 1 vs 2 threads; max and median GFLOP/s.
func TestZZWall(t *testing.T) {
	p := parallel.New(2)
	defer p.Close()
	for _, s := range benchShapes {
		m, n, k := s.m, s.n, s.k
		a := make([]float32, m*k)
		bb := make([]float32, k*n)
		c := make([]float32, m*n)
		lda, ldb := k, n
		if s.transA {
			lda = m
		}
		if s.transB {
			ldb = k
		}
		f1 := func() { Sgemm(nil, s.transA, s.transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n) }
		f2 := func() { Sgemm(p, s.transA, s.transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n) }
		f1()
		f2()
		reps := max(1, int(2e6/(2*float64(m*n*k)/100e9*1e9))) // ~2ms windows at 100 GFLOP/s
		var r1, r2 []float64
		for range 60 {
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
		fmt.Printf("%-26s 1T max %6.1f med %6.1f | 2T max %6.1f med %6.1f\n", s.name, r1[len(r1)-1], r1[len(r1)/2], r2[len(r2)-1], r2[len(r2)/2])
	}
}

func TestZZBlocking(t *testing.T) {
	runtime.LockOSThread()
	for _, base := range kernels()[:2] {
		for _, kc := range []int{128, 192, 256, 384, 512} {
			for _, mc := range []int{48, 96, 192, 384} {
				kn := base
				kn.kc, kn.mc = kc, roundUp(mc, kn.mr)
				line := fmt.Sprintf("%-12s kc=%3d mc=%3d:", kn.name, kc, mc)
				for _, s := range benchShapes {
					if s.name != "square_1024" && s.name != "linear_dX_NN" && s.name != "conv_128x49x1152" && s.name != "conv_dW_NT_64x576x1024" {
						continue
					}
					m, n, k := s.m, s.n, s.k
					a := make([]float32, m*k)
					bb := make([]float32, k*n)
					c := make([]float32, m*n)
					lda, ldb := k, n
					if s.transA {
						lda = m
					}
					if s.transB {
						ldb = k
					}
					var r float64
					withKernel(kn, func() {
						r = cpuRate(2*float64(m*n*k), func() { Sgemm(nil, s.transA, s.transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n) })
					})
					line += fmt.Sprintf(" %s %6.1f", s.name, r)
				}
				fmt.Println(line)
			}
		}
	}
}
