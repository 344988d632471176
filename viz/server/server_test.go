package server

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// TestLiveLab is the integration test: a real server on a loopback port, a
// real websocket client; hello, metrics and snapshots arrive, and commands
// (predictor off, fork, pause) visibly change the runs.
func TestLiveLab(t *testing.T) {
	ts := startServer(t, testOptions(t))
	c := dial(t, ts, dialOpt{})

	h := c.hello
	if h.Version != proto.Version || h.ReadOnly || h.Preset != "test" || len(h.Runs) != 2 || h.ProbeN != 64 || h.SnapshotHz != 20 {
		t.Fatalf("hello: %+v", h)
	}
	if len(h.Labels) == 0 || len(h.Labels[0].Y) != 64 || len(h.Presets) == 0 {
		t.Fatalf("hello labels/presets: %+v %v", h.Labels, h.Presets)
	}
	byolID, noPredID := h.Runs[0].ID, h.Runs[1].ID
	if h.Runs[0].Name != "BYOL" || !h.Runs[0].Knobs.Predictor || h.Runs[1].Knobs.Predictor || h.Runs[0].State != proto.StateRunning {
		t.Fatalf("hello runs: %+v", h.Runs)
	}

	// Metrics and snapshots of both runs stream in.
	c.waitFor("metrics and snapshots of both runs", 30*time.Second, func() bool {
		return c.nMetrics[byolID] >= 2 && c.nMetrics[noPredID] >= 2 && c.nSnaps[byolID] >= 2 && c.nSnaps[noPredID] >= 2
	})
	c.mu.Lock()
	s, m := c.snaps[byolID], c.metrics[byolID]
	c.mu.Unlock()
	if s.N() != h.ProbeN || s.Dim != 16 || len(s.Std) != 16 || len(s.Spectrum) == 0 || s.Flags&proto.FlagPredictorOff != 0 {
		t.Fatalf("snapshot: n %d dim %d std %d spectrum %d flags %b", s.N(), s.Dim, len(s.Std), len(s.Spectrum), s.Flags)
	}
	if !(m.Step > 0 && m.Loss > 0 && m.ImgsPerS > 0 && m.LR > 0) {
		t.Fatalf("metrics: %+v", m)
	}
	c.waitFor("a kNN accuracy", 30*time.Second, func() bool { return len(c.metrics[byolID].KNN) > 0 })

	// Predictor off: the reply is ok, the run list says so, and later
	// snapshots carry the flag.
	c.mustOK(proto.Command{Cmd: proto.CmdSet, Run: byolID, Args: proto.Args{Knobs: proto.KnobsPatch{Predictor: ptr(false)}}})
	c.waitFor("predictor off in the run list", 10*time.Second, func() bool {
		r, _ := c.run(byolID)
		return !r.Knobs.Predictor
	})
	c.waitFor("a snapshot with predictor_off", 30*time.Second, func() bool {
		return c.snaps[byolID].Flags&proto.FlagPredictorOff != 0
	})
	c.mustOK(proto.Command{Cmd: proto.CmdSet, Run: byolID, Args: proto.Args{Knobs: proto.KnobsPatch{Predictor: ptr(true)}}})

	// Fork with a different τ: a new run right after its parent.
	r := c.mustOK(proto.Command{Cmd: proto.CmdFork, Run: byolID, Args: proto.Args{Name: "fork τ=1", Knobs: proto.KnobsPatch{TauBase: ptr(1.0), TauSchedule: ptr("constant")}}})
	fork := r.Run
	if fork == "" {
		t.Fatal("fork reply names no run")
	}
	c.waitFor("the fork in the run list", 10*time.Second, func() bool {
		f, ok := c.run(fork)
		return ok && f.Parent == byolID && f.Name == "fork τ=1" && f.Knobs.TauBase == 1 && len(c.runs) == 3 && c.runs[1].ID == fork
	})
	c.waitFor("metrics of the fork", 30*time.Second, func() bool { return c.nMetrics[fork] > 0 && c.nSnaps[fork] > 0 })

	// Pause: the run list says paused and the run's step stops.
	c.mustOK(proto.Command{Cmd: proto.CmdPause, Run: noPredID})
	c.waitFor("paused", 10*time.Second, func() bool {
		r, _ := c.run(noPredID)
		return r.State == proto.StatePaused
	})
	at := stepOf(ts, noPredID)
	forkAt := stepOf(ts, fork)
	waitUntil(t, "the other runs go on", 30*time.Second, func() bool { return stepOf(ts, fork) >= forkAt+5 })
	if got := stepOf(ts, noPredID); got != at {
		t.Fatalf("paused run went on from step %d to %d", at, got)
	}
	// Step 3 and resume.
	c.mustOK(proto.Command{Cmd: proto.CmdStep, Run: noPredID, Args: proto.Args{N: 3}})
	waitUntil(t, "3 steps", 30*time.Second, func() bool { return stepOf(ts, noPredID) == at+3 })
	c.mustOK(proto.Command{Cmd: proto.CmdResume, Run: noPredID})
	waitUntil(t, "resumed", 30*time.Second, func() bool { return stepOf(ts, noPredID) > at+5 })

	// Create, reset, delete.
	r = c.mustOK(proto.Command{Cmd: proto.CmdCreate, Args: proto.Args{Name: "extra"}})
	extra := r.Run
	c.waitFor("the new run", 10*time.Second, func() bool { x, ok := c.run(extra); return ok && x.Name == "extra" })
	waitUntil(t, "the new run steps", 30*time.Second, func() bool { return stepOf(ts, extra) > 3 })
	c.mustOK(proto.Command{Cmd: proto.CmdReset, Run: extra})
	c.mustOK(proto.Command{Cmd: proto.CmdDelete, Run: extra})
	c.waitFor("the run gone", 10*time.Second, func() bool { _, ok := c.run(extra); return !ok })
	c.mustOK(proto.Command{Cmd: proto.CmdPing})

	// Events went to the client.
	c.mu.Lock()
	kinds := map[string]bool{}
	for _, e := range c.events {
		kinds[e.Kind] = true
	}
	c.mu.Unlock()
	for _, k := range []string{proto.EventForked, proto.EventPaused, proto.EventCreated, proto.EventDeleted, proto.EventReset} {
		if !kinds[k] {
			t.Errorf("no %s event (got %v)", k, kinds)
		}
	}

	// A client that connects now gets the current picture at once, paused
	// runs included.
	c.mustOK(proto.Command{Cmd: proto.CmdPause, Run: noPredID})
	late := dial(t, ts, dialOpt{})
	late.waitFor("snapshots of every run", 10*time.Second, func() bool {
		return late.nSnaps[byolID] > 0 && late.nSnaps[noPredID] > 0 && late.nSnaps[fork] > 0 && late.nMetrics[noPredID] > 0
	})
}

func stepOf(ts *testServer, id string) int {
	for _, r := range ts.Lab().Runs() {
		if r.ID == id {
			return r.Step
		}
	}
	return -1
}

// TestHTTP: without a frontend / is an honest status page; /healthz
// answers; a frontend handler is mounted at / and a panic in it stays in
// its request.
func TestHTTP(t *testing.T) {
	ts := startServer(t, testOptions(t))
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + ts.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/")
	if code != 200 || !strings.Contains(body, "without the browser frontend") || !strings.Contains(body, "no predictor") {
		t.Fatalf("status page: %d %s", code, body)
	}
	code, body = get("/healthz")
	var health struct {
		OK   bool `json:"ok"`
		Runs int  `json:"runs"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &health) != nil || !health.OK || health.Runs != 2 {
		t.Fatalf("healthz: %d %s", code, body)
	}
	if code, _ = get("/nope"); code != 404 {
		t.Fatalf("/nope: %d", code)
	}
	ts.stop()

	opt := testOptions(t)
	opt.Frontend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("frontend bug")
		}
		_, _ = io.WriteString(w, "the frontend")
	})
	ts = startServer(t, opt)
	if code, body = get("/"); code != 200 || body != "the frontend" {
		t.Fatalf("frontend: %d %q", code, body)
	}
	if code, _ = get("/boom"); code != 500 {
		t.Fatalf("panicking handler: %d", code)
	}
	if code, body = get("/app.js"); code != 200 || body != "the frontend" {
		t.Fatalf("after the panic: %d %q", code, body)
	}
	dial(t, ts, dialOpt{}) // the websocket is still the server's
}

// TestShutdown: Serve returns after cancel, clients get close 1001, every
// run is saved, and the checkpoints load.
func TestShutdown(t *testing.T) {
	opt := testOptions(t)
	opt.CheckpointDir = t.TempDir()
	ts := startServer(t, opt)
	c := dial(t, ts, dialOpt{})
	c.waitFor("metrics", 30*time.Second, func() bool { return len(c.metrics) == 2 })
	start := time.Now()
	ts.stop()
	if code := c.closeCode(5 * time.Second); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want %d", code, websocket.CloseGoingAway)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	dirs, err := os.ReadDir(opt.CheckpointDir)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("checkpoint dir: %v %v", dirs, err)
	}
	dir := filepath.Join(opt.CheckpointDir, dirs[0].Name())
	var index []lab.SavedRun
	b, err := os.ReadFile(filepath.Join(dir, "runs.json"))
	if err != nil || json.Unmarshal(b, &index) != nil || len(index) != 2 {
		t.Fatalf("runs.json: %s %v", b, err)
	}
	for _, r := range index {
		cfg, err := byol.ReadConfig(filepath.Join(dir, r.File))
		if err != nil || r.Step == 0 {
			t.Fatalf("%+v: %v", r, err)
		}
		if r.Name == "no predictor" && cfg.Predictor {
			t.Errorf("%s saved with the predictor on", r.ID)
		}
	}
	// Closed for good: no new connections.
	if _, _, err := dialRaw(ts, dialOpt{}); err == nil {
		t.Fatal("dial after shutdown succeeded")
	}
}

// TestPresets: the preset command replaces the runs, create takes a
// preset's first run, and a new probe (another dataset) brings a new
// hello.
func TestPresets(t *testing.T) {
	ts := startServer(t, testOptions(t))
	c := dial(t, ts, dialOpt{})
	old := c.hello.Runs[0].ID
	c.mustOK(proto.Command{Cmd: proto.CmdPreset, Args: proto.Args{Name: "tau"}})
	c.waitFor("the tau preset's runs", 30*time.Second, func() bool {
		_, stillOld := c.run(old)
		return !stillOld && len(c.runs) == 3 && c.runs[0].Knobs.TauSchedule == proto.TauConstant
	})
	if late := dial(t, ts, dialOpt{}); late.hello.Preset != "tau" {
		t.Errorf("hello after the preset command names preset %q", late.hello.Preset)
	}
	r := c.mustOK(proto.Command{Cmd: proto.CmdCreate, Args: proto.Args{Preset: "collapse"}})
	c.waitFor("the created run", 10*time.Second, func() bool {
		x, ok := c.run(r.Run)
		return ok && x.Name == "BYOL" && x.Arch == "tiny"
	})

	// Another dataset: the lab publishes a new probe; clients get a hello
	// that describes it, and no frame of the old probe after it.
	p := *ts.Lab().Probe()
	p.N = 10
	p.Labels = nil
	ts.hub.Publish(lab.ProbeChanged{Probe: &p})
	c.waitFor("a new hello", 10*time.Second, func() bool { return c.hello.ProbeN == 10 })
}

// TestPanickingSink: a panic in the extra sink costs nothing but itself.
func TestPanickingSink(t *testing.T) {
	opt := testOptions(t)
	opt.Lab.Sink = lab.SinkFunc(func(lab.Event) { panic("sink bug") })
	ts := startServer(t, opt)
	c := dial(t, ts, dialOpt{})
	c.waitFor("metrics and snapshots", 30*time.Second, func() bool { return len(c.metrics) == 2 && len(c.snaps) == 2 })
	c.mustOK(proto.Command{Cmd: proto.CmdPause, Run: c.hello.Runs[0].ID})
}
