package tutorials

// Every claim a lesson makes about what BYOL does, checked headless at a
// reduced budget. The lessons' own numbers come from longer runs of the
// commands they print; these tests keep the qualitative claims true as the
// code changes. Budgets and margins are chosen so that each claim holds with
// room to spare at the reduced budget (see the logged metrics with -v).

import (
	"math"
	"slices"
	"testing"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// Lesson 1: two networks, two views, one loss.
func TestLesson1TargetStartsAsCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	t.Parallel()
	cfg := cliConfig(t, "mnist", 64, 0)
	ds := loadData(t, "mnist")
	pool := parallel.New(1)
	defer pool.Close()
	b, _ := device.Open("cpu", pool)
	tr, err := byol.NewTrainer(cfg, b, pool, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	var e byol.Embeddings
	tr.Embed(ds.Test, idx, &e)
	// ξ = θ at step 0: the target projection of an image is exactly the
	// online projection.
	if !slices.Equal(e.Proj, e.Target) {
		t.Fatal("at step 0 the target network's projections differ from the online network's")
	}
	if err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	// Two terms 2 − 2·cos with cos ≈ 0 between a random prediction and a
	// random target: the first loss is about 4 (its range is 0 to 8).
	if l := tr.LastLoss(); math.Abs(l-4) > 0.5 {
		t.Errorf("first loss %.3f, the lesson says about 4", l)
	}
	tr.Embed(ds.Test, idx, &e)
	if slices.Equal(e.Proj, e.Target) {
		t.Error("after a step the networks still agree exactly: the target should lag behind")
	}
}

func TestLesson1BYOLLearns(t *testing.T) {
	t.Parallel()
	r := train(t, cliConfig(t, "mnist", 64, 200))
	if first, last := r.meanLoss(0, 10), r.meanLoss(len(r.Losses)-10, len(r.Losses)); last > 0.75*first {
		t.Errorf("loss %.3f over the last 10 steps, %.3f over the first 10: the lesson says it falls", last, first)
	}
	if got, start := r.End.KNN["digit"], r.Start.KNN["digit"]; got < start+0.05 {
		t.Errorf("kNN(digit) %.1f%% after training, %.1f%% at random init: the lesson says BYOL improves it by more than 5 points", 100*got, 100*start)
	}
	if r.End.Std < 0.2*r.healthy() {
		t.Errorf("std %.4f under the collapse line 0.2/√d: BYOL should not collapse", r.End.Std)
	}
	// At this budget BYOL does not catch up with raw pixels, which are a
	// strong baseline on MNIST; if it ever does, lesson 1 should say so.
	if px := r.Pixels["digit"]; r.End.KNN["digit"] >= px {
		t.Errorf("kNN(digit) %.1f%% beats raw pixels %.1f%%: update lesson 1, which says it stays below", 100*r.End.KNN["digit"], 100*px)
	}
}

// Lesson 2: without the predictor the representation collapses.
func TestLesson2Collapse(t *testing.T) {
	t.Parallel()
	byolRun := train(t, presetConfig(t, "collapse", "BYOL", 300))
	noPred := train(t, presetConfig(t, "collapse", "no predictor", 300))
	d := byolRun.healthy()
	if noPred.End.Std >= 0.2*d {
		t.Errorf("no predictor: std %.4f, want below the collapse line 0.2/√d = %.4f", noPred.End.Std, 0.2*d)
	}
	if byolRun.End.Std <= 0.5*d {
		t.Errorf("BYOL: std %.4f, want above 0.5/√d = %.4f", byolRun.End.Std, 0.5*d)
	}
	if noPred.End.Rank >= 0.5*byolRun.End.Rank {
		t.Errorf("effective rank %.1f without the predictor, %.1f with it: want less than half", noPred.End.Rank, byolRun.End.Rank)
	}
	n := len(byolRun.Losses)
	if lp, lb := noPred.meanLoss(n-10, n), byolRun.meanLoss(n-10, n); lp >= 0.25*lb {
		t.Errorf("loss %.3f without the predictor, %.3f with it: want less than a quarter (the constant answer wins)", lp, lb)
	}
	// Both start under the collapse line: a random network's outputs all
	// point about the same way.
	if s := byolRun.Start.Std; s >= 0.2*d {
		t.Errorf("std at step 0 %.4f: the lesson says a fresh network starts below 0.2/√d", s)
	}
}

// Lesson 4: augmentations decide what the representation ignores.
func TestLesson4ColourJitter(t *testing.T) {
	t.Parallel()
	all := train(t, presetConfig(t, "augment", "all augmentations", 300))
	noJitter := train(t, presetConfig(t, "augment", "no colour jitter", 300))
	// Without jitter both views share the image's exact colour, and the
	// representation keeps (even gains) colour; with jitter it loses some.
	if a, n := all.End.KNN["colour"], noJitter.End.KNN["colour"]; n < a+0.03 {
		t.Errorf("kNN(colour) %.1f%% without jitter, %.1f%% with it: want at least 3 points more without", 100*n, 100*a)
	}
	if a, s := all.End.KNN["colour"], all.Start.KNN["colour"]; a > s-0.02 {
		t.Errorf("with jitter kNN(colour) went from %.1f%% to %.1f%%: the lesson says it falls", 100*s, 100*a)
	}
	if n, s := noJitter.End.KNN["colour"], noJitter.End.KNN["shape"]; n < s+0.2 {
		t.Errorf("without jitter kNN(colour) %.1f%%, kNN(shape) %.1f%%: the lesson says colour dominates", 100*n, 100*s)
	}
	// Matching colours makes the task easier: the loss is lower.
	n := len(all.Losses)
	if ln, la := noJitter.meanLoss(n-20, n), all.meanLoss(n-20, n); ln >= la {
		t.Errorf("loss %.3f without jitter, %.3f with it: the lesson says the task is easier without", ln, la)
	}
}

// Lesson 6: the singular-value spectrum shows how many directions the
// projections use.
func TestLesson6Spectrum(t *testing.T) {
	t.Parallel()
	byolRun := train(t, presetConfig(t, "collapse", "BYOL", 300))
	noPred := train(t, presetConfig(t, "collapse", "no predictor", 300))
	d := float64(byolRun.Config.ProjOut)
	top := func(s []float64) float64 { return s[0] / sum(s) }
	t.Logf("step 0: effective rank %.1f, σ1/Σσ %.2f", byolRun.Start.Rank, top(byolRun.Start.Spectrum))
	t.Logf("BYOL: effective rank %.1f, σ1/Σσ %.2f, std %.4f", byolRun.End.Rank, top(byolRun.End.Spectrum), byolRun.End.Std)
	t.Logf("no predictor: effective rank %.1f, σ1/Σσ %.2f, std %.4f", noPred.End.Rank, top(noPred.End.Spectrum), noPred.End.Std)
	if s0, s := top(byolRun.Start.Spectrum), top(byolRun.End.Spectrum); s0 < 0.5 || s >= s0 {
		t.Errorf("σ1/Σσ %.2f at step 0, %.2f after BYOL: the lesson says the first value dwarfs the rest at first (> 0.5), and BYOL flattens the spectrum", s0, s)
	}
	if r := byolRun.Start.Rank; r > 5 {
		t.Errorf("a fresh network's effective rank is %.1f; the lesson says a handful (< 5)", r)
	}
	if r, r0 := byolRun.End.Rank, byolRun.Start.Rank; r < 3*r0 || r > d/2 {
		t.Errorf("BYOL's effective rank %.1f (step 0: %.1f): the lesson says it grows more than 3× yet stays under d/2 = %.0f", r, r0, d/2)
	}
	if p, b := noPred.End.Rank, byolRun.End.Rank; p > 0.5*b || p < 1.5 {
		t.Errorf("effective rank %.1f without the predictor, %.1f with it: the lesson says less than half, but more than 1 (dimensional, not complete, collapse)", p, b)
	}
	if p, b := top(noPred.End.Spectrum), top(byolRun.End.Spectrum); p < b+0.1 {
		t.Errorf("σ1/Σσ %.2f without the predictor, %.2f with it: the lesson says the first direction dominates without it", p, b)
	}
	if noPred.End.Std <= 0 {
		t.Error("std exactly 0: that would be complete collapse")
	}
}

func sum(s []float64) float64 {
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t
}

// firstLoss is the loss of the first step of cfg.
func firstLoss(t *testing.T, cfg byol.Config) float64 {
	t.Helper()
	ds := loadData(t, cfg.Dataset)
	pool := parallel.New(1)
	defer pool.Close()
	b, _ := device.Open("cpu", pool)
	tr, err := byol.NewTrainer(cfg, b, pool, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	return tr.LastLoss()
}

// Lesson 5: SimCLR's task depends on the batch, BYOL's does not.
func TestLesson5FirstLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	t.Parallel()
	for _, batch := range []int{32, 256} {
		c := cliConfig(t, "mnist", batch, 1)
		lb := firstLoss(t, c)
		c.Method = byol.MethodSimCLR
		ls := firstLoss(t, c)
		chance := math.Log(float64(2*batch - 1))
		t.Logf("batch %d: first loss BYOL %.3f, SimCLR %.3f (log(2B−1) = %.3f)", batch, lb, ls, chance)
		// A random network cannot tell the positive from the 2B − 2
		// negatives: InfoNCE starts near log(2B − 1), the loss of guessing.
		if math.Abs(ls-chance) > 0.5 {
			t.Errorf("batch %d: SimCLR's first loss %.3f, the lesson says about log(2B−1) = %.3f", batch, ls, chance)
		}
		if math.Abs(lb-4) > 0.5 {
			t.Errorf("batch %d: BYOL's first loss %.3f, the lesson says about 4 whatever the batch", batch, lb)
		}
	}
}

// Lesson 3: the speed of the target network.
func TestLesson3Tau(t *testing.T) {
	t.Parallel()
	tau := func(v float64) *claimRun {
		c := cliConfig(t, "mnist", 64, 200)
		c.TauSchedule, c.TauBase = "constant", v
		return train(t, c)
	}
	copyRun, slow, frozen := tau(0), tau(0.99), tau(1)
	n := len(slow.Losses)
	l0, l99, l1 := copyRun.meanLoss(n-20, n), slow.meanLoss(n-20, n), frozen.meanLoss(n-20, n)
	t.Logf("loss of the last 20 steps: τ=0 %.3f, τ=0.99 %.3f, τ=1 %.3f", l0, l99, l1)
	if !(l1 > 1.15*l99 && l99 > l0) {
		t.Errorf("the lesson says the frozen target's loss is the highest (more than 1.15× τ=0.99's) and τ=0's the lowest")
	}
	// The frozen target's loss stalls while the moving targets' keep falling.
	for _, r := range []*claimRun{copyRun, slow, frozen} {
		t.Logf("τ=%v: loss over steps 80–100 %.3f, 180–200 %.3f", r.Config.TauBase, r.meanLoss(80, 100), r.meanLoss(n-20, n))
	}
	if f := frozen.meanLoss(n-20, n) / frozen.meanLoss(80, 100); f < 0.9 {
		t.Errorf("τ=1: the loss fell by %.0f%% from steps 80–100 to the last 20; the lesson says it stalls (less than 10%%)", 100*(1-f))
	}
	if f := slow.meanLoss(n-20, n) / slow.meanLoss(80, 100); f > 0.9 {
		t.Errorf("τ=0.99: the loss fell by only %.0f%% from steps 80–100 to the last 20; the lesson says it keeps falling", 100*(1-f))
	}
	for _, r := range []*claimRun{copyRun, slow, frozen} {
		if r.End.Std <= 0.2*r.healthy() {
			t.Errorf("τ=%v: std %.4f under the collapse line: the lesson says no run collapses", r.Config.TauBase, r.End.Std)
		}
	}
	start := copyRun.Start.KNN["digit"]
	if copyRun.End.Std <= 0.5*copyRun.healthy() || copyRun.End.KNN["digit"] < start+0.05 {
		t.Errorf("τ=0 with the predictor: std %.4f, kNN %.1f%% (random %.1f%%): the lesson says it learns without collapsing (SimSiam)",
			copyRun.End.Std, 100*copyRun.End.KNN["digit"], 100*start)
	}
	if frozen.End.KNN["digit"] < start+0.05 {
		t.Errorf("τ=1: kNN %.1f%%, random network %.1f%%: the lesson says predicting a random network teaches something", 100*frozen.End.KNN["digit"], 100*start)
	}
	// Honest, not the paper's result: at this budget the frozen target is
	// not behind. If it ever is by more than 5 points, update lesson 3.
	if d := math.Abs(frozen.End.KNN["digit"] - slow.End.KNN["digit"]); d > 0.05 {
		t.Errorf("kNN τ=1 %.1f%%, τ=0.99 %.1f%%: lesson 3 says they are within 5 points at this budget",
			100*frozen.End.KNN["digit"], 100*slow.End.KNN["digit"])
	}
}

// Lesson 5: BYOL against SimCLR at two batch sizes, at the same number of
// images seen (12,800: batch 32 × 400 steps, batch 256 × 50 steps).
func TestLesson5BatchAndSimCLR(t *testing.T) {
	t.Parallel()
	run := func(method string, batch int) *claimRun {
		c := cliConfig(t, "mnist", batch, 12800/batch)
		c.Method = method
		return train(t, c)
	}
	knn := map[string]map[int]float64{}
	for _, m := range []string{byol.MethodBYOL, byol.MethodSimCLR} {
		knn[m] = map[int]float64{}
		for _, b := range []int{32, 256} {
			r := run(m, b)
			knn[m][b] = r.End.KNN["digit"]
			t.Logf("%s batch %d: kNN %.1f%%, std %.4f, rank %.1f", m, b, 100*knn[m][b], r.End.Std, r.End.Rank)
		}
	}
	for _, b := range []int{32, 256} {
		// At this small budget on MNIST the contrastive loss learns faster.
		if s, y := knn[byol.MethodSimCLR][b], knn[byol.MethodBYOL][b]; s < y+0.05 {
			t.Errorf("batch %d: kNN SimCLR %.1f%%, BYOL %.1f%%: lesson 5 says SimCLR leads by more than 5 points here", b, 100*s, 100*y)
		}
		// Negatives push the points apart: SimCLR's projections spread more.
		if s, y := run(byol.MethodSimCLR, b).End.Std, run(byol.MethodBYOL, b).End.Std; s <= y {
			t.Errorf("batch %d: std SimCLR %.4f, BYOL %.4f: lesson 5 says SimCLR's is larger", b, s, y)
		}
	}
	// Going from batch 256 to 32, SimCLR loses more kNN accuracy than BYOL
	// (the paper's direction), but neither loses much at this scale.
	dropS := knn[byol.MethodSimCLR][256] - knn[byol.MethodSimCLR][32]
	dropB := knn[byol.MethodBYOL][256] - knn[byol.MethodBYOL][32]
	if dropS <= dropB || dropS > 0.08 || dropB > 0.08 {
		t.Errorf("kNN drop from batch 256 to 32: SimCLR %.1f points, BYOL %.1f: lesson 5 says SimCLR's is the larger, both under 8 points", 100*dropS, 100*dropB)
	}
}
