package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Message types: the "type" field of every server → client JSON message.
const (
	TypeHello   = "hello"
	TypeMetrics = "metrics"
	TypeEvent   = "event"
	TypeRuns    = "runs"
	TypeReply   = "reply"
)

// Message is a server → client JSON message: *Hello, *Metrics, *Event,
// *Runs or *Reply (Decode returns pointers; Encode takes values or
// pointers).
type Message interface {
	// MessageType is the value of the message's "type" field.
	MessageType() string
	// Validate reports the first field that breaks the protocol.
	Validate() error
}

func (Hello) MessageType() string   { return TypeHello }
func (Metrics) MessageType() string { return TypeMetrics }
func (Event) MessageType() string   { return TypeEvent }
func (Runs) MessageType() string    { return TypeRuns }
func (Reply) MessageType() string   { return TypeReply }

// Run states.
const (
	StateRunning  = "running"
	StatePaused   = "paused"
	StateDiverged = "diverged" // paused by the server after a NaN/Inf; reset or delete it
)

// Hello is the first message on every connection. A client must check
// Version (Decode does) before reading anything else.
type Hello struct {
	// Version is the protocol version, Version.
	Version int `json:"version"`
	// Server names the server and its version, e.g. "byol-lab 0.3.0".
	Server string `json:"server"`
	// ReadOnly is true when this client may only watch: mutating commands
	// (all but ping) are refused with CodeForbidden unless they carry the
	// teacher token.
	ReadOnly bool `json:"read_only"`
	// Preset is the preset the runs were loaded from ("" if none).
	Preset string `json:"preset,omitempty"`
	// Runs are the runs now, as in a Runs message.
	Runs []RunInfo `json:"runs"`
	// ProbeN is the number of probe images: every snapshot has ProbeN
	// points, point i being probe image i.
	ProbeN int `json:"probe_n"`
	// Probe names the probe set (an id; "" when the server serves no
	// images): probe image i is at ProbeImagePath(Probe, i), a PNG. It
	// changes whenever the images do. Optional, so older clients ignore it.
	Probe string `json:"probe,omitempty"`
	// Labels are the label sets of the probe images (e.g. "shape" and
	// "colour" for the shapes dataset), to colour the points by.
	Labels []LabelSet `json:"labels"`
	// Presets are the names the preset and create commands accept.
	Presets []string `json:"presets"`
	// SnapshotHz is the most snapshots per second the server sends per run.
	SnapshotHz float64 `json:"snapshot_hz"`
}

// LabelSet is one labelling of the probe images.
type LabelSet struct {
	// Name is an id (e.g. "shape"); Metrics.KNN is keyed by it.
	Name string `json:"name"`
	// Classes are the class names; Y indexes them.
	Classes []string `json:"classes"`
	// Y has one entry per probe image: the class index, or -1 if the image
	// has no label in this set.
	Y []int32 `json:"y"`
}

// RunInfo describes one run.
type RunInfo struct {
	// ID is the run's id (see the README for the characters allowed);
	// commands and snapshots name runs by it.
	ID string `json:"id"`
	// Name is the display name.
	Name string `json:"name"`
	// State is StateRunning, StatePaused or StateDiverged.
	State string `json:"state"`
	// Step is the number of training steps done.
	Step uint64 `json:"step"`
	// Parent is the id of the run this one was forked from, if any. The
	// parent may since have been deleted.
	Parent string `json:"parent,omitempty"`
	// Knobs are the live settings.
	Knobs Knobs `json:"knobs"`
	// Arch, Dataset and ProjOut are fixed for the life of the run: the
	// encoder architecture, the dataset and the projection dimension d.
	Arch    string `json:"arch"`
	Dataset string `json:"dataset"`
	ProjOut int    `json:"proj_out"`
	// Config is the run's full configuration as a JSON object, for display
	// only (optional; its schema is the server's, not the protocol's).
	Config json.RawMessage `json:"config,omitempty"`
}

// Metrics are the training metrics of one run at one step. Floats are
// Float because a diverging run reports NaN and Inf.
type Metrics struct {
	Run  string `json:"run"`
	Step uint64 `json:"step"`
	// Time is when the step ended, in Unix milliseconds.
	Time int64 `json:"time"`
	// Loss is the symmetrised BYOL loss L + L̃ of the step, in [0, 8].
	Loss Float `json:"loss"`
	// LR is the learning rate of the step after schedule and batch scaling.
	LR Float `json:"lr"`
	// Tau is the EMA rate τ used after the step.
	Tau Float `json:"tau"`
	// ImgsPerS is the training throughput, images per second.
	ImgsPerS Float `json:"imgs_per_s"`
	// Std is the mean per-dimension std of the ℓ2-normalised online
	// projections of the probe set: about 1/√d when healthy, → 0 on collapse.
	Std Float `json:"std"`
	// Rank is the effective rank of those projections (RankMe), in [1, d].
	Rank Float `json:"rank"`
	// KNN is kNN top-1 accuracy in [0, 1] per label set, when evaluated.
	KNN map[string]Float `json:"knn,omitempty"`
	// MeanCos is the mean cosine similarity of online prediction and target
	// projection over the batch, in [-1, 1].
	MeanCos Float `json:"mean_cos"`
	// Collapsed is the server's collapse detector.
	Collapsed bool `json:"collapsed"`
}

// Event kinds.
const (
	EventCollapse  = "collapse"  // the collapse detector fired
	EventRecovered = "recovered" // it stopped firing
	EventNaN       = "nan"       // NaN/Inf in training: the run is now diverged and paused
	EventPaused    = "paused"
	EventResumed   = "resumed"
	EventCreated   = "created"
	EventDeleted   = "deleted"
	EventForked    = "forked" // Run is the new run; Message names the parent
	EventReset     = "reset"
	EventError     = "error"
	EventInfo      = "info"
)

var eventKinds = []string{EventCollapse, EventRecovered, EventNaN, EventPaused, EventResumed,
	EventCreated, EventDeleted, EventForked, EventReset, EventError, EventInfo}

// Event is something a person should be told about, for every client.
type Event struct {
	// Run is the run concerned, or "" for the lab as a whole.
	Run string `json:"run,omitempty"`
	// Time is when it happened, in Unix milliseconds.
	Time int64 `json:"time"`
	// Kind is one of the Event* constants.
	Kind string `json:"kind"`
	// Message is a human-readable sentence.
	Message string `json:"message"`
}

// Runs is the full run list, sent to every client whenever a run is
// created, deleted, renamed, changes state or changes knobs.
type Runs struct {
	Runs []RunInfo `json:"runs"`
}

// Reply error codes.
const (
	CodeBadRequest  = "bad_request"  // the command did not decode or validate
	CodeForbidden   = "forbidden"    // read-only client, or wrong teacher token
	CodeNotFound    = "not_found"    // no such run or preset
	CodeConflict    = "conflict"     // not possible in the run's state (e.g. resume a diverged run)
	CodeRateLimited = "rate_limited" // too many commands; retry later
	CodeInternal    = "internal"     // the server failed; the message says how
)

var replyCodes = []string{CodeBadRequest, CodeForbidden, CodeNotFound, CodeConflict, CodeRateLimited, CodeInternal}

// Reply answers one command, to the client that sent it only.
type Reply struct {
	// ID is the id of the command answered (0 if the command was too
	// malformed to read its id).
	ID uint64 `json:"id"`
	OK bool   `json:"ok"`
	// Code and Error are set when OK is false: a Code* constant and a
	// message that names the field and the problem.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Run is the id of the run a successful create or fork made.
	Run string `json:"run,omitempty"`
}

// ErrorReply is the reply to command id failing with the given code. The
// error's text is made fit to send: invalid UTF-8 and control characters
// become U+FFFD and it is cut to MaxTextLen bytes, so any error the server
// meets can be reported.
func ErrorReply(id uint64, code string, err error) Reply {
	msg := "unknown error"
	if err != nil && err.Error() != "" {
		msg = sanitizeText(err.Error())
	}
	return Reply{ID: id, Code: code, Error: msg}
}

// MarshalJSON writes nil slices as [] so JavaScript clients never see null
// where they expect an array.
func (h Hello) MarshalJSON() ([]byte, error) {
	type plain Hello
	p := plain(h)
	p.Runs = orEmpty(p.Runs)
	p.Labels = orEmpty(p.Labels)
	p.Presets = orEmpty(p.Presets)
	return json.Marshal(p)
}

// MarshalJSON writes nil slices as [].
func (l LabelSet) MarshalJSON() ([]byte, error) {
	type plain LabelSet
	p := plain(l)
	p.Classes = orEmpty(p.Classes)
	p.Y = orEmpty(p.Y)
	return json.Marshal(p)
}

// MarshalJSON writes a nil list as [].
func (r Runs) MarshalJSON() ([]byte, error) {
	type plain Runs
	return json.Marshal(plain{Runs: orEmpty(r.Runs)})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Validate implements Message. Besides the version it checks what a client
// would index with: every label is a valid class index, and every Y has
// ProbeN entries.
func (h Hello) Validate() error {
	if h.Version != Version {
		// Decode reports another version as a *VersionError before it gets
		// here; this catches a server that forgot to set it.
		return errf("version", "must be %d, got %d", Version, h.Version)
	}
	if err := checkName("server", h.Server); err != nil {
		return err
	}
	if h.Preset != "" {
		if err := checkID("preset", h.Preset); err != nil {
			return err
		}
	}
	if err := checkRuns("runs", h.Runs); err != nil {
		return err
	}
	if h.ProbeN < 0 || h.ProbeN > MaxPoints {
		return errf("probe_n", "must be in 0..%d, got %d", MaxPoints, h.ProbeN)
	}
	if h.Probe != "" {
		if err := checkID("probe", h.Probe); err != nil {
			return err
		}
	}
	if len(h.Labels) > MaxLabelSets {
		return errf("labels", "at most %d label sets, got %d", MaxLabelSets, len(h.Labels))
	}
	seen := make(map[string]bool, len(h.Labels))
	for i, l := range h.Labels {
		f := fmt.Sprintf("labels[%d]", i)
		if err := checkID(f+".name", l.Name); err != nil {
			return err
		}
		if seen[l.Name] {
			return errf(f+".name", "duplicate label set %s", quote(l.Name))
		}
		seen[l.Name] = true
		if len(l.Classes) == 0 || len(l.Classes) > MaxClasses {
			return errf(f+".classes", "must have 1..%d classes, got %d", MaxClasses, len(l.Classes))
		}
		for j, c := range l.Classes {
			if err := checkName(fmt.Sprintf("%s.classes[%d]", f, j), c); err != nil {
				return err
			}
		}
		if len(l.Y) != h.ProbeN {
			return errf(f+".y", "must have probe_n = %d entries, got %d", h.ProbeN, len(l.Y))
		}
		for j, y := range l.Y {
			if y < -1 || int(y) >= len(l.Classes) {
				return errf(fmt.Sprintf("%s.y[%d]", f, j), "must be -1 or a class index in 0..%d, got %d", len(l.Classes)-1, y)
			}
		}
	}
	if len(h.Presets) > MaxPresets {
		return errf("presets", "at most %d presets, got %d", MaxPresets, len(h.Presets))
	}
	for i, p := range h.Presets {
		if err := checkID(fmt.Sprintf("presets[%d]", i), p); err != nil {
			return err
		}
	}
	if math.IsNaN(h.SnapshotHz) || !(h.SnapshotHz > 0 && h.SnapshotHz <= 1000) {
		return errf("snapshot_hz", "must be in (0, 1000], got %g", h.SnapshotHz)
	}
	return nil
}

func checkRuns(field string, runs []RunInfo) error {
	if len(runs) > MaxRuns {
		return errf(field, "at most %d runs, got %d", MaxRuns, len(runs))
	}
	seen := make(map[string]bool, len(runs))
	for i := range runs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := runs[i].Validate(); err != nil {
			return prefix(f, err)
		}
		if seen[runs[i].ID] {
			return errf(f+".id", "duplicate run id %s", quote(runs[i].ID))
		}
		seen[runs[i].ID] = true
	}
	return nil
}

// Validate checks one run description.
func (r *RunInfo) Validate() error {
	if err := checkID("id", r.ID); err != nil {
		return err
	}
	if err := checkName("name", r.Name); err != nil {
		return err
	}
	switch r.State {
	case StateRunning, StatePaused, StateDiverged:
	default:
		return errf("state", "must be %q, %q or %q, got %s", StateRunning, StatePaused, StateDiverged, quote(r.State))
	}
	if r.Parent != "" {
		if err := checkID("parent", r.Parent); err != nil {
			return err
		}
	}
	if err := r.Knobs.Validate(); err != nil {
		return prefix("knobs", err)
	}
	if err := checkName("arch", r.Arch); err != nil {
		return err
	}
	if err := checkName("dataset", r.Dataset); err != nil {
		return err
	}
	if r.ProjOut < 1 || r.ProjOut > MaxDim {
		return errf("proj_out", "must be in 1..%d, got %d", MaxDim, r.ProjOut)
	}
	if len(r.Config) > 0 {
		if c := bytes.TrimLeft(r.Config, " \t\r\n"); len(c) == 0 || c[0] != '{' || !json.Valid(c) {
			return errf("config", "must be a JSON object")
		}
		// Measured as written (compacted, HTML-escaped), so that what Encode
		// accepts Decode accepts too.
		if len(r.Config) > MaxConfigLen/6 { // escaping grows a byte to at most 6
			b, _ := json.Marshal(r.Config)
			if len(b) > MaxConfigLen {
				return errf("config", "must be at most %d bytes as JSON, got %d", MaxConfigLen, len(b))
			}
		}
	}
	return nil
}

// Validate implements Message. Metric values are not range-checked: a
// diverging run reports whatever it computed.
func (m Metrics) Validate() error {
	if err := checkID("run", m.Run); err != nil {
		return err
	}
	if len(m.KNN) > MaxLabelSets {
		return errf("knn", "at most %d label sets, got %d", MaxLabelSets, len(m.KNN))
	}
	for name := range m.KNN {
		if err := checkID("knn", name); err != nil {
			return err
		}
	}
	return nil
}

// Validate implements Message.
func (e Event) Validate() error {
	if e.Run != "" {
		if err := checkID("run", e.Run); err != nil {
			return err
		}
	}
	ok := false
	for _, k := range eventKinds {
		ok = ok || e.Kind == k
	}
	if !ok {
		return errf("kind", "unknown event kind %s", quote(e.Kind))
	}
	return checkText("message", e.Message)
}

// Validate implements Message.
func (r Runs) Validate() error { return checkRuns("runs", r.Runs) }

// Validate implements Message.
func (r Reply) Validate() error {
	if r.ID > MaxCommandID {
		return errf("id", "must be at most %d, got %d", uint64(MaxCommandID), r.ID)
	}
	if r.OK {
		if r.Code != "" || r.Error != "" {
			return errf("ok", "a successful reply has no code or error")
		}
	} else {
		ok := false
		for _, c := range replyCodes {
			ok = ok || r.Code == c
		}
		if !ok {
			return errf("code", "unknown error code %s", quote(r.Code))
		}
		if r.Error == "" {
			return errf("error", "must not be empty when ok is false")
		}
		if err := checkText("error", r.Error); err != nil {
			return err
		}
		if r.Run != "" {
			return errf("run", "a failed reply names no new run")
		}
	}
	if r.Run != "" {
		if err := checkID("run", r.Run); err != nil {
			return err
		}
	}
	return nil
}

// VersionError is returned for a Hello or snapshot frame of another
// protocol version. errors.Is(err, ErrVersion) matches it.
type VersionError struct {
	Got int
}

// ErrVersion matches every *VersionError.
var ErrVersion = errors.New("proto: unsupported protocol version")

func (e *VersionError) Error() string {
	return fmt.Sprintf("proto: the server speaks protocol version %d, this client speaks version %d: reload the page to get a matching client", e.Got, Version)
}

// Is makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// Encode validates m and writes it as one JSON object whose first member is
// "type": {"type":"metrics","run":"a",...}.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("proto: Encode(nil)")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("proto: encode %s: %w", m.MessageType(), err)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("proto: encode %s: %w", m.MessageType(), err)
	}
	// body is a JSON object ("{}" or "{...}"); splice the type in front.
	t := m.MessageType()
	out := make([]byte, 0, len(body)+len(t)+11)
	out = append(out, `{"type":"`...)
	out = append(out, t...)
	out = append(out, '"')
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = append(out, body[1:]...)
	if len(out) > MaxServerMessageSize {
		return nil, fmt.Errorf("proto: encode %s: %d bytes, the limit is %d", t, len(out), MaxServerMessageSize)
	}
	return out, nil
}

// Decode reads one server → client JSON message and validates it. A Hello
// of another version fails with a *VersionError. Unknown fields are
// ignored (they cannot change the meaning of a version-1 message).
func Decode(b []byte) (Message, error) {
	if len(b) > MaxServerMessageSize {
		return nil, fmt.Errorf("proto: message is %d bytes, the limit is %d", len(b), MaxServerMessageSize)
	}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("proto: decode: %w", err)
	}
	if head.Type == nil {
		return nil, errors.New(`proto: decode: message has no "type"`)
	}
	var m Message
	switch *head.Type {
	case TypeHello:
		// Check the version before anything else: a newer server's hello
		// may not even unmarshal into this version's struct.
		var v struct {
			Version *int `json:"version"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Version == nil {
			return nil, errors.New(`proto: decode hello: missing or malformed "version"`)
		}
		if *v.Version != Version {
			return nil, &VersionError{Got: *v.Version}
		}
		m = new(Hello)
	case TypeMetrics:
		m = new(Metrics)
	case TypeEvent:
		m = new(Event)
	case TypeRuns:
		m = new(Runs)
	case TypeReply:
		m = new(Reply)
	default:
		return nil, fmt.Errorf("proto: decode: unknown message type %s", quote(*head.Type))
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("proto: decode %s: %w", *head.Type, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("proto: decode %s: %w", *head.Type, err)
	}
	return m, nil
}
