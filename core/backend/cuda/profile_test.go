//go:build cuda || cudaemu

package cuda_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// TestProfiledStep profiles whole training steps on a driver wrapped in a
// Profiler: the step must come out exactly as without the wrapper, and the
// profile must account for the kernels a BYOL step launches.
func TestProfiledStep(t *testing.T) {
	ds, cfg := stepSetup(t, 8)
	pool := parallel.New(2)
	defer pool.Close()

	p := newPair(t) // the plain driver
	plain := newTrainer(t, cfg, p.dev, pool, ds.Train)
	prof := cuda.NewProfiler(sharedDriver)
	dev, err := cuda.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	profiled := newTrainer(t, cfg, dev, pool, ds.Train)
	const steps = 2
	prof.Enable(true)
	for range steps {
		if err := plain.Step(); err != nil {
			t.Fatal(err)
		}
		if err := profiled.Step(); err != nil {
			t.Fatal(err)
		}
		if a, b := plain.LastLoss(), profiled.LastLoss(); a != b {
			t.Fatalf("loss %v without the profiler, %v with it", a, b)
		}
	}
	prof.Enable(false)

	calls := map[string]int{}
	for _, r := range prof.Profile() {
		calls[r.Name] = r.Calls
		if r.Calls <= 0 || r.Total <= 0 {
			t.Errorf("%s: %d calls, %v", r.Name, r.Calls, r.Total)
		}
	}
	// One loss read per step, and one launch each of the loss, the fused
	// optimiser (Adam) and the fused EMA.
	if calls["copy device→host"] != steps {
		t.Errorf("%d loss reads in %d steps", calls["copy device→host"], steps)
	}
	for _, k := range []string{"ops_byol_loss", "ops_ema", "ops_adamw"} {
		if calls[k] != steps {
			t.Errorf("kernel %s: %d calls in %d steps (profile %v)", k, calls[k], steps, calls)
		}
	}
	var out bytes.Buffer
	if err := prof.Report(&out, steps); err != nil {
		t.Fatal(err)
	}
	t.Logf("profile of a %s step at batch %d:\n%s", cfg.Arch, cfg.Batch, out.String())
	if !strings.Contains(out.String(), "total (device time, by events)") {
		t.Errorf("report without its total:\n%s", out.String())
	}
}
