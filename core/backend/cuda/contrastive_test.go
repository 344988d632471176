//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// Tests of kernels/contrastive.cuh (SimCLR's NT-Xent) against the CPU backend.

func TestOpsInfoNCELoss(t *testing.T) {
	type tcase struct {
		rows, d, shift int
		temp           float32
		tf32           bool
	}
	cases := []tcase{
		{2, 3, 1, 0.5, false}, {40, 33, 20, 0.2, false}, {37, 64, 5, 0.1, false},
		{64, 128, 32, 0.5, true},   // TF32 GEMMs elsewhere must not touch the loss
		{300, 17, 150, 0.2, false}, // more rows than a block has threads
	}
	if p := newPair(t); onGPU(p) {
		cases = append(cases, tcase{512, 64, 256, 0.2, false}, tcase{2048, 256, 1024, 0.1, false})
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d_shift%d_T%v", tc.rows, tc.d, tc.shift, tc.temp), func(t *testing.T) {
			p := newPair(t)
			p.dev.SetTF32(tc.tf32)
			n := tc.rows * tc.d
			z, dz, loss := p.randn(n, 1), p.out(n), p.out(1)
			// dz is about scale/(T·‖z‖): this scale makes it O(1/T), so the
			// tolerance (relative to max(1, max|ref|)) is tight.
			scale := float32(math.Sqrt(float64(tc.d)))
			var first []float32
			for call := range 2 { // the second call must replay the first exactly
				p.ref.InfoNCELoss(z.ref, dz.ref, loss.ref, tc.rows, tc.d, tc.shift, tc.temp, scale)
				p.dev.InfoNCELoss(z.dev, dz.dev, loss.dev, tc.rows, tc.d, tc.shift, tc.temp, scale)
				p.check("InfoNCELoss", loss, fp32)
				p.check("InfoNCELoss dz", dz, fp32)
				_, got := p.host(dz)
				if call == 0 {
					first = got
				} else if !slices.Equal(first, got) {
					t.Error("a second call on the same input gave a different dz")
				}
			}
			if tc.tf32 && !p.dev.TF32() {
				t.Error("InfoNCELoss switched TF32 off for the rest of the backend")
			}
		})
	}
}

func TestOpsInfoNCELossNoAllocs(t *testing.T) {
	p := newPair(t)
	z, dz, loss := p.randn(40*33, 1), p.out(40*33), p.out(1)
	step := func() { p.dev.InfoNCELoss(z.dev, dz.dev, loss.dev, 40, 33, 20, 0.2, 1) }
	step() // warm-up: sizes the workspace
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("a steady-state InfoNCELoss allocates %v times", n)
	}
	if err := p.dev.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestSimCLRStepMatchesCPU runs whole SimCLR steps on the CPU and on CUDA
// from the same seed and compares losses and the online weights.
func TestSimCLRStepMatchesCPU(t *testing.T) {
	ds, cfg := stepSetup(t, 8)
	cfg.Method, cfg.Arch = "simclr", "mlp"
	pool := parallel.New(2)
	defer pool.Close()
	ref := newTrainer(t, cfg, cpu.New(pool), pool, ds.Train)
	p := newPair(t)
	dev := newTrainer(t, cfg, p.dev, pool, ds.Train)
	for step := 0; step < 3; step++ {
		if err := ref.Step(); err != nil {
			t.Fatal(err)
		}
		if err := dev.Step(); err != nil {
			t.Fatal(err)
		}
		lr, ld := ref.LastLoss(), dev.LastLoss()
		t.Logf("step %d: loss cpu %.6f cuda %.6f", step, lr, ld)
		if math.Abs(lr-ld) > 1e-3*max(1, math.Abs(lr)) {
			t.Errorf("step %d: loss cpu %v, cuda %v", step, lr, ld)
		}
	}
	compareWeights(t, "online", ref.Online().Params.W, p.dev, dev.Online().Params.W, 1e-3)
	compareWeights(t, "target", ref.Target().Params.W, p.dev, dev.Target().Params.W, 1e-3)
}
