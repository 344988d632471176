package cpu_test

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/internal/cputime"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// smallSplit is n random 3×12×12 images with two classes.
func smallSplit(n int) *data.Split {
	r := rand.New(rand.NewPCG(11, 12))
	s := &data.Split{N: n, C: 3, H: 12, W: 12, Pix: make([]uint8, n*3*12*12)}
	for i := range s.Pix {
		s.Pix[i] = uint8(r.IntN(256))
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % 2)
	}
	s.Labels = []data.LabelSet{{Name: "class", Classes: []string{"a", "b"}, Y: y}}
	return s
}

// TestStepMemoryFlat trains a small model for many steps and checks that
// the process's memory does not grow: no heap growth, no allocations, and
// (on Linux) a flat resident set. It runs 1,000 steps (300 with -short);
// BYOL_MEMTEST_STEPS=10000 runs the long check, and BYOL_MEMTEST_CONFIG=mnist
// runs it on the MNIST reference configuration (tiny, batch 256, real
// MNIST) instead of the small model: about 20 minutes for 10,000 steps.
func TestStepMemoryFlat(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 300
	}
	if v := os.Getenv("BYOL_MEMTEST_STEPS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("BYOL_MEMTEST_STEPS=%q: want a number ≥ 10", v)
		}
	}
	c, err := byol.Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	c.Batch = 8
	c.ProjHidden, c.ProjOut, c.PredHidden = 32, 16, 32
	train := smallSplit(64)
	switch cfg := os.Getenv("BYOL_MEMTEST_CONFIG"); cfg {
	case "":
	case "mnist":
		if c, err = byol.Defaults("mnist"); err != nil {
			t.Fatal(err)
		}
		ds, err := data.Load("mnist", data.Options{})
		if err != nil {
			t.Fatal(err)
		}
		train = ds.Train
	default:
		t.Fatalf("BYOL_MEMTEST_CONFIG=%q: want mnist or nothing", cfg)
	}
	c.Steps = n + 10
	pool := parallel.New(2)
	defer pool.Close()
	tr, err := byol.NewTrainer(c, cpu.New(pool), pool, train)
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		if err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 { // buffers are sized on first use
		step()
	}
	var before, mid, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rss0 := residentBytes()
	for range n / 2 {
		step()
	}
	// Collect half-way, so a leak cannot hide in uncollected garbage, then
	// count allocations over the second half with no collection inside: a
	// collection empties the runtime's cache of goroutine wait records
	// (sudogs), which the pool's channels then reallocate, up to 64 or so.
	runtime.GC()
	runtime.ReadMemStats(&mid)
	for range n - n/2 {
		step()
	}
	runtime.ReadMemStats(&after)
	mallocs := after.Mallocs - mid.Mallocs
	runtime.GC()
	runtime.ReadMemStats(&after)
	rss1 := residentBytes()
	t.Logf("%s, batch %d, %d steps: live heap %d → %d B, %d allocations in the last %d steps, from the OS %d → %d B, RSS %d → %d B",
		c.Arch, c.Batch, n, before.HeapAlloc, after.HeapAlloc, mallocs, n-n/2, before.Sys, after.Sys, rss0, rss1)
	if mallocs > 100 {
		t.Errorf("%d allocations in %d steps", mallocs, n-n/2)
	}
	if after.HeapAlloc > before.HeapAlloc+64<<10 {
		t.Errorf("live heap grew from %d to %d bytes over %d steps", before.HeapAlloc, after.HeapAlloc, n)
	}
	if after.Sys > before.Sys+1<<20 {
		t.Errorf("memory obtained from the OS grew from %d to %d bytes over %d steps", before.Sys, after.Sys, n)
	}
	if rss0 > 0 && rss1 > rss0+4<<20 {
		t.Errorf("resident set grew from %d to %d bytes over %d steps", rss0, rss1, n)
	}
}

// BenchmarkStepCPU runs full training steps of the MNIST reference
// configuration (batch 256) for the tiny and small encoders on one and two
// threads, and reports the process's CPU time per step next to wall-clock
// img/s. On a shared machine wall time swings with the neighbours' load
// while CPU time mostly does not, so CPU time compares two versions of a
// kernel better; img/s is what the comparison with PyTorch uses.
//
//	go test -run '^$' -bench StepCPU ./core/backend/cpu/
func BenchmarkStepCPU(b *testing.B) {
	ds, err := data.Load("mnist", data.Options{})
	if err != nil {
		b.Skip("MNIST not available: ", err)
	}
	for _, arch := range []string{"tiny", "small"} {
		for _, threads := range []int{1, 2} {
			b.Run(arch+"/threads="+strconv.Itoa(threads), func(b *testing.B) {
				c, err := byol.Defaults("mnist")
				if err != nil {
					b.Fatal(err)
				}
				c.Arch = arch
				pool := parallel.New(threads)
				defer pool.Close()
				tr, err := byol.NewTrainer(c, cpu.New(pool), pool, ds.Train)
				if err != nil {
					b.Fatal(err)
				}
				for range 2 {
					if err := tr.Step(); err != nil {
						b.Fatal(err)
					}
				}
				t0 := cputime.Process()
				b.ResetTimer()
				for b.Loop() {
					if err := tr.Step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*c.Batch)/b.Elapsed().Seconds(), "img/s")
				if t0 >= 0 {
					b.ReportMetric((cputime.Process()-t0).Seconds()*1000/float64(b.N), "cpu-ms/step")
				}
			})
		}
	}
}
