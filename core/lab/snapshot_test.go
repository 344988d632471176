package lab

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/eval"
)

func TestSnapshotContents(t *testing.T) {
	l, rec := newTestLab(t, Options{EvalInterval: time.Millisecond})
	l.work.Lock()
	l.evalChunk = 40 // the bank of 96 in three chunks
	l.work.Unlock()
	id := create(t, l, "a", testConfig(t))
	stepAndWait(t, l, id, 3)
	waitFor(t, 30*time.Second, "snapshot and eval of step 3", func() bool {
		ss, es := rec.snapshots(id), rec.evals(id)
		return len(ss) > 0 && ss[len(ss)-1].Step == 3 && len(es) > 0 && es[len(es)-1].Step == 3
	})
	ss := rec.snapshots(id)
	s := ss[len(ss)-1]
	n, d := 64, 16
	if s.N != n || s.D != d || len(s.Proj) != 2*n || len(s.Pred) != 2*n || len(s.Target) != 2*n ||
		len(s.Spectrum) != d || len(s.DimStd) != d || s.Run != id || s.Time.IsZero() {
		t.Fatalf("snapshot shape: N %d D %d %d %d %d %d %d", s.N, s.D, len(s.Proj), len(s.Pred), len(s.Target), len(s.Spectrum), len(s.DimStd))
	}
	for i := 1; i < len(s.Spectrum); i++ {
		if s.Spectrum[i] > s.Spectrum[i-1] {
			t.Fatalf("spectrum not descending: %v", s.Spectrum)
		}
	}
	// The online cloud is centred and its variance along the first axis is
	// the one PCA reports.
	var mx, my, vx float64
	for i := range n {
		mx += float64(s.Proj[2*i])
		my += float64(s.Proj[2*i+1])
	}
	for i := range n {
		vx += float64(s.Proj[2*i]) * float64(s.Proj[2*i]) / float64(n)
	}
	if math.Abs(mx/float64(n)) > 1e-5 || math.Abs(my/float64(n)) > 1e-5 || math.Abs(vx-s.AxisVar[0]) > 1e-4*s.AxisVar[0]+1e-7 {
		t.Fatalf("cloud mean (%g, %g), variance %g vs %g", mx/float64(n), my/float64(n), vx, s.AxisVar[0])
	}
	for _, c := range [][]float32{s.Pred, s.Target} {
		if !allFinite(c) {
			t.Fatal("non-finite cloud")
		}
	}

	// The metrics agree with core/eval on the embeddings the lab computed,
	// and the kNN accuracy with one computed from the whole bank at once.
	l.work.Lock()
	r, _ := l.find(id)
	std, _ := eval.Std(r.emb.Proj, d)
	cos, _ := eval.MeanCosine(r.emb.Pred, r.emb.Target, d)
	var bank byol.Embeddings
	r.t.Embed(l.ds.Train, l.bank, &bank)
	probe := l.probe
	wantKNN := map[string]float64{}
	for _, ls := range probe.Labels {
		acc, err := eval.KNN(bank.Repr, l.bankY[ls.Name], r.emb.Repr, ls.Y, bank.ReprDim, len(ls.Classes), 5, 0.07)
		if err != nil {
			t.Fatal(err)
		}
		wantKNN[ls.Name] = acc
	}
	l.work.Unlock()
	var mean float64
	for _, v := range s.DimStd {
		mean += float64(v) / float64(d)
	}
	if math.Abs(s.Std-std) > 1e-6 || math.Abs(mean-s.Std) > 1e-6 || math.Abs(cos-s.MeanCos) > 1e-9 {
		t.Fatalf("std %g (mean of dims %g), eval.Std %g; cos %g vs %g", s.Std, mean, std, s.MeanCos, cos)
	}
	if !(s.Rank >= 1 && s.Rank <= float64(d)) {
		t.Fatalf("effective rank %g", s.Rank)
	}

	es := rec.evals(id)
	e := es[len(es)-1]
	if e.BankSize != 96 || e.K != 5 || len(e.KNN) != 2 {
		t.Fatalf("eval: %+v", e)
	}
	if e.Step != 3 {
		t.Fatalf("evaluation of step %d", e.Step)
	}
	for name, acc := range e.KNN {
		if !(acc >= 0 && acc <= 1) || (name != "shape" && name != "colour") || acc != wantKNN[name] {
			t.Fatalf("eval: %s %g, want %g", name, acc, wantKNN[name])
		}
	}
}

func TestSnapshotRateMeasured(t *testing.T) {
	const rate = 10
	l, rec := newTestLab(t, Options{SnapshotRate: rate, EvalInterval: -1})
	id := create(t, l, "a", testConfig(t))
	if err := l.Resume(id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if err := l.Pause(id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the snapshot of the paused state
	ss := rec.snapshots(id)
	steps := info(t, l, id).Step
	if len(ss) < 3 || len(ss) > 1+2*rate {
		t.Fatalf("%d snapshots in about 1.35 s at %d/s (%d steps)", len(ss), rate, steps)
	}
	for i := 1; i < len(ss); i++ {
		if gap := ss[i].Time.Sub(ss[i-1].Time); gap < time.Second/rate {
			t.Fatalf("snapshots %d and %d only %v apart", i-1, i, gap)
		}
	}
	t.Logf("%d steps, %d snapshots", steps, len(ss))
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSnapshotRateFakeClock(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	l, rec := newTestLab(t, Options{SnapshotRate: 5, EvalInterval: -1, Now: clock.Now})
	id := create(t, l, "a", testConfig(t))
	waitFor(t, 30*time.Second, "first snapshot", func() bool { return len(rec.snapshots(id)) == 1 })
	// Ten steps with the clock standing still: no snapshot is due.
	stepAndWait(t, l, id, 10)
	clock.advance(150 * time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	if n := len(rec.snapshots(id)); n != 1 {
		t.Fatalf("%d snapshots within 150 ms at 5/s", n)
	}
	// 250 ms after the first, the waiting snapshot of step 10 is taken.
	clock.advance(100 * time.Millisecond)
	waitFor(t, 30*time.Second, "second snapshot", func() bool { return len(rec.snapshots(id)) == 2 })
	if s := rec.snapshots(id)[1]; s.Step != 10 {
		t.Fatalf("second snapshot at step %d", s.Step)
	}
	stepAndWait(t, l, id, 3)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.snapshots(id)); n != 2 {
		t.Fatalf("%d snapshots", n)
	}
}

func TestPCAOrientationStable(t *testing.T) {
	l, rec := newTestLab(t, Options{SnapshotRate: 1000, EvalInterval: -1})
	id := create(t, l, "a", testConfig(t))
	var axes [][2][]float64
	for range 12 {
		stepAndWait(t, l, id, 1)
		want := info(t, l, id).Step
		waitFor(t, 30*time.Second, "snapshot", func() bool {
			ss := rec.snapshots(id)
			return len(ss) > 0 && ss[len(ss)-1].Step == want
		})
		l.work.Lock()
		r, _ := l.find(id)
		a0, a1, _, _ := r.pca.Axes()
		l.work.Unlock()
		axes = append(axes, [2][]float64{a0, a1})
	}
	ss := rec.snapshots(id)
	if len(ss) != 13 {
		t.Fatalf("%d snapshots", len(ss))
	}
	// Consecutive clouds keep their orientation: each coordinate is
	// positively correlated with the same coordinate a step earlier (a flip
	// would make it about −1), and each axis points the way it did.
	minCorr, minDot := 1.0, 1.0
	for i := 1; i < len(ss); i++ {
		for axis := range 2 {
			c := corr(ss[i-1].Proj, ss[i].Proj, axis)
			minCorr = min(minCorr, c)
			if !(c > 0) {
				t.Errorf("axis %d flipped between steps %d and %d: correlation %.3f", axis, ss[i-1].Step, ss[i].Step, c)
			}
		}
	}
	for i := 1; i < len(axes); i++ {
		for k := range 2 {
			var dot float64
			for j, v := range axes[i][k] {
				dot += v * axes[i-1][k][j]
			}
			minDot = min(minDot, dot)
			if !(dot > 0) {
				t.Errorf("axis %d reversed at step %d: dot %.3f", k, i+1, dot)
			}
		}
	}
	t.Logf("lowest frame-to-frame correlation %.3f, lowest axis dot product %.3f", minCorr, minDot)
}

// corr is the Pearson correlation of coordinate axis of two clouds.
func corr(a, b []float32, axis int) float64 {
	n := len(a) / 2
	var ma, mb float64
	for i := range n {
		ma += float64(a[2*i+axis]) / float64(n)
		mb += float64(b[2*i+axis]) / float64(n)
	}
	var sab, saa, sbb float64
	for i := range n {
		x, y := float64(a[2*i+axis])-ma, float64(b[2*i+axis])-mb
		sab += x * y
		saa += x * x
		sbb += y * y
	}
	return sab / math.Sqrt(saa*sbb)
}

func TestCollapseNotices(t *testing.T) {
	d := 16
	line := 0.2 / math.Sqrt(float64(d))
	kinds := func(steps []int, stds []float64) []string {
		rec := &recorder{}
		l := &Lab{opt: Options{Sink: rec}}
		l.opt.fill()
		r := newRun("r1", "a", nil, Paused)
		for i, std := range stds {
			l.checkCollapse(r, &Snapshot{D: d, Std: std, Step: steps[i]})
		}
		var out []string
		for _, e := range rec.all() {
			out = append(out, e.(Notice).Kind)
		}
		return out
	}
	// Spread out, collapse, recover (only above 1.5× the line), collapse.
	got := kinds([]int{0, 10, 20, 30, 40, 50, 60}, []float64{0.2, 0.9 * line, 0.5 * line, 1.2 * line, 1.6 * line, 1.6 * line, 0.1 * line})
	if !slices.Equal(got, []string{NoticeCollapse, NoticeRecovered, NoticeCollapse}) {
		t.Fatalf("notices %v", got)
	}
	// A fresh network starts below the line: no notice until it spread out
	// or the warm-up is over.
	if got := kinds([]int{0, 50, 100}, []float64{0.01 * line, 0.5 * line, 0.5 * line}); len(got) != 0 {
		t.Fatalf("notices at initialisation: %v", got)
	}
	if got := kinds([]int{0, collapseWarmup}, []float64{0.01 * line, 0.5 * line}); !slices.Equal(got, []string{NoticeCollapse}) {
		t.Fatalf("notices after the warm-up: %v", got)
	}
}

func TestAugmentKnobs(t *testing.T) {
	mn, err := augment.Preset("mnist")
	if err != nil {
		t.Fatal(err)
	}
	c := mn
	// mnist has no flip configured: switching it on takes the paper's.
	if err := setTransform(&c, "flip", true); err != nil {
		t.Fatal(err)
	}
	if f := c.Views[1].Flip; !f.Enabled || f.P != 0.5 {
		t.Fatalf("flip on: %+v", f)
	}
	// Off then on restores mnist's own jitter, not the paper's.
	if err := setTransform(&c, "jitter", false); err != nil {
		t.Fatal(err)
	}
	if transformOn(&c, "jitter") {
		t.Fatal("jitter still on")
	}
	if err := setTransform(&c, "jitter", true); err != nil {
		t.Fatal(err)
	}
	if c.Views[0].Jitter != mn.Views[0].Jitter {
		t.Fatalf("jitter %+v, want %+v", c.Views[0].Jitter, mn.Views[0].Jitter)
	}
	if err := c.Validate(1); err != nil {
		t.Fatal(err)
	}
	for _, name := range augment.Transforms {
		if err := setTransform(&c, name, true); err != nil {
			t.Fatal(err)
		}
		if !transformOn(&c, name) {
			t.Fatalf("%s not on", name)
		}
		if err := c.Validate(3); err != nil {
			t.Fatalf("%s on: %v", name, err)
		}
	}
	if err := setTransform(&c, "mixup", true); err == nil {
		t.Fatal("unknown transform accepted")
	}
}

func TestBudget(t *testing.T) {
	var b budget
	if b.overhead() != 0 {
		t.Fatal("empty budget has overhead")
	}
	b.add(300*time.Millisecond, false)
	b.add(100*time.Millisecond, true)
	if f := b.overhead(); math.Abs(f-0.25) > 0.01 {
		t.Fatalf("overhead %.3f, want 0.25", f)
	}
	// Old time fades: after a long pause only new work counts.
	b.at = b.at.Add(-time.Minute)
	b.add(100*time.Millisecond, false)
	if f := b.overhead(); f > 0.01 {
		t.Fatalf("overhead %.3f after a minute of nothing", f)
	}
}

func TestSnapshotShareHonoured(t *testing.T) {
	// No rate limit: only the share holds snapshots back while runs train.
	l, rec := newTestLab(t, Options{SnapshotRate: 1e6, SnapshotShare: 0.2, EvalInterval: -1})
	a, _ := startBoth(t, l)
	waitFor(t, 60*time.Second, "20 steps", func() bool { return info(t, l, a).Step >= 20 })
	l.work.Lock()
	f := l.budget.overhead()
	l.work.Unlock()
	steps, snaps := len(rec.metrics(a)), len(rec.snapshots(a))
	if f > 0.35 || snaps < 2 {
		t.Fatalf("overhead %.2f with a share of 0.2 (%d steps, %d snapshots)", f, steps, snaps)
	}
	t.Logf("overhead %.2f, %d steps, %d snapshots", f, steps, snaps)
}
