//go:build !js

package e2e

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/server"
	"github.com/byol-lab/byol-lab/viz/ui"
)

// TestBrowserRealServer runs the page against the real viz/server and a
// real (small, fast) lab: the collapse lesson, BYOL beside BYOL without its
// predictor. The predictor toggle must reach the lab's run.
func TestBrowserRealServer(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	ds, err := data.Shapes(data.ShapesConfig{TrainN: 1024, TestN: 256})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := lab.Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Arch, cfg.Batch, cfg.Steps = "mlp", 32, 1_000_000
	cfg.ProjHidden, cfg.ProjOut, cfg.PredHidden = 64, 32, 64
	noPred := cfg
	noPred.Predictor = false
	srv, err := server.New(server.Options{
		Lab: lab.Options{Threads: 2, Data: ds, ProbeSize: 256, BankSize: 256, SnapshotRate: 4, EvalInterval: 2 * time.Second},
		Preset: &lab.Preset{Name: "collapse", Dataset: "shapes", Runs: []lab.PresetRun{
			{Name: "BYOL", Config: cfg}, {Name: "no predictor", Config: noPred}}},
		Frontend:   frontend(t, ctx),
		ServerName: "byol-lab (e2e)",
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()

	b := open(t, ctx, "http://"+ln.Addr().String()+"/", winW, winH, 1, artifacts(t))
	st := b.waitState("both panels with points from the lab", 2*time.Minute, func(d ui.Debug) bool {
		return len(d.Panels) == 2 && d.Panels[0].Points > 0 && d.Panels[1].Points > 0 && d.Panels[0].Step > 50
	})
	b.frames(6)
	img := b.screenshot("real-1-two-runs.png")
	st = b.state()
	probe := srv.Lab().Probe()
	var shape []string
	for _, ls := range probe.Labels {
		if ls.Name == "shape" {
			shape = ls.Classes
		}
	}
	for _, p := range st.Panels {
		n, spread := labelColours(img, p.Plot, ui.Palette(shape))
		t.Logf("panel %s at step %d: %d label colours over %.0f%% of the plot", p.Name, p.Step, n, 100*spread)
		if n < 3 || spread < 0.1 {
			t.Errorf("panel %s: %d label colours over %.0f%% of the plot, want several, scattered", p.Name, n, 100*spread)
		}
	}

	id := st.Panels[0].Run
	w, ok := widget(st, "predictor/"+id)
	if !ok || !w.On {
		t.Fatalf("predictor button of %s: %+v (found %v)", id, w, ok)
	}
	x, y := centre(w)
	b.click(x, y)
	deadline := time.Now().Add(20 * time.Second)
	for {
		off := false
		for _, r := range srv.Lab().Runs() {
			if r.ID == id && !r.Knobs.Predictor {
				off = true
			}
		}
		if off {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lab's run %s still has its predictor after the click\nconsole:\n%s", id, b.consoleText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.waitState("the panel showing the predictor off", 20*time.Second, func(d ui.Debug) bool {
		w, _ := widget(d, "predictor/"+id)
		return len(d.Panels) > 0 && !d.Panels[0].Predictor && w.Label == "predictor OFF"
	})
	b.frames(4)
	b.screenshot("real-2-predictor-off.png")
	b.checkConsole()
}
