package session

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/checkpoint"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/report"
)

func smallRun(t *testing.T) (byol.Config, *data.Dataset) {
	t.Helper()
	ds, err := data.Shapes(data.ShapesConfig{TrainN: 120, TestN: 60, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c, err := byol.Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	c.Batch, c.Steps, c.EvalEvery, c.CheckpointEvery = 16, 6, 3, 2
	c.ProjHidden, c.PredHidden, c.ProjOut = 32, 32, 16
	c.Eval = byol.EvalConfig{BankSize: 120, QuerySize: 60, MetricSize: 60, K: 5, Temp: 0.07}
	c.Threads = 2
	return c, ds
}

func TestRunWritesEverything(t *testing.T) {
	c, ds := smallRun(t)
	dir := t.TempDir()
	res, err := Run(context.Background(), c, Options{Out: dir, Data: ds})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 6 || len(res.Records) != 3 {
		t.Fatalf("steps %d, %d records; want 6 steps and records at 0, 3, 6", res.Steps, len(res.Records))
	}
	recs, err := report.ReadJSONL(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"step", "lr", "tau", "std", "rank", "knn", "knn_colour", "knn_pixels", "knn_random"} {
		if _, ok := recs[0][k]; !ok {
			t.Errorf("first record lacks %q: %v", k, recs[0])
		}
	}
	for _, k := range []string{"loss", "imgs_per_s"} {
		if v, ok := recs[1][k]; !ok || !(v > 0) {
			t.Errorf("record at step 3 has %s = %v", k, v)
		}
	}
	if p, ok := recs[2]["probe"]; !ok || p < 0 || p > 1 {
		t.Errorf("final record has linear probe accuracy %v", p)
	}
	for _, f := range []string{"metrics.csv", "curves.png", "pca_shape.png", "pca_colour.png", CheckpointName} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	if _, meta, err := checkpoint.ReadFile(filepath.Join(dir, CheckpointName)); err != nil || meta["step"] != "6" {
		t.Errorf("checkpoint at step %q, err %v", meta["step"], err)
	}
}

func TestResumeMatchesUninterrupted(t *testing.T) {
	c, ds := smallRun(t)
	whole := t.TempDir()
	if _, err := Run(context.Background(), c, Options{Out: whole, Data: ds}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stopAfter := 4
	progress := &cancelAfter{steps: stopAfter, cancel: cancel}
	res, err := Run(ctx, c, Options{Out: dir, Data: ds, Progress: progress, stepHook: progress.step})
	if err != nil || !res.Stopped || res.Steps != stopAfter {
		t.Fatalf("interrupted run: stopped=%v steps=%d err=%v", res.Stopped, res.Steps, err)
	}
	if _, err := Run(context.Background(), c, Options{Out: dir, Data: ds, Resume: true}); err != nil {
		t.Fatal(err)
	}
	a, _ := report.ReadJSONL(filepath.Join(whole, "metrics.jsonl"))
	b, _ := report.ReadJSONL(filepath.Join(dir, "metrics.jsonl"))
	if len(a) != len(b) {
		t.Fatalf("%d vs %d records", len(a), len(b))
	}
	for i := range a {
		for _, k := range []string{"step", "loss", "std", "rank", "knn", "knn_colour"} {
			if a[i][k] != b[i][k] {
				t.Fatalf("record %d %s: uninterrupted %v, resumed %v", i, k, a[i][k], b[i][k])
			}
		}
	}
	ta, _, _ := checkpoint.ReadFile(filepath.Join(whole, CheckpointName))
	tb, _, _ := checkpoint.ReadFile(filepath.Join(dir, CheckpointName))
	if !slices.Equal(ta["online.params"].Data, tb["online.params"].Data) {
		t.Fatal("final weights differ")
	}
}

type cancelAfter struct {
	steps  int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) { return len(p), nil }

func (c *cancelAfter) step(n int) {
	if n >= c.steps {
		c.cancel()
	}
}

func TestBadConfigIsAnError(t *testing.T) {
	c, ds := smallRun(t)
	c.Batch = 0
	if _, err := Run(context.Background(), c, Options{Data: ds}); err == nil {
		t.Fatal("batch 0 accepted")
	}
	if _, err := Run(context.Background(), c, Options{Resume: true}); err == nil {
		t.Fatal("resume without --out accepted")
	}
	c, _ = smallRun(t)
	if _, err := Run(context.Background(), c, Options{Out: t.TempDir(), Resume: true, Data: ds}); err == nil {
		t.Fatal("resume from a missing checkpoint accepted")
	}
}
