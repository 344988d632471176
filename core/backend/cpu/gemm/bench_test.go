package gemm

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/internal/cputime"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// benchShapes: the trainer's GEMMs (see modelShapes) in the transposes it
// uses, and 1024³ to compare with BLAS libraries.
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"linear_fwd_NN", false, false, 512, 512, 64},
	{"linear_fwd_NT", false, true, 512, 64, 512},
	{"linear_dX_NN", false, false, 512, 512, 512},
	{"linear_dW_TN", true, false, 512, 64, 512},
	{"linear_dW_TN_k512", true, false, 64, 512, 512},
	{"conv_16x784x9", false, false, 16, 784, 9},
	{"conv_32x196x144", false, false, 32, 196, 144},
	{"conv_64x49x288", false, false, 64, 49, 288},
	{"conv_128x49x1152", false, false, 128, 49, 1152},
	{"conv_16x1024x27", false, false, 16, 1024, 27},
	{"conv_dX_TN_1152x49x128", true, false, 1152, 49, 128},
	{"conv_dW_NT_64x576x1024", false, true, 64, 576, 1024},
	{"square_1024", false, false, 1024, 1024, 1024},
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per call) for every kernel the CPU
// runs, single-threaded (nil pool) and over a pool of 2 threads:
//
//	go test -run '^$' -bench Sgemm ./core/backend/cpu/gemm/
//
// For scale: a Zen 4 core issues two 256-bit FMAs per cycle (32 flop/cycle,
// AVX2 or AVX-512 alike), a Sapphire/Emerald Rapids core two 512-bit FMAs
// (64 flop/cycle). The machines are shared: compare runs interleaved (see
// docs/perf.md).
func BenchmarkSgemm(b *testing.B) {
	p := parallel.New(2)
	defer p.Close()
	for _, kn := range kernels() {
		for _, s := range benchShapes {
			for _, threads := range []int{1, 2} {
				pool := p
				if threads == 1 {
					pool = nil
				}
				name := fmt.Sprintf("%s/%s/threads=%d", kn.name, s.name, threads)
				b.Run(name, func(b *testing.B) {
					benchOne(b, kn, pool, s.transA, s.transB, s.m, s.n, s.k)
				})
			}
		}
	}
}

// nnShapes are benchShapes without transposes (as numpy and torch.mm run
// them), for BenchmarkSgemmShapes, and the convolutions with 7×7 outputs as
// the backend runs them, several images to a GEMM (tiny's 9, small's 4).
const nnShapes = "512x512x64,512x64x512,512x512x512,64x512x512,16x784x9,32x196x144,64x49x288,64x441x288,128x49x1152,128x196x576,16x1024x27,1152x49x128,64x576x1024,1024x1024x1024"

// BenchmarkSgemmShapes times C = A·B (no transposes, m×k times k×n) for the
// shapes in $SGEMM_SHAPES (MxNxK, comma-separated; default nnShapes) on
// the threads in $SGEMM_THREADS (default "1,2"): the same products
// bench/torch_gemm.py times, for bench/cpu-compare.sh.
func BenchmarkSgemmShapes(b *testing.B) {
	shapes, threads := nnShapes, "1,2"
	if v := os.Getenv("SGEMM_SHAPES"); v != "" {
		shapes = v
	}
	if v := os.Getenv("SGEMM_THREADS"); v != "" {
		threads = v
	}
	for _, ts := range strings.Split(threads, ",") {
		t, err := strconv.Atoi(ts)
		if err != nil || t < 1 {
			b.Fatalf("SGEMM_THREADS: bad thread count %q", ts)
		}
		var p *parallel.Pool
		if t > 1 {
			p = parallel.New(t)
		}
		for _, sh := range strings.Split(shapes, ",") {
			var m, n, k int
			if _, err := fmt.Sscanf(sh, "%dx%dx%d", &m, &n, &k); err != nil {
				b.Fatalf("SGEMM_SHAPES: bad shape %q (want MxNxK)", sh)
			}
			b.Run(fmt.Sprintf("%s/threads=%d", sh, t), func(b *testing.B) {
				benchSgemm(b, p, false, false, m, n, k)
			})
		}
		if p != nil {
			p.Close()
		}
	}
}

func benchOne(b *testing.B, kn kernel, p *parallel.Pool, transA, transB bool, m, n, k int) {
	withKernel(kn, func() { benchSgemm(b, p, transA, transB, m, n, k) })
}

// benchSgemm times Sgemm as the backend calls it (free to pick its kernel).
func benchSgemm(b *testing.B, p *parallel.Pool, transA, transB bool, m, n, k int) {
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range bb {
		bb[i] = float32(i%5) - 2
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	Sgemm(p, transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n) // warm up scratch
	if p == nil && cputime.ThreadAvailable {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	t0 := cputime.Thread()
	b.ResetTimer()
	for b.Loop() {
		Sgemm(p, transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	flop := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if p == nil && cputime.ThreadAvailable {
		// Single-threaded: the thread's CPU time is the call's, whatever
		// else the machine runs.
		b.ReportMetric(flop/(cputime.Thread()-t0).Seconds()/1e9, "cpu-GFLOP/s")
	}
	// The median of single calls, the statistic torch_gemm.py reports: on
	// a shared machine it skips the calls that another job interrupted,
	// which the mean above includes.
	b.StopTimer()
	var times [15]time.Duration
	for i := range times {
		t := time.Now()
		Sgemm(p, transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
		times[i] = time.Since(t)
	}
	slices.Sort(times[:])
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)/times[len(times)/2].Seconds()/1e9, "med-GFLOP/s")
}

// BenchmarkKernel times the micro-kernel alone on L1-resident panels
// (k = 256): the ceiling for the blocked algorithm.
func BenchmarkKernel(b *testing.B) {
	const k = 256
	for _, kn := range kernels() {
		b.Run(kn.name, func(b *testing.B) {
			a := make([]float32, kn.mr*k)
			bp := make([]float32, kn.nr*k)
			c := make([]float32, kn.mr*kn.nr)
			for b.Loop() {
				kn.fn(k, a, bp, c, kn.nr, 1, 1, kn.mr, kn.nr)
			}
			b.ReportMetric(2*float64(kn.mr*kn.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
