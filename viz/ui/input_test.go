package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/viz/proto"
)

func findWidget(t *testing.T, a *App, id string) Widget {
	t.Helper()
	if w := a.widget(id); w != nil {
		return *w
	}
	var ids []string
	for _, w := range a.widgets {
		ids = append(ids, w.ID)
	}
	t.Fatalf("no widget %q among %v", id, ids)
	return Widget{}
}

// click presses the widget's centre in one frame and releases in the next,
// as ebiten reports a click held longer than a frame; it returns the
// commands sent.
func click(t *testing.T, a *App, id string, now time.Time) []proto.Command {
	t.Helper()
	a.Scene(1280, 720, 1, now)
	w := findWidget(t, a, id)
	x, y := w.R.CX(), w.R.CY()
	cmds := a.Update(Input{X: x, Y: y, Down: true, Pressed: true}, now)
	cmds = append(cmds, a.Update(Input{X: x, Y: y, Released: true}, now.Add(50*time.Millisecond))...)
	return cmds
}

func keys(a *App, now time.Time, k ...string) []proto.Command {
	return a.Update(Input{Keys: k}, now)
}

func one(t *testing.T, cmds []proto.Command) proto.Command {
	t.Helper()
	if len(cmds) != 1 {
		t.Fatalf("%d commands, want 1: %+v", len(cmds), cmds)
	}
	if _, err := proto.EncodeCommand(cmds[0]); err != nil {
		t.Fatalf("the command does not encode: %v", err)
	}
	return cmds[0]
}

func TestPredictorToggle(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	c := one(t, click(t, a, "predictor/byol", t0))
	if c.Cmd != proto.CmdSet || c.Run != "byol" || c.Args.Knobs.Predictor == nil || *c.Args.Knobs.Predictor || c.ID == 0 {
		t.Fatalf("command %+v, want set predictor=false on byol", c)
	}
	// Shown as off at once (optimistic), before the server confirms.
	a.Scene(1280, 720, 1, t0)
	if w := findWidget(t, a, "predictor/byol"); w.On || w.Label != "predictor OFF" {
		t.Errorf("button after the click: %+v", w)
	}
	// The server confirms with a run list; the reply comes after.
	runs := nRuns(2)
	runs[0].Knobs.Predictor = false
	a.HandleText(encode(t, proto.Runs{Runs: runs}), t0)
	a.HandleText(encode(t, proto.Reply{ID: c.ID, OK: true}), t0)
	a.Scene(1280, 720, 1, t0.Add(10*time.Second))
	if w := findWidget(t, a, "predictor/byol"); w.On {
		t.Errorf("after confirmation the button should stay off: %+v", w)
	}
	// The key p toggles it back for the run under the mouse.
	a.focus = "byol"
	c = one(t, keys(a, t0.Add(11*time.Second), "p"))
	if *c.Args.Knobs.Predictor != true {
		t.Errorf("p should switch the predictor back on: %+v", c)
	}
}

func TestRefusedCommandRollsBack(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	c := one(t, click(t, a, "predictor/byol", t0))
	a.HandleText(encode(t, proto.Reply{ID: c.ID, Code: proto.CodeRateLimited, Error: "too many commands"}), t0)
	a.Scene(1280, 720, 1, t0)
	if w := findWidget(t, a, "predictor/byol"); !w.On {
		t.Errorf("a refused change must not stay on screen: %+v", w)
	}
	if len(a.toasts) == 0 || !strings.Contains(a.toasts[len(a.toasts)-1].Text, "too many commands") {
		t.Errorf("the refusal should be shown: %+v", a.toasts)
	}
}

func TestTauSlider(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	a.Scene(1280, 720, 1, t0)
	w := findWidget(t, a, "tau/byol")
	tr := w.track
	// Press at 25 % of the track, drag to 50 %, release: one set τ = 0.5.
	if cmds := a.Update(Input{X: tr.X + tr.W/4, Y: tr.CY(), Down: true, Pressed: true}, t0); len(cmds) != 0 {
		t.Fatalf("a press should not send yet: %+v", cmds)
	}
	if cmds := a.Update(Input{X: tr.X + tr.W/2, Y: tr.CY() + 30, Down: true}, t0); len(cmds) != 0 {
		t.Fatalf("dragging should not send: %+v", cmds)
	}
	a.Scene(1280, 720, 1, t0)
	if got := findWidget(t, a, "tau/byol").Value; got != 0.5 {
		t.Errorf("the slider shows %g while dragging, want 0.5", got)
	}
	c := one(t, a.Update(Input{X: tr.X + tr.W/2, Y: tr.CY(), Released: true}, t0))
	if c.Cmd != proto.CmdSet || c.Args.Knobs.TauBase == nil || *c.Args.Knobs.TauBase != 0.5 {
		t.Errorf("release sent %+v, want set tau_base 0.5", c)
	}
	// Past the end: clamped to 1.
	a.Scene(1280, 720, 1, t0)
	a.Update(Input{X: tr.X + tr.W/2, Y: tr.CY(), Down: true, Pressed: true}, t0)
	c = one(t, a.Update(Input{X: tr.Right() + 500, Y: tr.CY(), Released: true}, t0))
	if *c.Args.Knobs.TauBase != 1 {
		t.Errorf("τ beyond the track = %g, want 1", *c.Args.Knobs.TauBase)
	}
	// Keys: ] adds 0.01 to the shown value.
	a.focus = "no-pred"
	c = one(t, keys(a, t0, "]"))
	if c.Run != "no-pred" || *c.Args.Knobs.TauBase != 1 {
		// 0.99 + 0.01
		t.Errorf("] sent %+v τ %g", c, *c.Args.Knobs.TauBase)
	}
}

func TestKnobButtons(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	c := one(t, click(t, a, "cosine/byol", t0))
	if *c.Args.Knobs.TauSchedule != proto.TauConstant {
		t.Errorf("cosine → constant: %+v", c)
	}
	c = one(t, click(t, a, "lrup/byol", t0))
	if *c.Args.Knobs.LR != 0.005 {
		t.Errorf("lr 0.002 up = %g, want 0.005", *c.Args.Knobs.LR)
	}
	c = one(t, click(t, a, "lrdown/no-pred", t0))
	if *c.Args.Knobs.LR != 0.001 {
		t.Errorf("lr 0.002 down = %g, want 0.001", *c.Args.Knobs.LR)
	}
	c = one(t, click(t, a, "aug/byol/jitter", t0))
	if on, ok := c.Args.Knobs.Augment["jitter"]; !ok || on || len(c.Args.Knobs.Augment) != 1 {
		t.Errorf("jitter toggle sent %+v", c.Args.Knobs.Augment)
	}
	c = one(t, click(t, a, "pause/byol", t0))
	if c.Cmd != proto.CmdPause || c.Run != "byol" {
		t.Errorf("pause: %+v", c)
	}
	c = one(t, click(t, a, "step/byol", t0))
	if c.Cmd != proto.CmdStep || c.Args.N != StepN {
		t.Errorf("step: %+v", c)
	}
	c = one(t, click(t, a, "fork/byol", t0))
	if c.Cmd != proto.CmdFork || c.Args.Name != "BYOL (fork)" || !c.Args.Knobs.IsEmpty() {
		t.Errorf("fork: %+v", c)
	}
	// F forks with the predictor flipped, and the new run gets a panel.
	a.focus = "byol"
	c = one(t, keys(a, t0, "F"))
	if c.Cmd != proto.CmdFork || c.Args.Knobs.Predictor == nil || *c.Args.Knobs.Predictor || !strings.Contains(c.Args.Name, "predictor off") {
		t.Errorf("F: %+v", c)
	}
	runs := append(nRuns(2), testRun("byol-2", "BYOL (fork, predictor off)", false))
	a.HandleText(encode(t, proto.Runs{Runs: runs}), t0)
	a.HandleText(encode(t, proto.Reply{ID: c.ID, OK: true, Run: "byol-2"}), t0)
	if v := a.View(); len(v.Runs) != 3 || v.Runs[2] != "byol-2" {
		t.Errorf("the fork should be shown beside its parent: %q", v.Runs)
	}
	if !strings.Contains(a.Fragment(), "runs=byol,no-pred,byol-2") {
		t.Errorf("and the link should say so: %q", a.Fragment())
	}
}

func TestLRStep(t *testing.T) {
	for _, c := range []struct {
		lr   float64
		dir  int
		want float64
		ok   bool
	}{{0.002, 1, 0.005, true}, {0.003, 1, 0.005, true}, {0.003, -1, 0.002, true}, {10, 1, 0, false}, {1e-6, -1, 0, false}, {5, 1, 10, true}} {
		got, ok := LRStep(c.lr, c.dir)
		if got != c.want || ok != c.ok {
			t.Errorf("LRStep(%g, %d) = %g %v, want %g %v", c.lr, c.dir, got, ok, c.want, c.ok)
		}
	}
}

func TestResetNeedsTwoClicks(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	if cmds := click(t, a, "reset/byol", t0); len(cmds) != 0 {
		t.Fatalf("the first click should only arm: %+v", cmds)
	}
	a.Scene(1280, 720, 1, t0)
	if w := findWidget(t, a, "reset/byol"); !strings.Contains(w.Label, "again") {
		t.Errorf("armed label %q", w.Label)
	}
	c := one(t, click(t, a, "reset/byol", t0.Add(time.Second)))
	if c.Cmd != proto.CmdReset {
		t.Errorf("second click: %+v", c)
	}
	// Too slow: the arm expires.
	click(t, a, "reset/byol", t0.Add(10*time.Second))
	if cmds := click(t, a, "reset/byol", t0.Add(14*time.Second)); len(cmds) != 0 {
		t.Errorf("a second click after 4 s should arm again, not reset: %+v", cmds)
	}
}

func TestReadOnly(t *testing.T) {
	runs := nRuns(2)
	a := NewApp("")
	a.SetConn(Conn{State: ConnOpen})
	h := testHello(runs...)
	h.ReadOnly = true
	a.HandleText(encode(t, h), t0)
	a.Scene(1280, 720, 1, t0)
	if w := findWidget(t, a, "predictor/byol"); w.Enabled {
		t.Error("controls must be disabled in read-only mode")
	}
	if cmds := keys(a, t0, "p", " ", "f"); len(cmds) != 0 {
		t.Errorf("read-only keys sent %+v", cmds)
	}
	if len(a.toasts) == 0 || !strings.Contains(a.toasts[0].Text, "read-only") {
		t.Errorf("and it should say why: %+v", a.toasts)
	}
	// View keys still work.
	keys(a, t0, "l", "k")
	if v := a.View(); v.Label != "colour" || !v.Links {
		t.Errorf("view options in read-only mode: %+v", v)
	}
	// With the teacher's token the same page controls, and says so.
	b := NewApp("#token=t0ken")
	b.SetConn(Conn{State: ConnOpen})
	b.HandleText(encode(t, h), t0)
	c := one(t, click(t, b, "predictor/byol", t0))
	if c.Token != "t0ken" {
		t.Errorf("the command should carry the token: %+v", c)
	}
}

func TestNotConnected(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	a.Scene(1280, 720, 1, t0)
	a.SetConn(Conn{State: ConnWaiting, Attempt: 2, RetryAt: t0.Add(3 * time.Second), Err: "no answer", Since: t0})
	if cmds := keys(a, t0, "p"); len(cmds) != 0 {
		t.Errorf("commands while disconnected: %+v", cmds)
	}
	sc := a.Scene(1280, 720, 1, t0)
	if !sceneHas(sc, "Reconnecting in 3 s (attempt 3)") || !sceneHas(sc, "offline") {
		t.Error("the page should say it is reconnecting")
	}
	// The last data stays on screen.
	if len(a.Debug().Panels) != 2 || !a.Debug().Data {
		t.Error("the panels should keep the last data while offline")
	}
	// Back: a hello on the new connection, the view unchanged.
	keys(a, t0, "l")
	frag := a.Fragment()
	a.SetConn(Conn{State: ConnOpen, Since: t0})
	a.HandleText(encode(t, testHello(nRuns(2)...)), t0)
	if a.Fragment() != frag {
		t.Errorf("the view changed across the reconnection: %q → %q", frag, a.Fragment())
	}
	if e := a.lab.Events[len(a.lab.Events)-1]; !strings.Contains(e.Text, "reconnected") {
		t.Errorf("last event %+v", e)
	}
}

func TestPresetFromLink(t *testing.T) {
	// The link asks for "tau"; the lab runs "collapse": one preset command,
	// once, even after a reconnection.
	a := NewApp("#preset=tau")
	a.SetConn(Conn{State: ConnOpen})
	a.HandleText(encode(t, testHello(nRuns(2)...)), t0)
	c := one(t, a.Update(Input{}, t0))
	if c.Cmd != proto.CmdPreset || c.Args.Name != "tau" {
		t.Fatalf("%+v", c)
	}
	a.HandleText(encode(t, testHello(nRuns(2)...)), t0)
	if cmds := a.Update(Input{}, t0); len(cmds) != 0 {
		t.Errorf("asked twice: %+v", cmds)
	}
	// Read-only: it does not ask, it says.
	b := NewApp("#preset=tau")
	b.SetConn(Conn{State: ConnOpen})
	h := testHello(nRuns(2)...)
	h.ReadOnly = true
	b.HandleText(encode(t, h), t0)
	if cmds := b.Update(Input{}, t0); len(cmds) != 0 {
		t.Errorf("a read-only page asked for a preset: %+v", cmds)
	}
	if len(b.toasts) == 0 {
		t.Error("it should say that the link asked for another lesson")
	}
}

func TestPresetMenu(t *testing.T) {
	a := connected(t, "#runs=no-pred", nRuns(2)...)
	click(t, a, "preset", t0)
	a.Scene(1280, 720, 1, t0)
	c := one(t, click(t, a, "preset/tau", t0))
	if c.Cmd != proto.CmdPreset || c.Args.Name != "tau" {
		t.Errorf("%+v", c)
	}
	if v := a.View(); len(v.Runs) != 0 || v.Preset != "tau" {
		t.Errorf("after loading a lesson the view should show its runs: %+v", v)
	}
}

func TestViewToggles(t *testing.T) {
	a := connected(t, "", nRuns(3)...)
	click(t, a, "label/colour", t0)
	click(t, a, "links", t0)
	click(t, a, "cloud", t0)
	click(t, a, "zoom", t0)
	click(t, a, "run/no-pred", t0) // hide the second panel
	want := "runs=byol,r2&label=colour&links=1&cloud=pred&zoom=panel"
	if got := a.Fragment(); got != want {
		t.Errorf("fragment %q, want %q", got, want)
	}
	a.Scene(1280, 720, 1, t0)
	if n := len(a.Debug().Panels); n != 2 {
		t.Errorf("%d panels after hiding one, want 2", n)
	}
	// Back to the first label set: the default stays out of the link.
	keys(a, t0, "l")
	if strings.Contains(a.Fragment(), "label") {
		t.Errorf("fragment %q", a.Fragment())
	}
	// A link from the address bar replaces the view.
	a.SetFragment("#zoom=fixed&token=abc")
	if a.Fragment() != "zoom=fixed" || a.Token() != "abc" {
		t.Errorf("SetFragment: %q token %q", a.Fragment(), a.Token())
	}
}

func TestHelpOverlay(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	keys(a, t0, "?")
	sc := a.Scene(1280, 720, 1, t0)
	if !sceneHas(sc, "What you see") || !sceneHas(sc, "predictor on / off") {
		t.Error("help overlay missing")
	}
	// A click anywhere closes it and does nothing else.
	w := findWidget(t, a, "predictor/byol")
	if cmds := a.Update(Input{X: w.R.CX(), Y: w.R.CY(), Down: true, Pressed: true}, t0); len(cmds) != 0 || a.Debug().Help {
		t.Errorf("a click on the overlay: %+v, help %v", cmds, a.Debug().Help)
	}
}

func TestHover(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	a.Scene(1280, 720, 1, t0)
	g := a.panels[0]
	// Probe image 3 of the test snapshot sits at angle 2π·3/10, radius 0.4.
	x, y := g.toPx(g.online[6], g.online[7])
	a.Update(Input{X: x + 1, Y: y}, t0)
	if a.hoverPoint%10 != 3 {
		t.Fatalf("hover found image %d, want one of class 3", a.hoverPoint)
	}
	sc := a.Scene(1280, 720, 1, t0)
	if !sceneHas(sc, "shape: cross") || !sceneHas(sc, "probe image #") {
		t.Error("the tooltip should name the image's labels")
	}
	// Far from any point: nothing.
	a.Update(Input{X: g.plot.X + 2, Y: g.plot.Y + 2}, t0)
	if a.hoverPoint != -1 {
		t.Errorf("hover far from the points found %d", a.hoverPoint)
	}
}
