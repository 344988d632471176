package ui

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/viz/proto"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var shapeClasses = []string{"circle", "square", "triangle", "cross", "star", "ring", "heart", "arrow", "crescent", "hourglass"}
var colourClasses = []string{"red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink"}

func testKnobs(pred bool) proto.Knobs {
	aug := map[string]bool{}
	for _, n := range proto.AugmentNames {
		aug[n] = n != proto.AugNoise
	}
	return proto.Knobs{Predictor: pred, TauBase: 0.99, TauSchedule: proto.TauCosine, LR: 0.002, Batch: 64, PredLRMult: 10, Augment: aug}
}

func testRun(id, name string, pred bool) proto.RunInfo {
	return proto.RunInfo{ID: id, Name: name, State: proto.StateRunning, Knobs: testKnobs(pred), Arch: "tiny", Dataset: "shapes", ProjOut: 64}
}

const testN = 60

func testHello(runs ...proto.RunInfo) proto.Hello {
	ys, yc := make([]int32, testN), make([]int32, testN)
	for i := range testN {
		ys[i], yc[i] = int32(i%10), int32(i%8)
	}
	return proto.Hello{Version: proto.Version, Server: "test", Preset: "collapse", Runs: runs, ProbeN: testN,
		Labels:  []proto.LabelSet{{Name: "shape", Classes: shapeClasses, Y: ys}, {Name: "colour", Classes: colourClasses, Y: yc}},
		Presets: []string{"augment", "collapse", "tau"}, SnapshotHz: 5}
}

func encode(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testSnapshot(t *testing.T, run string, step uint64, scale float64) []byte {
	t.Helper()
	s := proto.Snapshot{Run: run, Step: step, Time: 1, Dim: 64}
	for i := range testN {
		a := 2 * math.Pi * float64(i%10) / 10
		x, y := float32(scale*math.Cos(a)), float32(scale*math.Sin(a))
		s.Proj = append(s.Proj, x, y)
		s.Pred = append(s.Pred, x*0.9, y*0.9)
		s.Target = append(s.Target, x*1.05, y*1.05)
	}
	for k := range 64 {
		s.Spectrum = append(s.Spectrum, float32(math.Exp(-float64(k)/10)))
		s.Std = append(s.Std, float32(scale/8))
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// connected returns an App that has received a hello with the runs and a
// snapshot for each.
func connected(t *testing.T, fragment string, runs ...proto.RunInfo) *App {
	t.Helper()
	a := NewApp(fragment)
	a.SetConn(Conn{State: ConnOpen, Since: t0})
	h := testHello(runs...)
	if err := a.HandleText(encode(t, h), t0); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := a.HandleBinary(testSnapshot(t, r.ID, 100, 0.4), t0); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func nRuns(n int) []proto.RunInfo {
	runs := []proto.RunInfo{testRun("byol", "BYOL", true), testRun("no-pred", "no predictor", false)}
	for i := 2; i < n; i++ {
		runs = append(runs, testRun(fmt.Sprintf("r%d", i), fmt.Sprintf("run %d", i), true))
	}
	return runs[:n]
}

func protoMetrics(run string, step uint64) proto.Metrics {
	return proto.Metrics{Run: run, Step: step, Time: 1, Loss: 1.2, LR: 0.002, Tau: 0.99, ImgsPerS: 2000, Std: 0.1, Rank: 30,
		KNN: map[string]proto.Float{"shape": 0.5, "colour": 0.8}, MeanCos: 0.5}
}
