//go:build cudaemu

package emu_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/kernels/emu"
	"github.com/byol-lab/byol-lab/kernels/emu/internal/ktable"
)

// The emulator's self-test runs the kernels of selftest.cuh and checks
// them against Go. Inputs are small integers, so float sums are exact in
// any order.

func TestTableUpToDate(t *testing.T) {
	want, err := ktable.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(ktable.FileName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go generate ./kernels (or go run ./kernels/emu/gen)", ktable.FileName)
	}
}

// dev wraps a driver with typed helpers that fail the test on errors.
type dev struct {
	t *testing.T
	d cuda.Driver
}

func open(t *testing.T) dev {
	t.Helper()
	d, err := emu.New()
	if err != nil {
		t.Fatal(err)
	}
	return dev{t, d}
}

func upload[T any](h dev, v []T) cuda.Ptr {
	h.t.Helper()
	n := len(v) * int(unsafe.Sizeof(*new(T)))
	p, err := h.d.Malloc(n)
	if err != nil {
		h.t.Fatal(err)
	}
	if n > 0 {
		h.d.HtoD(p, unsafe.Pointer(&v[0]), n)
	}
	return p
}

func download[T any](h dev, p cuda.Ptr, n int) []T {
	h.t.Helper()
	v := make([]T, n)
	if n > 0 {
		h.d.DtoH(unsafe.Pointer(&v[0]), p, n*int(unsafe.Sizeof(v[0])))
	}
	if err := h.d.Sync(); err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h dev) launch(name string, grid, block cuda.Dim3, args ...uint64) {
	h.t.Helper()
	k, err := h.d.Kernel(name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.d.Launch(k, grid, block, args)
}

func ptr(p cuda.Ptr) uint64 { return uint64(p) }

func ints(rng *rand.Rand, n, below int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.IntN(below) - below/2)
	}
	return v
}

func TestAxpy(t *testing.T) {
	h := open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1000
	x, y := ints(rng, n, 100), ints(rng, n, 100)
	px, py := upload(h, x), upload(h, y)
	h.launch("emu_test_axpy", cuda.Dim3{X: (n + 255) / 256}, cuda.Dim3{X: 256}, ptr(py), ptr(px), cuda.F(0.5), cuda.I(n))
	got := download[float32](h, py, n)
	for i := range n {
		if want := 0.5*x[i] + y[i]; got[i] != want {
			t.Fatalf("y[%d] = %v, want %v", i, got[i], want)
		}
	}
}

func sums(x []float32, per int) []float32 {
	s := make([]float32, (len(x)+per-1)/per)
	for i, v := range x {
		s[i/per] += v
	}
	return s
}

func TestBlockSum(t *testing.T) {
	h := open(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, threads := range []int{32, 256, 1024} {
		n := 7*threads + 5
		x := ints(rng, n, 50)
		blocks := (n + threads - 1) / threads
		px, pout := upload(h, x), upload(h, make([]float32, blocks))
		h.launch("emu_test_block_sum", cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, ptr(px), ptr(pout), cuda.I(n))
		got, want := download[float32](h, pout, blocks), sums(x, threads)
		for b := range want {
			if got[b] != want[b] {
				t.Fatalf("%d threads: block %d sums to %v, want %v", threads, b, got[b], want[b])
			}
		}
	}
}

// Threads of a block run in order between barriers, so a missing
// __syncthreads reads stale shared memory and gives wrong sums rather than
// working by luck.
func TestMissingBarrierShows(t *testing.T) {
	h := open(t)
	const threads, blocks = 256, 4
	x := make([]float32, threads*blocks)
	for i := range x {
		x[i] = float32(i/threads + 1) // stale values from another block differ
	}
	px, pout := upload(h, x), upload(h, make([]float32, blocks))
	h.launch("emu_test_block_sum_racy", cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, ptr(px), ptr(pout), cuda.I(len(x)))
	got := download[float32](h, pout, blocks)
	for b, s := range got {
		if s == float32(threads*(b+1)) {
			t.Errorf("block %d: the racy sum came out right (%v)", b, s)
		}
	}
}

func TestWarpShuffles(t *testing.T) {
	h := open(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const threads, blocks = 96, 3
	n := threads * blocks
	x := ints(rng, n, 20)
	px := upload(h, x)
	out := make([]cuda.Ptr, 5)
	for i := range out {
		out[i] = upload(h, make([]float32, n))
	}
	wide := upload(h, make([]int64, n))
	h.launch("emu_test_warp", cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, ptr(px), ptr(out[0]), ptr(out[1]),
		ptr(out[2]), ptr(out[3]), ptr(out[4]), ptr(wide), cuda.I(n))
	down, xsum, scan, bcast, seg8 := download[float32](h, out[0], n), download[float32](h, out[1], n),
		download[float32](h, out[2], n), download[float32](h, out[3], n), download[float32](h, out[4], n)
	w := download[int64](h, wide, n)
	warp := sums(x, 32)
	for i := range n {
		lane, base := i%32, i-i%32
		var prefix, seg float32
		for j := base; j <= i; j++ {
			prefix += x[j]
		}
		for j := i - i%8; j < i-i%8+8; j++ {
			seg += x[j]
		}
		wantWide := int64(i) << 33
		if lane < 31 {
			wantWide = int64(i+1) << 33
		}
		switch {
		case lane == 0 && down[i] != warp[i/32]:
			t.Fatalf("shfl_down: lane 0 of warp %d has %v, want %v", i/32, down[i], warp[i/32])
		case xsum[i] != warp[i/32]:
			t.Fatalf("shfl_xor: thread %d has %v, want %v", i, xsum[i], warp[i/32])
		case scan[i] != prefix:
			t.Fatalf("shfl_up scan: thread %d has %v, want %v", i, scan[i], prefix)
		case bcast[i] != x[base]:
			t.Fatalf("shfl broadcast: thread %d has %v, want %v", i, bcast[i], x[base])
		case seg8[i] != seg:
			t.Fatalf("shfl_xor width 8: thread %d has %v, want %v", i, seg8[i], seg)
		case w[i] != wantWide:
			t.Fatalf("64-bit shfl_down: thread %d has %#x, want %#x", i, w[i], wantWide)
		}
	}
}

func TestAtomics(t *testing.T) {
	h := open(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const n, bins = 50000, 13
	x := make([]int32, n)
	hist := make([]int32, bins)
	var total uint64
	for i := range x {
		x[i] = int32(rng.IntN(1000))
		hist[x[i]%bins]++
		total += uint64(x[i])
	}
	px, phist, ptotal, pcount := upload(h, x), upload(h, make([]int32, bins)), upload(h, []uint64{0}), upload(h, []float32{0})
	h.launch("emu_test_atomics", cuda.Dim3{X: (n + 127) / 128}, cuda.Dim3{X: 128}, ptr(px), cuda.I(n), ptr(phist),
		cuda.I(bins), ptr(ptotal), ptr(pcount))
	gotHist := download[int32](h, phist, bins)
	for b := range hist {
		if gotHist[b] != hist[b] {
			t.Fatalf("bin %d: %d, want %d", b, gotHist[b], hist[b])
		}
	}
	if got := download[uint64](h, ptotal, 1)[0]; got != total {
		t.Errorf("64-bit total %d, want %d", got, total)
	}
	if got := download[float32](h, pcount, 1)[0]; got != n {
		t.Errorf("float count %v, want %d", got, n)
	}
}

func TestSgemm2DGrid(t *testing.T) {
	h := open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const m, n, k = 37, 45, 70
	a, b := ints(rng, m*k, 10), ints(rng, k*n, 10)
	pa, pb, pc := upload(h, a), upload(h, b), upload(h, make([]float32, m*n))
	h.launch("emu_test_sgemm", cuda.Dim3{X: (n + 15) / 16, Y: (m + 15) / 16}, cuda.Dim3{X: 16, Y: 16},
		ptr(pa), ptr(pb), ptr(pc), cuda.I(m), cuda.I(n), cuda.I(k))
	c := download[float32](h, pc, m*n)
	for i := range m {
		for j := range n {
			var want float32
			for l := range k {
				want += a[i*k+l] * b[l*n+j]
			}
			if c[i*n+j] != want {
				t.Fatalf("c[%d][%d] = %v, want %v", i, j, c[i*n+j], want)
			}
		}
	}
}

func TestIndices3D(t *testing.T) {
	h := open(t)
	grid, block := cuda.Dim3{X: 3, Y: 2, Z: 2}, cuda.Dim3{X: 4, Y: 3, Z: 2}
	n := 3 * 2 * 2 * 4 * 3 * 2
	p := upload(h, make([]int32, 6*n))
	h.launch("emu_test_index", grid, block, ptr(p))
	got := download[int32](h, p, 6*n)
	i := 0
	for bz := range grid.Z {
		for by := range grid.Y {
			for bx := range grid.X {
				for tz := range block.Z {
					for ty := range block.Y {
						for tx := range block.X {
							want := []int32{int32(tx), int32(ty), int32(tz), int32(bx), int32(by), int32(bz)}
							if g := got[6*i : 6*i+6]; !slices.Equal(g, want) {
								t.Fatalf("thread %d: indices %v, want %v", i, g, want)
							}
							i++
						}
					}
				}
			}
		}
	}
}

func TestVotes(t *testing.T) {
	h := open(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const threads, blocks = 64, 3
	n := threads * blocks
	x := make([]int32, n)
	for i := range x {
		x[i] = int32(rng.IntN(2))
	}
	for i := 32; i < 64; i++ { // a warp that is all ones, for __all_sync
		x[i] = 1
	}
	for i := 64; i < 128; i++ { // a block that is all zeros, for the block votes
		x[i] = 0
	}
	px, pout := upload(h, x), upload(h, make([]int32, 6*n))
	h.launch("emu_test_vote", cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, ptr(px), ptr(pout))
	got := download[int32](h, pout, 6*n)
	b2i := func(b bool) int32 {
		if b {
			return 1
		}
		return 0
	}
	for i := range n {
		var ballot uint32
		for l := range 32 {
			ballot |= uint32(x[i-i%32+l]) << l
		}
		var count int32
		for j := i - i%threads; j < i-i%threads+threads; j++ {
			count += x[j]
		}
		want := []int32{int32(ballot), b2i(ballot != 0), b2i(ballot == math.MaxUint32), count, b2i(count > 0),
			b2i(count == threads)}
		if g := got[6*i : 6*i+6]; !slices.Equal(g, want) {
			t.Fatalf("thread %d: ballot, any, all, count, or, and = %v, want %v", i, g, want)
		}
	}
}

func TestEarlyExitBeforeBarrier(t *testing.T) {
	h := open(t)
	const threads, n, blocks = 64, 40, 2
	p := upload(h, make([]float32, n*blocks))
	h.launch("emu_test_exit", cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, ptr(p), cuda.I(n))
	got := download[float32](h, p, n*blocks)
	for i, v := range got {
		if want := float32(n - 1 - i%n); v != want {
			t.Fatalf("out[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestArguments(t *testing.T) {
	h := open(t)
	p := upload(h, make([]int64, 4))
	h.launch("emu_test_args", cuda.Dim3{X: 1}, cuda.Dim3{X: 1}, ptr(p), cuda.I(-7), cuda.F(-2.5),
		uint64(0xfffffffffffffffe), cuda.U(1<<63+5))
	got := download[int64](h, p, 4)
	want := []int64{-7, int64(int32(math.Float32bits(-2.5))), -2, -1<<63 + 5}
	if !slices.Equal(got, want) {
		t.Fatalf("arguments arrived as %v, want %v", got, want)
	}
}

// Errors are sticky and stop later launches; each case opens its own
// driver.
func TestErrors(t *testing.T) {
	one := cuda.Dim3{X: 1}
	for _, c := range []struct {
		name, want string
		run        func(h dev, p cuda.Ptr)
	}{
		{"block too large", "invalid launch", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_axpy", one, cuda.Dim3{X: 32, Y: 33}, ptr(p), ptr(p), cuda.F(1), cuda.I(1))
		}},
		{"empty grid", "invalid launch", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_axpy", cuda.Dim3{}, one, ptr(p), ptr(p), cuda.F(1), cuda.I(1))
		}},
		{"huge grid", "invalid launch", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_axpy", cuda.Dim3{X: 1 << 40}, one, ptr(p), ptr(p), cuda.F(1), cuda.I(1))
		}},
		{"negative block", "invalid launch", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_axpy", one, cuda.Dim3{X: -1}, ptr(p), ptr(p), cuda.F(1), cuda.I(1))
		}},
		{"argument count", "takes 4 arguments, launched with 3", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_axpy", one, one, ptr(p), ptr(p), cuda.F(1))
		}},
		{"unknown handle", "unknown kernel", func(h dev, p cuda.Ptr) {
			h.d.Launch(cuda.Kernel(1<<20), one, one, nil)
		}},
		{"deadlock", "barriers", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_deadlock", one, cuda.Dim3{X: 32}, ptr(p))
		}},
		{"trap", "block (1,0,0): __trap()", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_trap", cuda.Dim3{X: 4}, cuda.Dim3{X: 8}, ptr(p))
		}},
		{"write past the end", "wrote outside the 256-byte buffer", func(h dev, p cuda.Ptr) {
			h.launch("emu_test_overrun", one, cuda.Dim3{X: 2}, ptr(p), cuda.I(64))
		}},
		{"copy out of bounds", "outside every allocation", func(h dev, p cuda.Ptr) {
			var b [8]byte
			h.d.HtoD(p+252, unsafe.Pointer(&b[0]), 8)
		}},
		{"free of a non-allocation", "not an allocation", func(h dev, p cuda.Ptr) {
			h.d.Free(p + 4)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := open(t)
			p, err := h.d.Malloc(256)
			if err != nil {
				t.Fatal(err)
			}
			c.run(h, p)
			err = h.d.Sync()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			t.Log(err)
			if h.d.Err() != err {
				t.Errorf("Err() = %v, Sync() = %v", h.d.Err(), err)
			}
			// Sticky: a good launch afterwards does not clear it or run.
			x := upload(h, []float32{1})
			k, _ := h.d.Kernel("emu_test_axpy")
			h.d.Launch(k, one, one, []uint64{ptr(x), ptr(x), cuda.F(1), cuda.I(1)})
			if h.d.Sync() != err {
				t.Errorf("the error did not stick")
			}
			var v [1]float32
			h.d.DtoH(unsafe.Pointer(&v[0]), x, 4)
			if v[0] != 1 {
				t.Errorf("a launch ran after the error")
			}
		})
	}
	if _, err := open(t).d.Kernel("no_such_kernel"); err == nil {
		t.Error("Kernel found no_such_kernel")
	}
}

// Goroutines may share a driver, taking turns.
func TestGoroutines(t *testing.T) {
	h := open(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			x := []float32{float32(g), 1, 2}
			p := upload(h, x)
			k, _ := h.d.Kernel("emu_test_axpy")
			for range 50 {
				h.d.Launch(k, cuda.Dim3{X: 1}, cuda.Dim3{X: 32}, []uint64{ptr(p), ptr(p), cuda.F(1), cuda.I(3)})
			}
			got := download[float32](h, p, 3)
			if want := float32(g) * (1 << 50); got[0] != want {
				t.Errorf("goroutine %d: %v, want %v", g, got[0], want)
			}
			h.d.Free(p)
		})
	}
	wg.Wait()
	if err := h.d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// A large grid of full blocks runs at a usable speed: the budget is 1 ms
// per 256-thread block with barriers, far above what fibers need.
func TestSpeed(t *testing.T) {
	h := open(t)
	for _, threads := range []int{256, 1024} {
		const blocks = 2048
		n := blocks * threads
		px, pout := upload(h, make([]float32, n)), upload(h, make([]float32, blocks))
		start := time.Now()
		h.launch("emu_test_block_sum", cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, ptr(px), ptr(pout), cuda.I(n))
		download[float32](h, pout, blocks)
		per := time.Since(start) / blocks
		t.Logf("%d blocks of %d threads with %d barriers each: %v per block (%s)", blocks, threads,
			bitsLen(threads), per, h.d.Device())
		if threads == 256 && per > time.Millisecond {
			t.Errorf("%v per 256-thread block, want under 1ms", per)
		}
	}
}

func bitsLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

func BenchmarkBlockSum256(b *testing.B) {
	d, err := emu.New()
	if err != nil {
		b.Fatal(err)
	}
	const blocks, threads = 256, 256
	px, _ := d.Malloc(4 * blocks * threads)
	pout, _ := d.Malloc(4 * blocks)
	k, _ := d.Kernel("emu_test_block_sum")
	for b.Loop() {
		d.Launch(k, cuda.Dim3{X: blocks}, cuda.Dim3{X: threads}, []uint64{ptr(px), ptr(pout), cuda.I(blocks * threads)})
	}
	if err := d.Sync(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLaunch measures a launch's fixed cost: one block of 32 threads.
func BenchmarkLaunch(b *testing.B) {
	d, err := emu.New()
	if err != nil {
		b.Fatal(err)
	}
	p, _ := d.Malloc(128)
	k, _ := d.Kernel("emu_test_axpy")
	for b.Loop() {
		d.Launch(k, cuda.Dim3{X: 1}, cuda.Dim3{X: 32}, []uint64{ptr(p), ptr(p), cuda.F(1), cuda.I(32)})
	}
	if err := d.Sync(); err != nil {
		b.Fatal(err)
	}
}
