package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cuda"
	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// benchCmd measures the throughput of full training steps (augmentations,
// both networks, loss, backward, optimiser, EMA) after a warm-up.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	warmup := fs.Int("warmup", 3, "untimed warm-up steps")
	timed := fs.Int("timed", 20, "timed steps")
	labRuns := fs.Int("lab", 0, "instead: run this many runs in the live lab (as serve does, no server) and report steps and snapshots per second per run")
	seconds := fs.Float64("seconds", 10, "with --lab: how long to run")
	profile := fs.Int("profile", 0, "with --device cuda: afterwards time every kernel over this many more steps (CUDA events around each launch) and print where the GPU's time goes")
	convNames := fs.String("conv", "", "with --device cuda: run convolutions as im2col+GEMM, implicit GEMM, Winograd F(2×2,3×3) or F(4×4,3×3) where it applies and implicit GEMM elsewhere, or the fastest of these per layer and pass, timed on first use: im2col, implicit, winograd, winograd4 or auto (default: "+cuda.ConvIm2col.String()+"); a comma-separated list benchmarks each in turn on the same trainer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.build(fs)
	if err != nil {
		return err
	}
	if *labRuns > 0 {
		return benchLab(cfg, *labRuns, time.Duration(*seconds*float64(time.Second)), stdout)
	}
	if *warmup < 0 || *timed < 1 || *profile < 0 {
		return fmt.Errorf("bench: --warmup and --profile must be ≥ 0 and --timed ≥ 1")
	}
	var convs []cuda.ConvAlgo
	if *convNames != "" {
		if cfg.Device != "cuda" {
			return fmt.Errorf("bench: --conv needs --device cuda")
		}
		for _, name := range strings.Split(*convNames, ",") {
			a, err := cuda.ParseConvAlgo(strings.TrimSpace(name))
			if err != nil {
				return fmt.Errorf("bench: --conv: %w", err)
			}
			convs = append(convs, a)
		}
	}
	var (
		b    backend.Backend
		prof device.Profiler
	)
	if *profile > 0 {
		// Before the dataset loads, so a CPU run is refused at once.
		if b, prof, err = device.OpenProfiled(cfg.Device); err != nil {
			return err
		}
	}
	ds, err := data.Load(cfg.Dataset, data.Options{DataDir: cfg.DataDir, Seed: cfg.Seed})
	if err != nil {
		return err
	}
	pool := parallel.New(cfg.Threads)
	defer pool.Close()
	if b == nil {
		if b, err = device.Open(cfg.Device, pool); err != nil {
			return err
		}
	}
	t, err := byol.NewTrainer(cfg, b, pool, ds.Train)
	if err != nil {
		return err
	}
	cb, _ := b.(*cuda.CUDA)
	if cb == nil {
		if err := benchSteps(t, b, pool, "", *warmup, *timed, stdout); err != nil {
			return err
		}
		return benchProfile(t, prof, *profile, stdout)
	}
	if len(convs) == 0 {
		convs = []cuda.ConvAlgo{cb.ConvAlgo()}
	}
	// The algorithms take turns on one trainer: its speed does not depend
	// on its step, and one trainer's memory is what the GPU holds.
	for _, a := range convs {
		cb.SetConvAlgo(a)
		if err := benchSteps(t, b, pool, " conv="+a.String(), *warmup, *timed, stdout); err != nil {
			return err
		}
		if a == cuda.ConvAuto {
			fmt.Fprintln(stdout, "conv=auto chose (images × Cin×H×W → Cout, filter/stride; pass; choice; each algorithm's time):")
			for _, line := range cb.ConvChoices() {
				fmt.Fprintln(stdout, "  "+line)
			}
		}
		if err := benchProfile(t, prof, *profile, stdout); err != nil {
			return err
		}
	}
	return nil
}

// benchSteps runs warm-up and timed steps of t and prints the rate.
func benchSteps(t *byol.Trainer, b backend.Backend, pool *parallel.Pool, label string, warmup, timed int,
	stdout io.Writer) error {
	// Steps read their losses back once per MaxStepsPerSync steps, as
	// training does, so the host queues steps ahead of the device.
	if err := runSteps(t, warmup); err != nil {
		return err
	}
	start := time.Now()
	if err := runSteps(t, timed); err != nil {
		return err
	}
	el := time.Since(start)
	cfg := t.Config()
	ips := float64(timed*cfg.Batch) / el.Seconds()
	fmt.Fprintf(stdout, "dataset=%s arch=%s batch=%d threads=%d device=%s%s: %.1f ms/step, %.0f img/s (two views each; losses read every %d steps)\n",
		cfg.Dataset, cfg.Arch, cfg.Batch, pool.Threads(), b.Name(), label, 1000*el.Seconds()/float64(timed), ips, min(timed, byol.MaxStepsPerSync))
	return nil
}

// runSteps runs n training steps of t in calls of up to MaxStepsPerSync.
func runSteps(t *byol.Trainer, n int) error {
	var results [byol.MaxStepsPerSync]byol.StepResult
	for done := 0; done < n; {
		k, err := t.Steps(results[:min(n-done, len(results))])
		if err != nil {
			return err
		}
		done += k
	}
	return nil
}

// benchProfile, given a profiler, times every kernel of steps more steps.
func benchProfile(t *byol.Trainer, prof device.Profiler, steps int, stdout io.Writer) error {
	if prof == nil {
		return nil
	}
	prof.Reset()
	prof.Enable(true)
	for i := 0; i < steps; i++ {
		if err := t.Step(); err != nil {
			return err
		}
	}
	prof.Enable(false)
	fmt.Fprintf(stdout, "kernel profile over %d steps:\n", steps)
	return prof.Report(stdout, steps)
}

// benchLab runs n copies of cfg in a lab with snapshots as fast as the lab
// allows (its --snapshot-rate ceiling) and reports per-run rates: what a
// classroom sees.
func benchLab(cfg byol.Config, n int, d time.Duration, stdout io.Writer) error {
	var b backend.Backend
	if cfg.Device != "cpu" {
		var err error
		if b, err = device.Open(cfg.Device, nil); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	steps, snaps := map[string]int{}, map[string]int{}
	sink := lab.SinkFunc(func(e lab.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e := e.(type) {
		case lab.Metrics:
			steps[e.Run]++
		case lab.Snapshot:
			snaps[e.Run]++
		}
	})
	l := lab.New(lab.Options{Threads: cfg.Threads, Sink: sink, SnapshotRate: 100, Device: cfg.Device, Backend: b})
	defer l.Close()
	for i := range n {
		id, err := l.Create(fmt.Sprintf("run%d", i+1), cfg)
		if err != nil {
			return err
		}
		if err := l.Resume(id); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	if err := l.Run(ctx); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	mu.Lock()
	defer mu.Unlock()
	for _, r := range l.Runs() {
		fmt.Fprintf(stdout, "lab run %s: %.1f steps/s, %.1f snapshots/s (%s, %s, batch %d, device %s)\n",
			r.ID, float64(steps[r.ID])/el, float64(snaps[r.ID])/el, cfg.Dataset, cfg.Arch, cfg.Batch, cfg.Device)
	}
	return nil
}
