package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/byol-lab/byol-lab/core/parallel"
)

// Guard bands (after gonum's asm tests): every matrix lives inside a larger
// buffer whose other cells, including the gaps between rows when the
// leading dimension exceeds the width, hold a NaN with a recognisable
// payload. A kernel that reads one poisons a result; one that writes one
// changes its bits.
const guard = 37

var sentinel = math.Float32frombits(0x7fc0beef)

type guarded struct {
	buf            []float32
	rows, cols, ld int
}

func newGuarded(rows, cols, ld int, fill func() float32) *guarded {
	g := &guarded{buf: make([]float32, 2*guard+rows*ld), rows: rows, cols: cols, ld: ld}
	for i := range g.buf {
		g.buf[i] = sentinel
	}
	for i := range rows {
		for j := range cols {
			g.buf[guard+i*ld+j] = fill()
		}
	}
	return g
}

// data is the matrix as Sgemm sees it: exactly as long as BLAS requires.
func (g *guarded) data() []float32 {
	if g.rows == 0 || g.cols == 0 {
		return g.buf[guard:guard]
	}
	return g.buf[guard : guard+(g.rows-1)*g.ld+g.cols]
}

func (g *guarded) at(i, j int) float32 { return g.buf[guard+i*g.ld+j] }

func (g *guarded) checkGuards(t *testing.T, name string) {
	t.Helper()
	for idx, v := range g.buf {
		off := idx - guard
		inside := off >= 0 && off < g.rows*g.ld && off%g.ld < g.cols
		if !inside && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("%s: guard cell %d (offset %d) overwritten with %v", name, idx, off, v)
		}
	}
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            [3]int // extra leading-dimension slack for A, B, C
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v pad=%v",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// check runs one case through Sgemm with pool p and compares it with a
// float64 reference, with an error bound that grows with k.
func check(t *testing.T, rng *rand.Rand, p *parallel.Pool, tc gemmCase) {
	t.Helper()
	uni := func() float32 { return rng.Float32()*2 - 1 }
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	a := newGuarded(ar, ac, max(1, ac)+tc.pad[0], uni)
	b := newGuarded(br, bc, max(1, bc)+tc.pad[1], uni)
	cfill := uni
	if tc.beta == 0 {
		cfill = func() float32 { return float32(math.NaN()) } // must not be read
	}
	c := newGuarded(tc.m, tc.n, max(1, tc.n)+tc.pad[2], cfill)
	c0 := append([]float32(nil), c.buf...)

	Sgemm(p, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data(), a.ld, b.data(), b.ld, tc.beta, c.data(), c.ld)

	opA := func(i, l int) float64 {
		if tc.transA {
			return float64(a.at(l, i))
		}
		return float64(a.at(i, l))
	}
	opB := func(l, j int) float64 {
		if tc.transB {
			return float64(b.at(j, l))
		}
		return float64(b.at(l, j))
	}
	const u = 1.0 / (1 << 24) // float32 unit roundoff
	for i := range tc.m {
		for j := range tc.n {
			var sum, mag float64
			for l := range tc.k {
				x := opA(i, l) * opB(l, j)
				sum += x
				mag += math.Abs(x)
			}
			want := float64(tc.alpha) * sum
			mag *= math.Abs(float64(tc.alpha))
			if tc.beta != 0 {
				cij := float64(c0[guard+i*c.ld+j])
				want += float64(tc.beta) * cij
				mag += math.Abs(float64(tc.beta) * cij)
			}
			got := float64(c.at(i, j))
			if tol := 2*float64(tc.k+2)*u*mag + 1e-30; !(math.Abs(got-want) <= tol) {
				t.Fatalf("%v: C[%d,%d] = %v, want %v (tol %.3g)", tc, i, j, got, want, tol)
			}
		}
	}
	a.checkGuards(t, "A")
	b.checkGuards(t, "B")
	c.checkGuards(t, "C")
}

// withKernel makes Sgemm use kn, and only kn, for the duration of f.
func withKernel(kn kernel, f func()) {
	saved, savedAuto := active, autoNarrow
	active, autoNarrow = kn, false
	defer func() { active, autoNarrow = saved, savedAuto }()
	f()
}

// testKernels is every kernel the CPU runs, plus copies with tiny cache
// blocks, so that small matrices cross every MC, KC and NC boundary.
func testKernels() []kernel {
	var ks []kernel
	for _, kn := range kernels() {
		ks = append(ks, kn)
		tiny := kn
		tiny.name += "/tinyblocks"
		tiny.mc, tiny.kc, tiny.nc = 2*kn.mr, 5, 3*kn.nr
		ks = append(ks, tiny)
	}
	return ks
}

func randomCase(rng *rand.Rand, maxDim int) gemmCase {
	alphas := []float32{1, -1, 0.5, 2.5}
	betas := []float32{0, 1, -0.7, 0.3}
	return gemmCase{
		transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
		m: 1 + rng.IntN(maxDim), n: 1 + rng.IntN(maxDim), k: 1 + rng.IntN(maxDim),
		alpha: alphas[rng.IntN(len(alphas))], beta: betas[rng.IntN(len(betas))],
		pad: [3]int{rng.IntN(2) * rng.IntN(7), rng.IntN(2) * rng.IntN(7), rng.IntN(2) * rng.IntN(7)},
	}
}

func TestSgemmRandomShapes(t *testing.T) {
	for _, kn := range testKernels() {
		t.Run(kn.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			withKernel(kn, func() {
				for range 400 {
					check(t, rng, nil, randomCase(rng, 70))
				}
			})
		})
	}
}

// TestSgemmGoPacking runs the assembly kernels on panels packed by the Go
// loops instead of the vector packers (where the build has them).
func TestSgemmGoPacking(t *testing.T) {
	saved := setAsmPack(false)
	defer setAsmPack(saved)
	for _, kn := range testKernels() {
		t.Run(kn.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			withKernel(kn, func() {
				for range 100 {
					check(t, rng, nil, randomCase(rng, 70))
				}
			})
		})
	}
}

// TestSgemmParallel forces the split over pool workers on small shapes,
// along both N and M, with pools of 2 and 3 threads.
func TestSgemmParallel(t *testing.T) {
	saved := parMinFlops
	parMinFlops = 0
	defer func() { parMinFlops = saved }()
	for _, threads := range []int{2, 3} {
		p := parallel.New(threads)
		for _, kn := range testKernels() {
			t.Run(fmt.Sprintf("%s/threads=%d", kn.name, threads), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				withKernel(kn, func() {
					for range 150 {
						check(t, rng, p, randomCase(rng, 90))
					}
				})
			})
		}
		p.Close()
	}
}

// modelShapes are the trainer's GEMMs: linear layers (batch 256 × 2 views),
// convolutions through im2col (m = Cout, n = H·W, k = Cin·9), their
// backward passes, and a conv weight gradient with k = H·W.
var modelShapes = []struct{ m, n, k int }{
	{512, 512, 64}, {512, 64, 512}, {512, 512, 512}, {64, 512, 512},
	{16, 784, 9}, {32, 196, 144}, {64, 49, 288}, {128, 49, 1152},
	{16, 1024, 27}, {128, 64, 1152}, {1152, 49, 128},
	{64, 576, 1024}, {32, 288, 784},
}

func TestSgemmModelShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("model shapes are slow against the float64 reference")
	}
	p := parallel.New(2)
	defer p.Close()
	for _, kn := range kernels() {
		t.Run(kn.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			withKernel(kn, func() {
				for i, s := range modelShapes {
					tc := gemmCase{transA: i%2 == 1, transB: i%3 == 1, m: s.m, n: s.n, k: s.k, alpha: 1, beta: 0}
					check(t, rng, p, tc)
					// All four transposes with accumulation on the linear shapes.
					if i < 2 {
						for tr := range 4 {
							tc.transA, tc.transB, tc.beta, tc.alpha = tr&1 == 1, tr&2 == 2, 1, -0.5
							check(t, rng, nil, tc)
						}
					}
				}
			})
		})
	}
}

func TestSgemmDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, kn := range kernels() {
		withKernel(kn, func() {
			for _, tc := range []gemmCase{
				{m: 3, n: 5, k: 0, alpha: 1, beta: 0},
				{m: 3, n: 5, k: 0, alpha: 1, beta: 0.5},
				{m: 3, n: 5, k: 4, alpha: 0, beta: 0},
				{m: 3, n: 5, k: 4, alpha: 0, beta: 2},
				{m: 0, n: 5, k: 4, alpha: 1, beta: 1},
				{m: 3, n: 0, k: 4, alpha: 1, beta: 1},
				{m: 1, n: 1, k: 1, alpha: 1, beta: 0, pad: [3]int{3, 3, 3}},
			} {
				check(t, rng, nil, tc)
			}
		})
	}
}

func TestSgemmBadArgsPanic(t *testing.T) {
	buf := make([]float32, 100)
	for name, f := range map[string]func(){
		"negative m": func() { Sgemm(nil, false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) },
		"small lda":  func() { Sgemm(nil, false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, buf, 2) },
		"small ldbT": func() { Sgemm(nil, false, true, 2, 2, 3, 1, buf, 3, buf, 2, 0, buf, 2) },
		"short c":    func() { Sgemm(nil, false, false, 11, 10, 1, 1, buf, 1, buf, 10, 0, buf, 10) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestSgemmConcurrentCallers(t *testing.T) {
	p := parallel.New(2)
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 40 {
				tc := randomCase(rng, 120)
				pool := p
				if g%2 == 0 {
					pool = nil
				}
				check(t, rng, pool, tc)
			}
		}()
	}
	wg.Wait()
}

func TestSgemmDoesNotAllocate(t *testing.T) {
	p := parallel.New(2)
	defer p.Close()
	for _, kn := range kernels() {
		withKernel(kn, func() {
			for _, s := range []struct{ m, n, k int }{{512, 512, 64}, {16, 49, 9}, {37, 71, 300}} {
				a := make([]float32, s.m*s.k)
				b := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				for _, pool := range []*parallel.Pool{nil, p} {
					for tr := range 4 {
						tA, tB := tr&1 == 1, tr&2 == 2
						lda, ldb := s.k, s.n
						if tA {
							lda = s.m
						}
						if tB {
							ldb = s.k
						}
						allocs := testing.AllocsPerRun(20, func() {
							Sgemm(pool, tA, tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0.5, c, s.n)
						})
						if allocs != 0 {
							t.Errorf("%s %v tA=%v tB=%v pool=%v: %v allocs per call", kn.name, s, tA, tB, pool != nil, allocs)
						}
					}
				}
			}
		})
	}
}

// TestSgemmAutoKernel runs Sgemm as the backend does, free to switch to the
// narrow kernel, on shapes with few columns or rows (a 3×3 filter gradient
// of a one-channel layer is 16×9).
func TestSgemmAutoKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for range 200 {
		tc := randomCase(rng, 300)
		if rng.IntN(2) == 0 {
			tc.n = 1 + rng.IntN(20)
		} else {
			tc.m = 1 + rng.IntN(12)
		}
		check(t, rng, nil, tc)
	}
}
