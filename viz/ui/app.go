package ui

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// App is the whole frontend state. Its methods lock it, so the websocket
// callbacks (HandleText, HandleBinary, SetConn) and the ebiten loop
// (Update, Scene) may call it from different goroutines.
type App struct {
	mu sync.Mutex

	lab     Lab
	view    View
	conn    Conn
	lost    bool // the connection was lost and has not come back yet
	token   string
	measure Measurer

	nextID   uint64
	sent     map[uint64]sentCmd // commands awaiting their reply
	pend     []pendingPatch     // knob changes shown before the server confirms them
	outbox   []proto.Command    // commands the state asked for (the link's preset)
	toasts   []Toast
	askedFor string // the preset this page load asked the server for

	// interaction
	mouseX, mouseY float64
	hoverPanel     int    // index into panels, -1 for none
	hoverPoint     int    // probe image under the mouse, -1 for none
	hoverCloud     string // the cloud of that point: PointOnline or PointTarget
	hoverTip       hoverTip
	thumbs         thumbs
	hoverWidget    string
	drag           *drag
	menu           bool // the preset menu is open
	help           bool
	focus          string               // run the keyboard acts on
	armed          map[string]time.Time // two-click buttons (reset, delete), armed until
	scene          *Scene               // reused from frame to frame
	widgets        []Widget             // of the last scene, for hit tests
	panels         []panelGeom          // of the last scene
	extent         map[string]float64   // smoothed scatter half-extent per run ("" shared)
	lastScene      time.Time
	scale          float64 // device scale factor of the last scene
	fit            int     // panels the last scene had room for (0: not drawn yet)

	frames int
}

// Conn is the state of the websocket, as the footer and top bar show it.
type Conn struct {
	State   ConnState
	Attempt int       // reconnect attempts since the last successful open
	RetryAt time.Time // when the next attempt starts (ConnWaiting)
	Err     string    // why the last connection ended
	Since   time.Time // when State began
}

// ConnState is the websocket's state.
type ConnState int

const (
	ConnConnecting ConnState = iota // opening
	ConnOpen                        // open (data flows after hello)
	ConnWaiting                     // closed, reconnecting at RetryAt
	ConnFatal                       // stopped: the server speaks another protocol version
)

// Toast is a short message at the bottom of the page.
type Toast struct {
	Text  string
	Error bool
	Until time.Time
}

type sentCmd struct {
	cmd  proto.Command
	what string // for the error toast: "fork BYOL"
}

type pendingPatch struct {
	id    uint64
	run   string
	patch proto.KnobsPatch
	until time.Time
}

type drag struct {
	widget string
	run    string
	value  float64
}

// NewApp starts a frontend for the page URL fragment (location.hash). A
// teacher token in the fragment (#token=…) is taken out of it: Fragment
// never includes it.
func NewApp(fragment string) *App {
	tok, rest := TokenFromFragment(fragment)
	return &App{
		view:       ParseView(rest),
		token:      tok,
		measure:    ApproxMeasure,
		nextID:     1,
		sent:       map[uint64]sentCmd{},
		armed:      map[string]time.Time{},
		extent:     map[string]float64{},
		hoverPanel: -1,
		hoverPoint: -1,
	}
}

// SetMeasurer sets the text measure the layout uses (the real font's).
func (a *App) SetMeasurer(m Measurer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.measure = m
}

// SetToken sets the teacher token (e.g. kept in session storage).
func (a *App) SetToken(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if isToken(tok) {
		a.token = tok
	}
}

// Token is the teacher token ("" for none).
func (a *App) Token() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// Fragment is the URL fragment for the current view (without '#').
func (a *App) Fragment() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.view.Encode()
}

// SetFragment replaces the view with the one a URL fragment describes
// (the user edited the address bar, or went back in history). A token in
// it is taken as SetToken would.
func (a *App) SetFragment(fragment string) {
	tok, rest := TokenFromFragment(fragment)
	a.mu.Lock()
	defer a.mu.Unlock()
	if tok != "" {
		a.token = tok
	}
	if rest == a.view.Encode() {
		return
	}
	a.view = ParseView(rest)
	a.askedFor = ""
	if a.lab.Hello {
		a.askPreset(time.Now())
		a.afterRuns(time.Now())
	}
}

// View returns the current view.
func (a *App) View() View {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.view
	v.Runs = slices.Clone(v.Runs)
	v.Hide = slices.Clone(v.Hide)
	return v
}

// SetConn records the websocket's state.
func (a *App) SetConn(c Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.State != a.conn.State {
		switch {
		case c.State == ConnWaiting && a.conn.State == ConnOpen:
			a.lost = true
			a.lab.addEvent(EventLine{At: c.Since, Kind: "connection", Text: "connection to the lab lost: " + c.Err})
		case c.State == ConnOpen && a.lost:
			a.lost = false
			a.lab.addEvent(EventLine{At: c.Since, Kind: "info", Text: "reconnected to the lab"})
		}
	}
	a.conn = c
	if c.State != ConnOpen {
		// Commands in flight will never be answered; their optimistic
		// values would otherwise stay on screen until they expire.
		clear(a.sent)
		a.pend = a.pend[:0]
	}
}

// Conn returns the websocket's state.
func (a *App) Conn() Conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conn
}

// ErrFatal is returned by HandleText when the client must stop: the server
// speaks another protocol version, and only a reload can fix that.
var ErrFatal = errors.New("ui: fatal protocol error")

// HandleText takes one JSON message from the server. Malformed messages are
// reported and skipped; a hello of another protocol version returns an
// error wrapping ErrFatal (and proto.ErrVersion).
func (a *App) HandleText(b []byte, now time.Time) error {
	m, err := proto.Decode(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if errors.Is(err, proto.ErrVersion) {
			a.conn = Conn{State: ConnFatal, Err: err.Error(), Since: now}
			return fmt.Errorf("%w: %w", ErrFatal, err)
		}
		a.toast(now, true, "could not read a message from the server: "+err.Error())
		return err
	}
	switch m := m.(type) {
	case *proto.Hello:
		if m.Probe != a.lab.Probe {
			a.thumbs.reset()
		}
		a.lab.applyHello(m)
		a.afterRuns(now)
		a.askPreset(now)
	case *proto.Runs:
		a.lab.setRuns(m.Runs)
		a.afterRuns(now)
	case *proto.Metrics:
		a.lab.applyMetrics(m)
	case *proto.Event:
		a.applyEvent(m, now)
	case *proto.Reply:
		a.applyReply(m, now)
	}
	return nil
}

// HandleBinary takes one snapshot frame.
func (a *App) HandleBinary(b []byte, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := a.lab.applySnapshot(b, now)
	if err != nil {
		a.toast(now, true, "could not read a snapshot: "+err.Error())
	}
	return err
}

// askPreset asks once per page load for the preset the link names, when
// this client may change the lab and the lab runs another one.
func (a *App) askPreset(now time.Time) {
	want := a.view.Preset
	if want == "" || a.askedFor != "" || want == a.lab.Preset {
		if want != "" && want == a.lab.Preset {
			a.askedFor = want
		}
		return
	}
	a.askedFor = want
	if !slices.Contains(a.lab.Presets, want) {
		a.toast(now, true, fmt.Sprintf("the link asks for the lesson %q, which this lab does not have", want))
		return
	}
	if a.lab.ReadOnly && a.token == "" {
		a.toast(now, false, fmt.Sprintf("the link asks for the lesson %q; the lab shows %q (only the teacher can switch)", want, a.lab.Preset))
		return
	}
	a.outbox = append(a.outbox, a.command(proto.Command{Cmd: proto.CmdPreset, Args: proto.Args{Name: want}}, "load lesson "+want))
}

// afterRuns drops what the new run list made stale.
func (a *App) afterRuns(now time.Time) {
	// Optimistic knob values the server now shows are confirmed.
	a.pend = slices.DeleteFunc(a.pend, func(p pendingPatch) bool {
		r := a.lab.Run(p.run)
		return r == nil || patchApplied(p.patch, r.Info.Knobs)
	})
	// A link or selection whose runs are all gone (another lesson, a
	// restarted server with other ids) falls back to showing the first runs.
	if len(a.view.Runs) > 0 {
		any := false
		for _, id := range a.view.Runs {
			any = any || a.lab.Run(id) != nil
		}
		if !any && len(a.lab.Runs) > 0 {
			a.view.Runs = nil
		}
	}
	if a.view.Preset != "" && a.lab.Preset != "" && a.askedFor != "" {
		a.view.Preset = a.lab.Preset
	}
	if a.view.Label != "" && len(a.lab.Labels) > 0 {
		found := false
		for _, ls := range a.lab.Labels {
			found = found || ls.Name == a.view.Label
		}
		if !found {
			a.view.Label = ""
		}
	}
}

func patchApplied(p proto.KnobsPatch, k proto.Knobs) bool {
	return equalKnobs(p.Apply(k), k)
}

func equalKnobs(x, y proto.Knobs) bool {
	if x.Predictor != y.Predictor || x.TauBase != y.TauBase || x.TauSchedule != y.TauSchedule ||
		x.LR != y.LR || x.Batch != y.Batch || x.PredLRMult != y.PredLRMult || len(x.Augment) != len(y.Augment) {
		return false
	}
	for k, v := range x.Augment {
		if w, ok := y.Augment[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (a *App) applyEvent(e *proto.Event, now time.Time) {
	name := ""
	if e.Run != "" {
		name = a.lab.runName(e.Run)
		if e.Kind == proto.EventReset {
			if r := a.lab.Run(e.Run); r != nil {
				r.resetHistory()
				r.Snap = nil
			}
		}
	}
	a.lab.addEvent(EventLine{At: now, Kind: e.Kind, Run: name, Text: e.Message})
}

func (a *App) applyReply(r *proto.Reply, now time.Time) {
	s, ok := a.sent[r.ID]
	if !ok {
		return
	}
	delete(a.sent, r.ID)
	if !r.OK {
		a.pend = slices.DeleteFunc(a.pend, func(p pendingPatch) bool { return p.id == r.ID })
		msg := s.what + " failed: " + r.Error
		if r.Code == proto.CodeForbidden {
			msg = s.what + ": refused, this page may only watch (read-only); the teacher's link carries a token"
		}
		a.toast(now, true, msg)
		return
	}
	for i := range a.pend {
		if a.pend[i].id == r.ID {
			a.pend[i].until = minTime(a.pend[i].until, now.Add(time.Second))
		}
	}
	if r.Run != "" && (s.cmd.Cmd == proto.CmdFork || s.cmd.Cmd == proto.CmdCreate) {
		a.showRun(r.Run, s.cmd.Run)
	}
}

// showRun adds a new run (a fork) to the panels: beside its parent when
// there is room, else in place of the last panel that is not the parent.
func (a *App) showRun(id, parent string) {
	shown := a.shownIDs()
	if slices.Contains(shown, id) {
		// Shown already (the first runs are shown by default): still
		// write the panels into the link, so it opens with the fork.
		a.view.Runs, a.focus = shown, id
		return
	}
	if len(shown) < MaxPanels {
		shown = append(shown, id)
	} else {
		for i := len(shown) - 1; i >= 0; i-- {
			if shown[i] != parent {
				shown[i] = id
				break
			}
		}
	}
	a.view.Runs = shown
	a.focus = id
}

func minTime(x, y time.Time) time.Time {
	if y.Before(x) {
		return y
	}
	return x
}

func (a *App) toast(now time.Time, isErr bool, text string) {
	d := 4 * time.Second
	if isErr {
		d = 8 * time.Second
	}
	a.toasts = append(a.toasts, Toast{Text: text, Error: isErr, Until: now.Add(d)})
	if len(a.toasts) > 3 {
		a.toasts = a.toasts[len(a.toasts)-3:]
	}
}

// command gives c an id and the token and remembers it for its reply.
func (a *App) command(c proto.Command, what string) proto.Command {
	c.ID = a.nextID
	a.nextID++
	if proto.IsMutating(c.Cmd) {
		c.Token = a.token
	}
	a.sent[c.ID] = sentCmd{cmd: c, what: what}
	return c
}

// shown returns the runs on screen, in panel order.
func (a *App) shown() []*Run {
	var out []*Run
	for _, id := range a.view.Runs {
		if r := a.lab.Run(id); r != nil && len(out) < MaxPanels {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		for _, r := range a.lab.Runs {
			if len(out) == MaxPanels {
				break
			}
			out = append(out, r)
		}
	}
	return out
}

// visibleIDs are the ids of the runs that have a panel on screen: those
// shown, as far as the window had room for.
func (a *App) visibleIDs() []string {
	ids := a.shownIDs()
	if a.fit > 0 && a.fit < len(ids) {
		ids = ids[:a.fit]
	}
	return ids
}

func (a *App) shownIDs() []string {
	var ids []string
	for _, r := range a.shown() {
		ids = append(ids, r.Info.ID)
	}
	return ids
}

// knobs are the run's knobs as the user expects them: the server's, with
// the changes this client sent and the server has not confirmed yet.
func (a *App) knobs(r *Run, now time.Time) proto.Knobs {
	k := r.Info.Knobs
	for _, p := range a.pend {
		if p.run == r.Info.ID && now.Before(p.until) {
			k = p.patch.Apply(k)
		}
	}
	return k
}

// canControl reports whether commands that change the lab may be sent.
func (a *App) canControl() bool { return !a.lab.ReadOnly || a.token != "" }
