package lab

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
)

func TestCreatePauseResumeStep(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	id := create(t, l, "a", testConfig(t))
	if r := info(t, l, id); r.State != Paused || r.Step != 0 || r.Name != "a" || r.Arch != "mlp" || r.ProjDim != 16 || r.Dataset != "shapes" {
		t.Fatalf("new run: %+v", r)
	}
	if len(rec.notices(id, NoticeCreated)) != 1 {
		t.Fatal("no created notice")
	}
	// A new run shows its random-init picture at once.
	waitFor(t, 30*time.Second, "initial snapshot", func() bool { return len(rec.snapshots(id)) > 0 })
	if s := rec.snapshots(id)[0]; s.Step != 0 {
		t.Fatalf("first snapshot at step %d", s.Step)
	}

	stepAndWait(t, l, id, 5)
	ms := rec.metrics(id)
	if len(ms) != 5 {
		t.Fatalf("%d metrics after Step(5)", len(ms))
	}
	for i, m := range ms {
		if m.Step != i+1 || !(m.Loss > 0) || !(m.ImgPerSec > 0) || m.Batch != 16 || !(m.LR > 0) {
			t.Fatalf("metrics %d: %+v", i, m)
		}
	}
	if err := l.Step(id, 0); err == nil {
		t.Fatal("Step(0) accepted")
	}
	if err := l.Step("r99", 1); err == nil {
		t.Fatal("Step of an unknown run accepted")
	}

	if err := l.Resume(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "running", func() bool { return info(t, l, id).Step >= 8 })
	if err := l.Pause(id); err != nil {
		t.Fatal(err)
	}
	// Pause takes effect at the step boundary it waited for: no step after.
	at := info(t, l, id).Step
	time.Sleep(50 * time.Millisecond)
	if r := info(t, l, id); r.State != Paused || r.Step != at {
		t.Fatalf("after Pause at step %d: %+v", at, r)
	}
	if n := len(rec.metrics(id)); n != at {
		t.Fatalf("%d metrics for %d steps", n, at)
	}
	if err := l.Pause(id); err != nil {
		t.Fatal("pausing a paused run:", err)
	}
	for _, op := range []func(string) error{l.Pause, l.Resume, l.Reset, l.Delete} {
		if err := op("nope"); err == nil {
			t.Fatal("operation on an unknown id accepted")
		}
	}
}

func TestStepStopsAtSteps(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	c := testConfig(t)
	c.Steps = 4
	id := create(t, l, "", c)
	if err := l.Step(id, 5); err == nil {
		t.Fatal("Step beyond steps accepted")
	}
	if err := l.Resume(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "finish", func() bool { return len(rec.notices(id, NoticeFinished)) == 1 })
	if r := info(t, l, id); r.State != Paused || r.Step != 4 || r.Name != id {
		t.Fatalf("finished run: %+v", r)
	}
	if err := l.Resume(id); err == nil || !strings.Contains(err.Error(), "raise steps") {
		t.Fatalf("Resume of a finished run: %v", err)
	}
	if err := l.Set(id, Knobs{Steps: ptr(6)}); err != nil {
		t.Fatal(err)
	}
	stepAndWait(t, l, id, 2)
}

func TestResetReplaysFromSeed(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	id := create(t, l, "a", testConfig(t))
	stepAndWait(t, l, id, 3)
	first := losses(rec.metrics(id))
	if err := l.Reset(id); err != nil {
		t.Fatal(err)
	}
	if r := info(t, l, id); r.Step != 0 || r.State != Paused {
		t.Fatalf("after reset: %+v", r)
	}
	stepAndWait(t, l, id, 3)
	again := losses(rec.metrics(id))[3:]
	if !slices.Equal(first, again) {
		t.Fatalf("losses after reset %v, first time %v", again, first)
	}
}

func TestDelete(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	a := create(t, l, "a", testConfig(t))
	b := create(t, l, "b", testConfig(t))
	for _, id := range []string{a, b} {
		if err := l.Resume(id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "both step", func() bool { return info(t, l, a).Step > 2 && info(t, l, b).Step > 2 })
	if err := l.Delete(a); err != nil {
		t.Fatal(err)
	}
	if rs := l.Runs(); len(rs) != 1 || rs[0].ID != b {
		t.Fatalf("runs after delete: %+v", rs)
	}
	if err := l.Set(a, Knobs{LR: ptr(0.01)}); err == nil {
		t.Fatal("Set on a deleted run accepted")
	}
	if len(rec.notices(a, NoticeDeleted)) != 1 {
		t.Fatal("no deleted notice")
	}
	n := len(rec.metrics(a))
	at := info(t, l, b).Step
	waitFor(t, 30*time.Second, "the other run steps", func() bool { return info(t, l, b).Step > at+2 })
	if len(rec.metrics(a)) != n {
		t.Fatal("a deleted run stepped")
	}
	// Ids are never reused.
	if c := create(t, l, "c", testConfig(t)); c == a || c == b {
		t.Fatalf("id %s reused", c)
	}
}

func TestForkContinuesLikeParent(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	p := create(t, l, "parent", testConfig(t))
	stepAndWait(t, l, p, 3)

	same, err := l.Fork(p, "", Knobs{})
	if err != nil {
		t.Fatal(err)
	}
	noPred, err := l.Fork(p, "no predictor", Knobs{Predictor: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	rs := l.Runs()
	if len(rs) != 3 || rs[1].ID != same || rs[2].ID != noPred {
		t.Fatalf("forks are listed after their parent: %+v", rs)
	}
	f := info(t, l, same)
	if f.Step != 3 || f.Parent != p || f.ForkStep != 3 || f.Name != "parent (fork)" || f.State != Paused {
		t.Fatalf("fork: %+v", f)
	}
	if info(t, l, noPred).Knobs.Predictor || !info(t, l, p).Knobs.Predictor {
		t.Fatal("the fork's knob change reached the parent or was lost")
	}
	for _, id := range []string{p, same, noPred} {
		stepAndWait(t, l, id, 3)
	}
	pl, sl, nl := losses(rec.metrics(p))[3:], losses(rec.metrics(same)), losses(rec.metrics(noPred))
	if !slices.Equal(pl, sl) {
		t.Fatalf("unchanged fork: losses %v, parent %v", sl, pl)
	}
	if slices.Equal(pl, nl) {
		t.Fatalf("fork without predictor has the parent's losses %v", nl)
	}
	if _, err := l.Fork(p, "", Knobs{LR: ptr(-1.0)}); err == nil {
		t.Fatal("fork with a negative lr accepted")
	}
	if _, err := l.Fork("zz", "", Knobs{}); err == nil {
		t.Fatal("fork of an unknown run accepted")
	}
}

func TestSetRejectsBadValues(t *testing.T) {
	l, _ := newTestLab(t, Options{MaxBatch: 64})
	id := create(t, l, "a", testConfig(t))
	stepAndWait(t, l, id, 2)
	before := info(t, l, id)
	nan, inf := math.NaN(), math.Inf(1)
	bad := map[string]Knobs{
		"NaN lr":          {LR: &nan},
		"negative lr":     {LR: ptr(-0.1)},
		"zero lr":         {LR: ptr(0.0)},
		"infinite lr":     {LR: &inf},
		"batch 0":         {Batch: ptr(0)},
		"batch 1":         {Batch: ptr(1)},
		"batch 1e9":       {Batch: ptr(1_000_000_000)},
		"batch over max":  {Batch: ptr(128)},
		"tau below 0":     {TauBase: ptr(-0.01)},
		"tau above 1":     {TauBase: ptr(1.5)},
		"tau NaN":         {TauBase: &nan},
		"tau schedule":    {TauSchedule: ptr("linear")},
		"lr schedule":     {LRSchedule: ptr("step")},
		"pred lr mult":    {PredLRMult: ptr(-1.0)},
		"steps 0":         {Steps: ptr(0)},
		"unknown augment": {Augment: map[string]bool{"mixup": true}},
		"valid then bad":  {Predictor: ptr(false), LR: &nan},
	}
	for name, k := range bad {
		if err := l.Set(id, k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if after := info(t, l, id); !reflect.DeepEqual(before, after) {
		t.Fatalf("rejected changes changed the run:\nbefore %+v\nafter  %+v", before, after)
	}
	stepAndWait(t, l, id, 1)

	good := Knobs{Predictor: ptr(false), Batch: ptr(8), LR: ptr(0.002), TauBase: ptr(0.5), TauSchedule: ptr("constant"),
		PredLRMult: ptr(10.0), Augment: map[string]bool{"jitter": false, "noise": true}}
	if err := l.Set(id, good); err != nil {
		t.Fatal(err)
	}
	k := info(t, l, id).Knobs
	if k.Predictor || k.Batch != 8 || k.LR != 0.002 || k.TauBase != 0.5 || k.TauSchedule != "constant" || k.PredLRMult != 10 ||
		k.Augment["jitter"] || !k.Augment["noise"] || !k.Augment["crop"] {
		t.Fatalf("knobs after Set: %+v", k)
	}
	stepAndWait(t, l, id, 2)
}

func TestCreateValidation(t *testing.T) {
	l, _ := newTestLab(t, Options{MaxRuns: 2, MaxBatch: 64})
	for name, change := range map[string]func(c *cfgT){
		"proj 1":     func(c *cfgT) { c.ProjOut = 1 },
		"batch":      func(c *cfgT) { c.Batch = 128 },
		"arch":       func(c *cfgT) { c.Arch = "vit" },
		"lr":         func(c *cfgT) { c.LR = math.NaN() },
		"device":     func(c *cfgT) { c.Device = "cuda" },
		"long name":  nil,
		"other data": func(c *cfgT) { c.Dataset = "mnist" },
	} {
		c := testConfig(t)
		runName := "x"
		if change != nil {
			change(&c)
		} else {
			runName = strings.Repeat("n", 65)
		}
		if name == "other data" {
			create(t, l, "first", testConfig(t)) // the lab is now on shapes
		}
		if _, err := l.Create(runName, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	create(t, l, "second", testConfig(t))
	if _, err := l.Create("third", testConfig(t)); err == nil {
		t.Fatal("more than MaxRuns accepted")
	}
	id := l.Runs()[0].ID
	if _, err := l.Fork(id, "", Knobs{}); err == nil {
		t.Fatal("fork beyond MaxRuns accepted")
	}
}

func TestCloseStopsEverything(t *testing.T) {
	l, _ := newTestLab(t, Options{})
	id := create(t, l, "a", testConfig(t))
	l.Close()
	if _, err := l.Create("b", testConfig(t)); err != ErrClosed {
		t.Fatalf("Create after Close: %v", err)
	}
	if err := l.Resume(id); err != ErrClosed {
		t.Fatalf("Resume after Close: %v", err)
	}
	l.Close() // twice is fine
}

// TestTurnsOfSteps: a run's turn may run many steps, reading their losses
// back once; the lab still publishes every step's metrics once and in
// order, with the losses, lr and τ of steps run one at a time.
func TestTurnsOfSteps(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	turns := map[string]int{}
	l.work.Lock()
	l.testStepHook = func(r *run) { turns[r.id]++ }
	l.testTurn = time.Hour // as many steps as a turn may take
	l.work.Unlock()
	c := testConfig(t)
	c.WarmupSteps = 10 // lr changes every step
	long, short := create(t, l, "long turns", c), create(t, l, "one step a turn", c)
	const n = 40
	stepAndWait(t, l, long, n)
	l.work.Lock()
	l.testTurn = time.Nanosecond
	l.work.Unlock()
	stepAndWait(t, l, short, n)

	a, b := rec.metrics(long), rec.metrics(short)
	if len(a) != n || len(b) != n {
		t.Fatalf("%d and %d metrics for %d steps", len(a), len(b), n)
	}
	for i := range a {
		if a[i].Step != i+1 || b[i].Step != i+1 || a[i].Loss != b[i].Loss || a[i].LR != b[i].LR || a[i].Tau != b[i].Tau {
			t.Fatalf("step %d: long turns %+v, one step a turn %+v", i+1, a[i], b[i])
		}
	}
	l.work.Lock()
	defer l.work.Unlock()
	// The first turn runs one step (nothing timed yet), then at most
	// MaxStepsPerSync a turn.
	if want := 1 + (n-1+byol.MaxStepsPerSync-1)/byol.MaxStepsPerSync; turns[long] != want || turns[short] != n {
		t.Fatalf("%d turns with long turns (want %d), %d with one step a turn (want %d)", turns[long], want, turns[short], n)
	}
}
