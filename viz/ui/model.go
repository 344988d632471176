package ui

import (
	"image/color"
	"math"
	"time"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// Lab is what the server has said: the hello, the runs and their data.
type Lab struct {
	Hello    bool // a hello arrived on this connection or an earlier one
	Server   string
	ReadOnly bool
	Preset   string
	Presets  []string
	ProbeN   int
	Probe    string // names the probe set, for its images' URLs ("": none)
	Labels   []proto.LabelSet
	Palettes [][]color.RGBA // per label set, per class

	Runs   []*Run // in the server's order
	byID   map[string]*Run
	Events []EventLine // newest last, at most maxEvents
}

// Run is one run with its history.
type Run struct {
	Info proto.RunInfo
	// Snap is the latest snapshot (nil before the first); SnapAt when it
	// arrived.
	Snap   *proto.Snapshot
	SnapAt time.Time
	spare  *proto.Snapshot // decoded into, then swapped with Snap

	Last       proto.Metrics // latest metrics
	HasMetrics bool
	Loss, Std  Series
	Rank       Series
	KNN        map[string]*Series // per label set

	Detector        CollapseDetector
	ServerCollapsed bool // the server's detector, from metrics and snapshots

	ext struct { // Extent of Snap, cached
		key extentKey
		v   float64
	}
}

// Collapsed is the badge: the server's detector or ours (the same rule).
func (r *Run) Collapsed() bool { return r.ServerCollapsed || r.Detector.Collapsed }

// Dim is the projection dimension d.
func (r *Run) Dim() int { return r.Info.ProjOut }

// EventLine is an event as the footer shows it.
type EventLine struct {
	At   time.Time
	Kind string
	Run  string // run name ("" for the lab)
	Text string
}

const maxEvents = 50

// Run returns the run with the given id, or nil.
func (l *Lab) Run(id string) *Run {
	return l.byID[id]
}

// applyHello takes a hello: a new connection, maybe to a restarted server.
// Runs that still exist keep their history unless their step went back.
func (l *Lab) applyHello(h *proto.Hello) {
	l.Hello = true
	newProbe := h.Probe != l.Probe
	l.Server, l.ReadOnly, l.Preset, l.ProbeN, l.Probe = h.Server, h.ReadOnly, h.Preset, h.ProbeN, h.Probe
	l.Presets = h.Presets
	l.Labels = h.Labels
	l.Palettes = l.Palettes[:0]
	for _, ls := range h.Labels {
		l.Palettes = append(l.Palettes, Palette(ls.Classes))
	}
	l.setRuns(h.Runs)
	// Snapshots of another probe set cannot be drawn with these labels
	// and pictures.
	for _, r := range l.Runs {
		if r.Snap != nil && (r.Snap.N() != h.ProbeN || newProbe) {
			r.Snap = nil
		}
	}
}

func (l *Lab) setRuns(infos []proto.RunInfo) {
	old := l.byID
	l.byID = make(map[string]*Run, len(infos))
	l.Runs = l.Runs[:0]
	for _, info := range infos {
		r := old[info.ID]
		// A step that went back to less than half means a reset or a
		// restarted server: that history belongs to another network.
		if r == nil || info.Step < r.Info.Step/2 || info.ProjOut != r.Info.ProjOut {
			r = &Run{KNN: map[string]*Series{}}
		}
		r.Info = info
		l.byID[info.ID] = r
		l.Runs = append(l.Runs, r)
	}
}

func (l *Lab) applyMetrics(m *proto.Metrics) {
	r := l.byID[m.Run]
	if r == nil {
		return
	}
	step := float64(m.Step)
	if r.HasMetrics && m.Step < r.Last.Step {
		r.resetHistory()
	}
	r.Last, r.HasMetrics = *m, true
	r.Loss.Add(step, float64(m.Loss))
	r.Std.Add(step, float64(m.Std))
	r.Rank.Add(step, float64(m.Rank))
	for name, acc := range m.KNN {
		s := r.KNN[name]
		if s == nil {
			if len(r.KNN) >= proto.MaxLabelSets {
				continue
			}
			s = &Series{}
			r.KNN[name] = s
		}
		s.Add(step, float64(acc))
	}
	r.ServerCollapsed = m.Collapsed
	r.Detector.Observe(float64(m.Std), r.Dim(), m.Step)
	if m.Step > r.Info.Step {
		r.Info.Step = m.Step
	}
}

func (r *Run) resetHistory() {
	r.Loss.Reset()
	r.Std.Reset()
	r.Rank.Reset()
	for _, s := range r.KNN {
		s.Reset()
	}
	r.Detector.Reset()
	r.ServerCollapsed = false
	r.HasMetrics = false
}

// applySnapshot decodes a binary frame into the run it names. It returns
// false for a run it does not know (a frame that overtook a runs message).
func (l *Lab) applySnapshot(b []byte, now time.Time) (bool, error) {
	id, err := snapshotRun(b)
	if err != nil {
		return false, err
	}
	r := l.byID[id]
	if r == nil {
		return false, nil
	}
	if r.spare == nil {
		r.spare = new(proto.Snapshot)
	}
	if err := r.spare.UnmarshalBinary(b); err != nil {
		return false, err
	}
	if r.spare.N() != l.ProbeN {
		return false, nil
	}
	r.Snap, r.spare = r.spare, r.Snap
	r.SnapAt = now
	r.ServerCollapsed = r.Snap.Flags&proto.FlagCollapsed != 0
	if r.Snap.Step > r.Info.Step {
		r.Info.Step = r.Snap.Step
	}
	return true, nil
}

// snapshotRun reads the run id of a frame without decoding the rest.
func snapshotRun(b []byte) (string, error) {
	if len(b) < 10 {
		return "", errShortFrame
	}
	n := int(b[8]) | int(b[9])<<8
	if n < 1 || len(b) < 10+n {
		return "", errShortFrame
	}
	return string(b[10 : 10+n]), nil
}

type frameError string

func (e frameError) Error() string { return string(e) }

const errShortFrame = frameError("snapshot frame too short")

func (l *Lab) addEvent(e EventLine) {
	if len(l.Events) >= maxEvents {
		copy(l.Events, l.Events[1:])
		l.Events = l.Events[:maxEvents-1]
	}
	l.Events = append(l.Events, e)
}

// runName is the display name of run id, or the id.
func (l *Lab) runName(id string) string {
	if r := l.byID[id]; r != nil {
		return r.Info.Name
	}
	return id
}

// labelSet returns the index of the label set named name, or 0.
func (l *Lab) labelSet(name string) int {
	for i, ls := range l.Labels {
		if ls.Name == name {
			return i
		}
	}
	return 0
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
