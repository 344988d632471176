package ui

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// Input is one frame of mouse and keyboard, in device pixels. The
// renderer reads it from ebiten; tests write it by hand.
type Input struct {
	X, Y     float64 // cursor
	Down     bool    // left button held
	Pressed  bool    // left button went down this frame
	Released bool    // left button went up this frame
	// Keys are the keys pressed this frame: typed characters as themselves
	// ("p", "?", " ", "["), other keys by name ("Escape", "Tab", "Delete").
	Keys []string
}

// Widget is something on screen that reacts to a click.
type Widget struct {
	ID      string // stable, e.g. "predictor/byol", "aug/byol/crop", "preset"
	R       Rect
	Act     Action
	Enabled bool
	On      bool   // a toggle's state (true: on, checked, selected)
	Label   string // the text on it
	Tip     string // what it does, shown on hover
	// Slider widgets set a value in [Lo, Hi] from the cursor's x while the
	// button is held, and act on release.
	Slider        bool
	Lo, Hi, Value float64
	track         Rect
	small         bool // drawn in the smaller font of the panel controls
}

// ActionKind says what an Action does.
type ActionKind uint8

const (
	ActNone        ActionKind = iota
	ActPredictor              // toggle the run's predictor
	ActTau                    // set τ to Value
	ActCosine                 // toggle the cosine τ schedule
	ActLRDown                 // lr one step down the 1-2-5 ladder
	ActLRUp                   // lr one step up
	ActAugment                // toggle augmentation Arg
	ActPauseResume            // pause a running run, resume a paused one
	ActStep                   // 10 steps, then pause
	ActReset                  // back to step 0 (second click within 3 s)
	ActFork                   // fork; Value 1 flips the predictor of the copy
	ActDelete                 // delete the run (second click within 3 s)
	ActMenu                   // open or close the lesson menu
	ActPreset                 // load preset Arg
	ActLabel                  // colour points by label set Arg ("" for the next)
	ActLinks                  // toggle the online–target lines
	ActCloud                  // toggle which online output is drawn
	ActZoom                   // next zoom mode
	ActHelp                   // toggle the help overlay
	ActShowRun                // show or hide run Arg in the panels
)

// Action is what a click or key does. Run is the run it acts on.
type Action struct {
	Kind  ActionKind
	Run   string
	Arg   string
	Value float64
}

// StepN is how many steps the step button does.
const StepN = 10

// armTime is how long a two-click button waits for its second click.
const armTime = 3 * time.Second

// Update applies one frame of input and returns the commands to send, in
// order (including any the state asked for since the last frame).
func (a *App) Update(in Input, now time.Time) []proto.Command {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.outbox
	a.outbox = nil
	a.expire(now)

	a.mouseX, a.mouseY = in.X, in.Y
	a.hoverWidget = ""
	if w := a.widgetAt(in.X, in.Y); w != nil {
		a.hoverWidget = w.ID
	}
	a.hoverPanel, a.hoverPoint, a.hoverCloud = a.pointAt(in.X, in.Y)
	if a.hoverPanel >= 0 && !a.help {
		a.focus = a.panels[a.hoverPanel].run
	}

	if a.drag != nil {
		if w := a.widget(a.drag.widget); w != nil {
			a.drag.value = w.sliderValue(in.X)
		}
		if in.Released || !in.Down {
			d := a.drag
			a.drag = nil
			out = append(out, a.do(Action{Kind: ActTau, Run: d.run, Value: d.value}, now)...)
		}
	}
	if in.Pressed {
		out = append(out, a.click(in.X, in.Y, now)...)
	}
	for _, k := range in.Keys {
		out = append(out, a.key(k, now)...)
	}
	return out
}

func (a *App) click(x, y float64, now time.Time) []proto.Command {
	if a.help {
		a.help = false
		return nil
	}
	w := a.widgetAt(x, y)
	if a.menu && (w == nil || (w.Act.Kind != ActPreset && w.Act.Kind != ActMenu)) {
		a.menu = false
		return nil
	}
	if w == nil || !w.Enabled {
		return nil
	}
	if w.Slider {
		a.drag = &drag{widget: w.ID, run: w.Act.Run, value: w.sliderValue(x)}
		return nil
	}
	return a.do(w.Act, now)
}

// Keys, for the help overlay: key, what it does.
var Shortcuts = [][2]string{
	{"?  or  h", "show or hide this help"},
	{"space", "pause / resume the run under the mouse"},
	{"s", fmt.Sprintf("do %d steps, then pause", StepN)},
	{"p", "predictor on / off"},
	{"[  ]", "τ (target EMA rate) −/+ 0.01;  {  } by 0.001"},
	{"c", "τ schedule: cosine (τ → 1) or constant"},
	{"−  +", "learning rate down / up"},
	{"f", "fork: copy the run (weights and all) into a new one"},
	{"F", "fork with the predictor flipped"},
	{"r r", "reset the run to step 0 (press twice)"},
	{"Del Del", "delete the run (press twice)"},
	{"l", "colour the points by the next label set"},
	{"k", "lines from each online point to its target point"},
	{"o", "online points: projection z or prediction q(z)"},
	{"z", "zoom: shared scale / each panel / fixed ±1"},
	{"1 … 4,  Tab", "choose the run the keys act on"},
	{"Esc", "close menus and this help"},
}

func (a *App) key(k string, now time.Time) []proto.Command {
	run := a.focusRun()
	act := Action{Run: run}
	switch k {
	case "?", "h":
		a.help = !a.help
		return nil
	case "Escape":
		a.help, a.menu = false, false
		return nil
	case "1", "2", "3", "4":
		if ids := a.visibleIDs(); int(k[0]-'1') < len(ids) {
			a.focus = ids[k[0]-'1']
		}
		return nil
	case "Tab":
		ids := a.visibleIDs()
		if len(ids) > 0 {
			i := slices.Index(ids, run)
			a.focus = ids[(i+1)%len(ids)]
		}
		return nil
	case " ":
		act.Kind = ActPauseResume
	case "s":
		act.Kind = ActStep
	case "p":
		act.Kind = ActPredictor
	case "c":
		act.Kind = ActCosine
	case "[", "]", "{", "}":
		r := a.lab.Run(run)
		if r == nil {
			return nil
		}
		d := map[string]float64{"[": -0.01, "]": 0.01, "{": -0.001, "}": 0.001}[k]
		act.Kind, act.Value = ActTau, math.Round((a.knobs(r, now).TauBase+d)*1e4)/1e4
	case "-", "−", "_":
		act.Kind = ActLRDown
	case "+", "=":
		act.Kind = ActLRUp
	case "f":
		act.Kind = ActFork
	case "F":
		act.Kind, act.Value = ActFork, 1
	case "r":
		act.Kind = ActReset
	case "Delete":
		act.Kind = ActDelete
	case "l":
		act.Kind = ActLabel
	case "k":
		act.Kind = ActLinks
	case "o":
		act.Kind = ActCloud
	case "z":
		act.Kind = ActZoom
	default:
		return nil
	}
	return a.do(act, now)
}

// focusRun is the run keys act on: the one under the mouse, else the last
// one chosen, else the first panel.
func (a *App) focusRun() string {
	ids := a.visibleIDs()
	if slices.Contains(ids, a.focus) {
		return a.focus
	}
	if len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// do performs an action and returns the commands it sends.
func (a *App) do(act Action, now time.Time) []proto.Command {
	switch act.Kind {
	case ActMenu:
		a.menu = !a.menu
		return nil
	case ActLabel:
		a.menu = false
		if act.Arg == "" && len(a.lab.Labels) > 0 {
			i := a.lab.labelSet(a.view.Label)
			if a.view.Label == "" {
				i = 0
			}
			act.Arg = a.lab.Labels[(i+1)%len(a.lab.Labels)].Name
		}
		a.view.Label = act.Arg
		if len(a.lab.Labels) > 0 && act.Arg == a.lab.Labels[0].Name {
			a.view.Label = "" // the default stays out of the link
		}
		return nil
	case ActLinks:
		a.view.Links = !a.view.Links
		return nil
	case ActCloud:
		if a.view.Cloud == CloudPred {
			a.view.Cloud = CloudProj
		} else {
			a.view.Cloud = CloudPred
		}
		return nil
	case ActZoom:
		modes := []string{ZoomShared, ZoomPanel, ZoomFixed}
		a.view.Zoom = modes[(slices.Index(modes, a.view.Zoom)+1)%len(modes)]
		return nil
	case ActHelp:
		a.help = !a.help
		return nil
	case ActShowRun:
		a.toggleShown(act.Arg)
		return nil
	}

	// Everything below changes the lab.
	if !a.canControl() {
		a.toast(now, true, "read-only: this page may only watch. The teacher's link (with #token=…) can change the runs.")
		return nil
	}
	if a.conn.State != ConnOpen || !a.lab.Hello {
		a.toast(now, true, "not connected to the lab: the change was not sent")
		return nil
	}
	if act.Kind == ActPreset {
		a.menu = false
		if !slices.Contains(a.lab.Presets, act.Arg) {
			return nil
		}
		a.view.Preset = act.Arg
		a.askedFor = act.Arg
		a.view.Runs = nil // the lesson brings its own runs
		return []proto.Command{a.command(proto.Command{Cmd: proto.CmdPreset, Args: proto.Args{Name: act.Arg}}, "load lesson "+act.Arg)}
	}
	r := a.lab.Run(act.Run)
	if r == nil {
		return nil
	}
	name := r.Info.Name
	k := a.knobs(r, now)
	switch act.Kind {
	case ActPredictor:
		v := !k.Predictor
		return a.set(r, proto.KnobsPatch{Predictor: &v}, now, "predictor "+onOff(v)+" for "+name)
	case ActTau:
		v := clamp(act.Value, proto.MinTauBase, proto.MaxTauBase)
		if math.IsNaN(v) || v == k.TauBase {
			return nil
		}
		return a.set(r, proto.KnobsPatch{TauBase: &v}, now, fmt.Sprintf("τ = %g for %s", v, name))
	case ActCosine:
		v := proto.TauCosine
		if k.TauSchedule == proto.TauCosine {
			v = proto.TauConstant
		}
		return a.set(r, proto.KnobsPatch{TauSchedule: &v}, now, "τ schedule "+v+" for "+name)
	case ActLRDown, ActLRUp:
		dir := 1
		if act.Kind == ActLRDown {
			dir = -1
		}
		v, ok := LRStep(k.LR, dir)
		if !ok {
			return nil
		}
		return a.set(r, proto.KnobsPatch{LR: &v}, now, fmt.Sprintf("lr = %g for %s", v, name))
	case ActAugment:
		if !proto.IsAugmentName(act.Arg) {
			return nil
		}
		return a.set(r, proto.KnobsPatch{Augment: map[string]bool{act.Arg: !k.Augment[act.Arg]}}, now,
			act.Arg+" "+onOff(!k.Augment[act.Arg])+" for "+name)
	case ActPauseResume:
		switch r.Info.State {
		case proto.StateRunning:
			return a.runCmd(proto.CmdPause, r, "pause "+name)
		case proto.StatePaused:
			return a.runCmd(proto.CmdResume, r, "resume "+name)
		default:
			a.toast(now, true, name+" diverged (NaN): reset it to train again")
		}
	case ActStep:
		c := a.command(proto.Command{Cmd: proto.CmdStep, Run: r.Info.ID, Args: proto.Args{N: StepN}}, "step "+name)
		return []proto.Command{c}
	case ActReset, ActDelete:
		id := armID(act.Kind, r.Info.ID)
		if until, ok := a.armed[id]; !ok || !now.Before(until) {
			a.armed[id] = now.Add(armTime)
			verb := map[ActionKind]string{ActReset: "reset", ActDelete: "delete"}[act.Kind]
			a.toast(now, false, fmt.Sprintf("%s %s? Click again (or press the key again) within 3 s.", verb, name))
			return nil
		}
		delete(a.armed, id)
		if act.Kind == ActReset {
			return a.runCmd(proto.CmdReset, r, "reset "+name)
		}
		return a.runCmd(proto.CmdDelete, r, "delete "+name)
	case ActFork:
		args := proto.Args{Name: forkName(name, act.Value == 1, k.Predictor)}
		if act.Value == 1 {
			v := !k.Predictor
			args.Knobs.Predictor = &v
		}
		c := a.command(proto.Command{Cmd: proto.CmdFork, Run: r.Info.ID, Args: args}, "fork "+name)
		return []proto.Command{c}
	}
	return nil
}

func armID(k ActionKind, run string) string {
	if k == ActReset {
		return "reset/" + run
	}
	return "delete/" + run
}

func (a *App) set(r *Run, p proto.KnobsPatch, now time.Time, what string) []proto.Command {
	c := a.command(proto.Command{Cmd: proto.CmdSet, Run: r.Info.ID, Args: proto.Args{Knobs: p}}, what)
	a.pend = append(a.pend, pendingPatch{id: c.ID, run: r.Info.ID, patch: p, until: now.Add(3 * time.Second)})
	return []proto.Command{c}
}

func (a *App) runCmd(cmd string, r *Run, what string) []proto.Command {
	return []proto.Command{a.command(proto.Command{Cmd: cmd, Run: r.Info.ID}, what)}
}

func (a *App) toggleShown(id string) {
	if a.lab.Run(id) == nil {
		return
	}
	shown := a.shownIDs()
	if i := slices.Index(shown, id); i >= 0 {
		if len(shown) == 1 {
			return // keep at least one panel
		}
		shown = slices.Delete(shown, i, i+1)
	} else {
		if len(shown) >= MaxPanels {
			shown = shown[:MaxPanels-1]
		}
		shown = append(shown, id)
	}
	// Panels follow the server's run order, which is stable.
	var ordered []string
	for _, r := range a.lab.Runs {
		if slices.Contains(shown, r.Info.ID) {
			ordered = append(ordered, r.Info.ID)
		}
	}
	a.view.Runs = ordered
}

// expire drops toasts, armed buttons and optimistic values past their time.
func (a *App) expire(now time.Time) {
	a.toasts = slices.DeleteFunc(a.toasts, func(t Toast) bool { return !now.Before(t.Until) })
	for id, until := range a.armed {
		if !now.Before(until) {
			delete(a.armed, id)
		}
	}
	a.pend = slices.DeleteFunc(a.pend, func(p pendingPatch) bool { return !now.Before(p.until) })
}

func (a *App) widgetAt(x, y float64) *Widget {
	// Last drawn is on top (menus).
	for i := len(a.widgets) - 1; i >= 0; i-- {
		if a.widgets[i].R.Contains(x, y) {
			return &a.widgets[i]
		}
	}
	return nil
}

func (a *App) widget(id string) *Widget {
	for i := range a.widgets {
		if a.widgets[i].ID == id {
			return &a.widgets[i]
		}
	}
	return nil
}

func (w *Widget) sliderValue(x float64) float64 {
	t := w.track
	if t.W <= 0 {
		t = w.R
	}
	v := Linear{t.X, t.Right(), w.Lo, w.Hi}.Map(x)
	v = clamp(v, w.Lo, w.Hi)
	return math.Round(v*1000) / 1000
}

// LRStep moves lr one step along 1, 2, 5 × 10^k within the protocol's
// range; ok is false at the end of the range.
func LRStep(lr float64, dir int) (float64, bool) {
	var ladder []float64
	for e := -6; e <= 1; e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, float64(e)); v <= proto.MaxLR {
				ladder = append(ladder, v)
			}
		}
	}
	if dir > 0 {
		for _, v := range ladder {
			if v > lr*(1+1e-9) {
				return v, true
			}
		}
		return 0, false
	}
	for i := len(ladder) - 1; i >= 0; i-- {
		if ladder[i] < lr*(1-1e-9) {
			return ladder[i], true
		}
	}
	return 0, false
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// forkName names a fork after its parent, within the protocol's 64 runes.
func forkName(parent string, flip, predictor bool) string {
	suffix := " (fork)"
	if flip {
		suffix = " (fork, predictor " + onOff(!predictor) + ")"
	}
	r := []rune(parent)
	if keep := proto.MaxNameLen - len([]rune(suffix)); len(r) > keep {
		r = r[:keep]
	}
	return string(r) + suffix
}
