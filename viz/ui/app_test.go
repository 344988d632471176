package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/byol-lab/byol-lab/viz/proto"
)

func TestHelloAndMetrics(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	if !a.lab.Hello || len(a.lab.Runs) != 2 || a.lab.ProbeN != testN || len(a.lab.Palettes) != 2 {
		t.Fatalf("after hello: %+v", a.lab)
	}
	r := a.lab.Run("byol")
	if r.Snap == nil || r.Snap.N() != testN || r.Snap.Step != 100 {
		t.Fatalf("snapshot not applied: %+v", r.Snap)
	}
	for step := uint64(1); step <= 5; step++ {
		m := proto.Metrics{Run: "byol", Step: step * 10, Loss: 1, Std: 0.1, Rank: 30, KNN: map[string]proto.Float{"shape": 0.5}}
		if err := a.HandleText(encode(t, m), t0); err != nil {
			t.Fatal(err)
		}
	}
	if r.Loss.Len() != 5 || r.KNN["shape"].Len() != 5 || r.Info.Step != 100 {
		t.Errorf("series: loss %d knn %d, step %d", r.Loss.Len(), r.KNN["shape"].Len(), r.Info.Step)
	}
	// A metric from before the last one: the run was reset.
	if err := a.HandleText(encode(t, proto.Metrics{Run: "byol", Step: 2, Loss: 2}), t0); err != nil {
		t.Fatal(err)
	}
	if r.Loss.Len() != 1 {
		t.Errorf("a step back should restart the history: %d points", r.Loss.Len())
	}
	// Metrics and snapshots of unknown runs are ignored, not errors.
	if err := a.HandleText(encode(t, proto.Metrics{Run: "ghost", Step: 1}), t0); err != nil {
		t.Error(err)
	}
	if err := a.HandleBinary(testSnapshot(t, "ghost", 1, 1), t0); err != nil {
		t.Error(err)
	}
	// A broken frame is reported (a toast), not applied.
	if err := a.HandleBinary([]byte("BYSN\x01\x00"), t0); err == nil || len(a.toasts) == 0 {
		t.Errorf("a short frame: err %v, toasts %d", err, len(a.toasts))
	}
}

func TestRunsMessageKeepsHistory(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	a.HandleText(encode(t, proto.Metrics{Run: "byol", Step: 100, Loss: 1}), t0)
	runs := nRuns(3)
	runs[0].Step = 120
	a.HandleText(encode(t, proto.Runs{Runs: runs}), t0)
	if len(a.lab.Runs) != 3 || a.lab.Run("byol").Loss.Len() != 1 || a.lab.Run("byol").Snap == nil {
		t.Errorf("a run list should keep the history of runs that stay")
	}
	// A restarted server: hello with step 0 → fresh history.
	a.HandleText(encode(t, testHello(nRuns(2)...)), t0)
	if r := a.lab.Run("byol"); r.Loss.Len() != 0 || r.Snap != nil {
		t.Errorf("a run back at step 0 should start over: %d points, snap %v", r.Loss.Len(), r.Snap != nil)
	}
}

func TestVersionMismatchIsFatal(t *testing.T) {
	a := NewApp("")
	err := a.HandleText([]byte(`{"type":"hello","version":2}`), t0)
	if !errors.Is(err, ErrFatal) || !errors.Is(err, proto.ErrVersion) || a.Conn().State != ConnFatal {
		t.Fatalf("err %v, state %v", err, a.Conn().State)
	}
	sc := a.Scene(800, 600, 1, t0)
	if !sceneHas(sc, "reload") {
		t.Errorf("the page should tell the user to reload")
	}
}

func TestEventsAndReset(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	a.HandleText(encode(t, proto.Metrics{Run: "no-pred", Step: 100, Loss: 1}), t0)
	a.HandleText(encode(t, proto.Event{Run: "no-pred", Time: 1, Kind: proto.EventCollapse, Message: "collapse: std 0.001"}), t0)
	sc := a.Scene(1280, 720, 1, t0)
	if !sceneHas(sc, "no predictor: collapse: std 0.001") {
		t.Errorf("the footer should show the last event")
	}
	a.HandleText(encode(t, proto.Event{Run: "no-pred", Time: 2, Kind: proto.EventReset, Message: "reset"}), t0)
	if r := a.lab.Run("no-pred"); r.Loss.Len() != 0 || r.Snap != nil {
		t.Errorf("a reset event should clear the run's history")
	}
}

func TestCollapseDetector(t *testing.T) {
	d := 64
	line := CollapseLine(d) // 0.025
	var c CollapseDetector
	// A fresh network sits below the line: not collapse before warm-up…
	if c.Observe(0.005, d, 10) {
		t.Error("collapse before the warm-up and before spreading out")
	}
	// …but after it.
	if !c.Observe(0.005, d, CollapseWarmup) {
		t.Error("no collapse after the warm-up")
	}
	// Hysteresis: between the line and 1.5× it, stays collapsed.
	if !c.Observe(line*1.2, d, 300) {
		t.Error("recovered inside the hysteresis band")
	}
	if c.Observe(line*1.6, d, 310) {
		t.Error("still collapsed above 1.5× the line")
	}
	if c.Observe(line*0.9, d, 320) != true {
		t.Error("a spread-out run falling below the line has collapsed")
	}
	if !c.Observe(nan(), d, 330) {
		t.Error("NaN should keep the state")
	}
	var early CollapseDetector
	early.Observe(0.1, d, 5) // spread out first
	if !early.Observe(0.01, d, 50) {
		t.Error("after spreading out, collapse counts before the warm-up")
	}
}

func nan() float64 { var z float64; return z / z }

func TestCollapseBadge(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	sc := a.Scene(1280, 720, 1, t0)
	if sceneHas(sc, "COLLAPSED") {
		t.Fatal("badge on healthy runs")
	}
	// std under 0.2/√64 after the warm-up → badge, on our rule alone
	// (the server's flag is false).
	a.HandleText(encode(t, proto.Metrics{Run: "no-pred", Step: 500, Std: 0.01, Rank: 1.2}), t0)
	sc = a.Scene(1280, 720, 1, t0)
	if n := sceneCount(sc, "COLLAPSED"); n != 1 {
		t.Errorf("%d COLLAPSED badges, want 1", n)
	}
	if !a.Debug().Panels[1].Collapsed || a.Debug().Panels[0].Collapsed {
		t.Errorf("debug state: %+v", a.Debug().Panels)
	}
	// The server's flag alone also shows it.
	b := connected(t, "", nRuns(2)...)
	b.HandleText(encode(t, proto.Metrics{Run: "byol", Step: 5, Std: 0.2, Collapsed: true}), t0)
	if !sceneHas(b.Scene(1280, 720, 1, t0), "COLLAPSED") {
		t.Error("the server's collapse flag should show the badge")
	}
}

func TestDivergedRun(t *testing.T) {
	runs := nRuns(2)
	runs[0].State = proto.StateDiverged
	a := connected(t, "", runs...)
	a.HandleText(encode(t, proto.Metrics{Run: "byol", Step: 50, Loss: proto.Float(nan()), Std: proto.Float(nan())}), t0)
	sc := a.Scene(1280, 720, 1, t0)
	if !sceneHas(sc, "diverged (NaN)") || !sceneHas(sc, "NaN") {
		t.Error("a diverged run should say so")
	}
	w := findWidget(t, a, "pause/byol")
	if w.Enabled {
		t.Error("pause/resume of a diverged run should be disabled (reset it)")
	}
}

func sceneHas(sc *Scene, text string) bool { return sceneCount(sc, text) > 0 }

func sceneCount(sc *Scene, text string) int {
	n := 0
	for _, p := range sc.Prims {
		if p.Kind == Text && strings.Contains(p.Text, text) {
			n++
		}
	}
	return n
}
