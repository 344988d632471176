package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/device"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.build(fs)
	if err != nil {
		return err
	}
	if *warmup < 0 || *timed < 1 {
		return fmt.Errorf("bench: --warmup must be ≥ 0 and --timed ≥ 1")
	}
	ds, err := data.Load(cfg.Dataset, data.Options{DataDir: cfg.DataDir, Seed: cfg.Seed})
	if err != nil {
		return err
	}
	pool := parallel.New(cfg.Threads)
	defer pool.Close()
	b, err := device.Open(cfg.Device, pool)
	if err != nil {
		return err
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
	fmt.Fprintf(stdout, "dataset=%s arch=%s batch=%d threads=%d device=%s: %.1f ms/step, %.0f img/s (two views each)\n",
		cfg.Dataset, cfg.Arch, cfg.Batch, pool.Threads(), b.Name(), 1000*el.Seconds()/float64(*timed), ips)
	return nil
}
