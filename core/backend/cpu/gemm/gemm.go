// Package gemm is single-precision matrix multiplication for the CPU backend.
//
// Sgemm follows the Goto/BLIS scheme. C is cut into column blocks of NC
// columns and the shared dimension into slices of KC; for each (NC, KC) pair
// the slice of op(B) is copied ("packed") into NR-wide panels that stay in the
// L3/L2 cache, and for each block of MC rows the slice of op(A) is packed
// into MR-tall panels sized to stay in L2. A micro-kernel then multiplies one
// MR×KC panel of A by one KC×NR panel of B (which sits in L1) into an MR×NR
// tile of C held entirely in registers. Packing makes every kernel read
// contiguous and unit-stride whatever the transposes and leading dimensions,
// and it is where the four transpose combinations are handled.
//
// Kernels: a portable Go 2×4 kernel (every GOOS/GOARCH, also js/wasm), and on
// amd64 an AVX2+FMA 6×16 kernel and an AVX-512 8×32 kernel with AVX2 packing
// routines, picked at run time with golang.org/x/sys/cpu (build tag purego
// forces the Go code); a C too narrow or too short for the 8×32 tile (a 16×9
// filter gradient) goes to the 6×16 kernel. The amd64 assembly is generated
// by gen_kernels.go. On arm64 a NEON 8×8 kernel (kernels_arm64.s, hand
// written) replaces the Go one; CI runs its tests under qemu.
// Packing buffers live in per-worker scratch kept on a free list, so a call
// allocates nothing once the largest shape has been seen.
package gemm

import (
	"sync"

	"github.com/byol-lab/byol-lab/core/parallel"
)

// microKernel computes the tile C[0:mr, 0:nr] = alpha·Ap·Bp + beta·C from a
// packed MR×k panel a (k steps of MR values) and a packed k×NR panel b (k
// steps of NR values); c[i*ldc+j] is element (i, j). beta == 0 must not read
// C. Kernels without partial support are only called with mr == MR, nr == NR.
type microKernel func(k int, a, b, c []float32, ldc int, alpha, beta float32, mr, nr int)

// kernel is a micro-kernel with its tile shape and cache blocking.
type kernel struct {
	name    string
	mr, nr  int  // register tile
	partial bool // handles mr < MR, nr < NR itself (masked stores)
	mc, kc  int  // A block (MC×KC) sized for L2, B panel (KC×NR) for L1
	nc      int  // B block (KC×NC) for L2/L3
	fn      microKernel
}

// active is the kernel Sgemm uses: the fastest one the CPU supports.
// narrow is a kernel with a smaller tile (or active again), which Sgemm
// takes instead when the tiles of active would be mostly padding: C with 9
// columns fills 28% of an 8×32 tile and 56% of a 6×16 one, and on Zen 4,
// which splits a 512-bit FMA in two, both kernels peak at the same rate.
var active, narrow = bestKernel(), narrowKernel()

// autoNarrow lets Sgemm switch to narrow; tests turn it off to pin a kernel.
var autoNarrow = true

// Kernel names the micro-kernel in use ("avx512-8x32", "avx2-6x16",
// "neon-8x8", "go-2x4").
func Kernel() string { return active.name }

// parMinFlops is the problem size (2·m·n·k) from which Sgemm splits the
// work over the pool. Waking a parked worker took 40–70 µs on the 2-vCPU
// test VM, about the time one core needs for 4–8 MFLOP, so smaller problems
// run on the calling goroutine.
var parMinFlops = 1 << 23

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, with
// BLAS semantics: op(A) is m×k (A is stored k×m when transA), op(B) is k×n
// (B is stored n×k when transB), C is m×n, and lda, ldb, ldc are the row
// strides. beta == 0 overwrites C without reading it, so C may hold NaNs.
//
// p may be nil (single-threaded); large problems are split over p's
// workers. Sgemm allocates nothing after warm-up and is safe for concurrent
// use, also with a shared pool (the pool serialises its loops). Inside a
// loop running on p, pass nil rather than p: the pool runs one loop at a
// time, so a nested parallel call would wait for itself.
func Sgemm(p *parallel.Pool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	kern := active
	if autoNarrow && tileFill(narrow, m, n) > 1.25*tileFill(kern, m, n) {
		kern = narrow
	}
	j := getJob()
	*j = job{
		kern: kern, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
	}
	// Threads split C into disjoint row or column ranges and each runs the
	// whole blocked algorithm on its part. Splitting along N makes every
	// thread pack all of A, splitting along M makes every thread pack all of
	// B, so the split goes along the dimension whose duplicate packing is
	// cheaper (A is m×k, B is k×n).
	j.splitN = n > m
	units := (m + kern.mr - 1) / kern.mr
	if j.splitN {
		units = (n + kern.nr - 1) / kern.nr
	}
	if p != nil && p.Threads() > 1 && units > 1 && 2*m*n*k >= parMinFlops {
		p.For(units, 1, j)
	} else {
		j.Run(0, units)
	}
	putJob(j)
}

// job holds one Sgemm call's arguments; it is the Task the pool runs.
type job struct {
	kern           kernel
	transA, transB bool
	splitN         bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

// Run computes the rows (or columns) of C covered by units [lo, hi).
func (j *job) Run(lo, hi int) {
	kn := &j.kern
	i0, i1, j0, j1 := 0, j.m, 0, j.n
	if j.splitN {
		j0, j1 = lo*kn.nr, min(hi*kn.nr, j.n)
	} else {
		i0, i1 = lo*kn.mr, min(hi*kn.mr, j.m)
	}
	s := getScratch()
	for jc := j0; jc < j1; jc += kn.nc {
		nb := min(kn.nc, j1-jc)
		for pc := 0; pc < j.k; pc += kn.kc {
			kb := min(kn.kc, j.k-pc)
			// The first KC slice applies the caller's beta; later slices
			// accumulate onto what the earlier ones wrote.
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			bp := s.bpanel(kb * roundUp(nb, kn.nr))
			packB(bp, j.transB, j.b, j.ldb, pc, kb, jc, nb, kn.nr)
			for ic := i0; ic < i1; ic += kn.mc {
				mb := min(kn.mc, i1-ic)
				ap := s.apanel(kb * roundUp(mb, kn.mr))
				packA(ap, j.transA, j.a, j.lda, ic, mb, pc, kb, kn.mr)
				j.macro(s, ap, bp, ic, mb, jc, nb, kb, beta)
			}
		}
	}
	putScratch(s)
}

// macro multiplies a packed mb×kb block of A by a packed kb×nb block of B
// into C[ic:ic+mb, jc:jc+nb]. The B micro-panel is the outer loop so that it
// stays in L1 while the A panels stream through from L2.
func (j *job) macro(s *scratch, ap, bp []float32, ic, mb, jc, nb, kb int, beta float32) {
	kn := &j.kern
	for jr := 0; jr < nb; jr += kn.nr {
		nr := min(kn.nr, nb-jr)
		bpan := bp[jr*kb:]
		for ir := 0; ir < mb; ir += kn.mr {
			mr := min(kn.mr, mb-ir)
			apan := ap[ir*kb:]
			off := (ic+ir)*j.ldc + jc + jr
			if kn.partial || (mr == kn.mr && nr == kn.nr) {
				kn.fn(kb, apan, bpan, j.c[off:], j.ldc, j.alpha, beta, mr, nr)
				continue
			}
			// Edge tile: compute the whole tile into scratch, then merge
			// the valid part, so the kernel never touches memory past C.
			t := s.tile[:kn.mr*kn.nr]
			kn.fn(kb, apan, bpan, t, kn.nr, 1, 0, kn.mr, kn.nr)
			mergeTile(j.c[off:], j.ldc, t, kn.nr, mr, nr, j.alpha, beta)
		}
	}
}

// mergeTile sets C[0:mr, 0:nr] = alpha·T + beta·C.
func mergeTile(c []float32, ldc int, t []float32, ldt, mr, nr int, alpha, beta float32) {
	for i := range mr {
		ci := c[i*ldc : i*ldc+nr]
		ti := t[i*ldt : i*ldt+nr]
		if beta == 0 {
			for jj, v := range ti {
				ci[jj] = alpha * v
			}
		} else {
			for jj, v := range ti {
				ci[jj] = alpha*v + beta*ci[jj]
			}
		}
	}
}

// scaleC sets C = beta·C (C = 0 when beta == 0, whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for jj := range ci {
				ci[jj] *= beta
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// tileFill is the share of kn's register tiles that an m×n C fills.
func tileFill(kn kernel, m, n int) float64 {
	return float64(m*n) / float64(roundUp(m, kn.mr)*roundUp(n, kn.nr))
}

// scratch is one worker's packing space. Scratches live on a free list
// rather than per pool worker, so any number of concurrent callers (with or
// without a pool) each get their own.
type scratch struct {
	ap, bp []float32
	tile   [maxTile]float32
}

// maxTile bounds MR·NR over all kernels.
const maxTile = 16 * 64

func (s *scratch) apanel(n int) []float32 {
	if cap(s.ap) < n {
		s.ap = make([]float32, n)
	}
	return s.ap[:n]
}

func (s *scratch) bpanel(n int) []float32 {
	if cap(s.bp) < n {
		s.bp = make([]float32, n)
	}
	return s.bp[:n]
}

// Free lists: a mutex-guarded stack never drops its items (unlike
// sync.Pool, which the GC empties), so steady state allocates nothing.
var (
	freeMu      sync.Mutex
	freeJobs    []*job
	freeScratch []*scratch
)

func getJob() *job {
	freeMu.Lock()
	defer freeMu.Unlock()
	if n := len(freeJobs); n > 0 {
		j := freeJobs[n-1]
		freeJobs = freeJobs[:n-1]
		return j
	}
	return new(job)
}

func putJob(j *job) {
	j.a, j.b, j.c = nil, nil, nil // do not keep the caller's matrices alive
	freeMu.Lock()
	freeJobs = append(freeJobs, j)
	freeMu.Unlock()
}

func getScratch() *scratch {
	freeMu.Lock()
	defer freeMu.Unlock()
	if n := len(freeScratch); n > 0 {
		s := freeScratch[n-1]
		freeScratch = freeScratch[:n-1]
		return s
	}
	return new(scratch)
}

func putScratch(s *scratch) {
	freeMu.Lock()
	freeScratch = append(freeScratch, s)
	freeMu.Unlock()
}

// checkArgs panics, like a BLAS xerbla, when the arguments cannot describe
// the matrices: kernels read and write through raw pointers, so every
// bound is established here.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	ar, ac := m, k // A as stored
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(1, ac) {
		panic("gemm: bad lda")
	}
	if ldb < max(1, bc) {
		panic("gemm: bad ldb")
	}
	if ldc < max(1, n) {
		panic("gemm: bad ldc")
	}
	if ar > 0 && ac > 0 && len(a) < (ar-1)*lda+ac {
		panic("gemm: a too short")
	}
	if br > 0 && bc > 0 && len(b) < (br-1)*ldb+bc {
		panic("gemm: b too short")
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic("gemm: c too short")
	}
}
