package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
	profile := fs.Int("profile", 0, "with --device cuda: afterwards time every kernel over this many more steps, waiting for each, and print where the GPU's time goes")
	convName := fs.String("conv", "", "with --device cuda: run convolutions as im2col+GEMM, implicit GEMM, Winograd F(2×2,3×3) where it applies and implicit GEMM elsewhere, or the fastest of these per layer and pass, timed on first use: im2col, implicit, winograd or auto (default: "+cuda.ConvIm2col.String()+")")
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
	var conv cuda.ConvAlgo
	if *convName != "" {
		if cfg.Device != "cuda" {
			return fmt.Errorf("bench: --conv needs --device cuda")
		}
		if conv, err = cuda.ParseConvAlgo(*convName); err != nil {
			return fmt.Errorf("bench: --conv: %w", err)
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
	convs := ""
	if cb, ok := b.(*cuda.CUDA); ok {
		if *convName != "" {
			cb.SetConvAlgo(conv)
		}
		convs = " conv=" + cb.ConvAlgo().String()
	}
	t, err := byol.NewTrainer(cfg, b, pool, ds.Train)
	if err != nil {
		return err
	}
	for i := 0; i < *warmup; i++ {
		if err := t.Step(); err != nil {
			return err
		}
	}
	start := time.Now()
	for i := 0; i < *timed; i++ {
		if err := t.Step(); err != nil {
			return err
		}
	}
	el := time.Since(start)
	ips := float64(*timed*cfg.Batch) / el.Seconds()
	fmt.Fprintf(stdout, "dataset=%s arch=%s batch=%d threads=%d device=%s%s: %.1f ms/step, %.0f img/s (two views each)\n",
		cfg.Dataset, cfg.Arch, cfg.Batch, pool.Threads(), b.Name(), convs, 1000*el.Seconds()/float64(*timed), ips)
	if cb, ok := b.(*cuda.CUDA); ok && cb.ConvAlgo() == cuda.ConvAuto {
		fmt.Fprintln(stdout, "conv=auto chose (images × Cin×H×W → Cout, filter/stride; pass; choice; each algorithm's time):")
		for _, line := range cb.ConvChoices() {
			fmt.Fprintln(stdout, "  "+line)
		}
	}
	if prof == nil {
		return nil
	}
	prof.Enable(true)
	for i := 0; i < *profile; i++ {
		if err := t.Step(); err != nil {
			return err
		}
	}
	prof.Enable(false)
	fmt.Fprintf(stdout, "kernel profile over %d steps:\n", *profile)
	return prof.Report(stdout, *profile)
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
