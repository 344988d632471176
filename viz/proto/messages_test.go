package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func sampleKnobs() Knobs {
	return Knobs{Predictor: true, TauBase: 0.99, TauSchedule: TauCosine, LR: 1e-3, Batch: 256, PredLRMult: 10,
		Augment: map[string]bool{"crop": true, "flip": true, "jitter": true, "grayscale": true, "blur": false,
			"solarize": false, "noise": false}}
}

func sampleHello() *Hello {
	noPred := sampleKnobs()
	noPred.Predictor = false
	return &Hello{
		Version: Version, Server: "byol-lab 0.1.0", ReadOnly: true, Preset: "collapse",
		Runs: []RunInfo{
			{ID: "byol", Name: "BYOL", State: StateRunning, Step: 1500, Knobs: sampleKnobs(),
				Arch: "tiny", Dataset: "shapes", ProjOut: 64, Config: json.RawMessage(`{"arch":"tiny","seed":1}`)},
			{ID: "no-pred", Name: "BYOL without predictor", State: StateDiverged, Step: 20, Parent: "byol",
				Knobs: noPred, Arch: "tiny", Dataset: "shapes", ProjOut: 64},
		},
		ProbeN: 4,
		Probe:  "3f9a0c2d41e87b65",
		Labels: []LabelSet{
			{Name: "shape", Classes: []string{"circle", "square", "triangle"}, Y: []int32{0, 1, 2, -1}},
			{Name: "colour", Classes: []string{"red", "green"}, Y: []int32{1, 1, 0, 0}},
		},
		Presets:    []string{"collapse", "tau-sweep"},
		SnapshotHz: 5,
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []Message{
		sampleHello(),
		&Hello{Version: Version, Server: "s", SnapshotHz: 0.5}, // nil slices
		&Metrics{Run: "byol", Step: 10, Time: 1_700_000_000_000, Loss: 1.25, LR: 1e-3, Tau: 0.996, ImgsPerS: 812.5,
			Std: 0.11, Rank: 37.2, KNN: map[string]Float{"shape": 0.93, "colour": 0.5}, MeanCos: 0.4, Collapsed: false},
		&Metrics{Run: "r", Loss: Float(math.NaN()), Std: Float(math.Inf(1)), Rank: Float(math.Inf(-1)), Collapsed: true},
		&Event{Run: "byol", Time: 5, Kind: EventNaN, Message: "loss became NaN at step 12; run paused.\nReset it."},
		&Event{Kind: EventInfo, Message: ""},
		&Runs{Runs: sampleHello().Runs},
		&Runs{},
		&Reply{ID: 3, OK: true},
		&Reply{ID: 4, OK: true, Run: "r7"},
		&Reply{ID: MaxCommandID, Code: CodeForbidden, Error: "read-only viewer"},
	} {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !bytes.HasPrefix(b, []byte(`{"type":"`+m.MessageType()+`"`)) {
			t.Fatalf("%T: %s does not start with its type", m, b)
		}
		if bytes.Contains(b, []byte("null")) {
			t.Fatalf("%T: %s contains null", m, b)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: decode %s: %v", m, b, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(m) {
			t.Fatalf("decoded %T, want %T", got, m)
		}
		// NaN != NaN defeats DeepEqual; the re-encoding must be identical instead,
		// and where there is no NaN the values must be equal.
		again, err := Encode(got)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("%T: re-encoded\n%s\nwant\n%s (%v)", m, again, b, err)
		}
		if !bytes.Contains(b, []byte("NaN")) && !reflect.DeepEqual(normalise(got), normalise(m)) {
			t.Fatalf("%T: round trip\n got %+v\nwant %+v", m, got, m)
		}
	}
}

// normalise turns the nil slices Encode writes as [] into empty ones, so that
// DeepEqual compares what was meant.
func normalise(m Message) Message {
	switch v := m.(type) {
	case *Hello:
		h := *v
		h.Runs, h.Labels, h.Presets = orEmpty(h.Runs), orEmpty(h.Labels), orEmpty(h.Presets)
		return &h
	case *Runs:
		return &Runs{Runs: orEmpty(v.Runs)}
	}
	return m
}

func TestEncodeExample(t *testing.T) {
	b, err := Encode(Metrics{Run: "a", Step: 2, Time: 3, Loss: Float(math.NaN()), LR: 0.5, Tau: 1, ImgsPerS: Float(math.Inf(1)),
		Std: 0.125, Rank: 1, MeanCos: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"metrics","run":"a","step":2,"time":3,"loss":"NaN","lr":0.5,"tau":1,"imgs_per_s":"Infinity",` +
		`"std":0.125,"rank":1,"mean_cos":-1,"collapsed":false}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	hello := func(edit func(h *Hello)) string {
		h := sampleHello()
		edit(h)
		body, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		return `{"type":"hello",` + string(body[1:])
	}
	for _, tc := range []struct {
		name, in, msg string
	}{
		{"not json", `{"type":`, "decode"},
		{"array", `[]`, "decode"},
		{"no type", `{"run":"a"}`, `no "type"`},
		{"unknown type", `{"type":"snapshot"}`, `unknown message type "snapshot"`},
		{"type not string", `{"type":1}`, "decode"},
		{"hello v2", `{"type":"hello","version":2,"future":{"x":1}}`, "protocol version 2"},
		{"hello no version", `{"type":"hello"}`, `missing or malformed "version"`},
		{"hello bad version", `{"type":"hello","version":"1"}`, `missing or malformed "version"`},
		{"label out of range", hello(func(h *Hello) { h.Labels[0].Y[1] = 3 }), "labels[0].y[1]: must be -1 or a class index in 0..2, got 3"},
		{"label below -1", hello(func(h *Hello) { h.Labels[1].Y[0] = -2 }), "labels[1].y[0]"},
		{"label count", hello(func(h *Hello) { h.ProbeN = 5 }), "labels[0].y: must have probe_n = 5 entries, got 4"},
		{"no classes", hello(func(h *Hello) { h.Labels[1].Classes = nil }), "labels[1].classes: must have 1..256 classes"},
		{"dup label set", hello(func(h *Hello) { h.Labels[1].Name = "shape" }), "duplicate label set"},
		{"probe_n", hello(func(h *Hello) { h.ProbeN = MaxPoints + 1 }), "probe_n"},
		{"probe", hello(func(h *Hello) { h.Probe = "../etc" }), "probe: invalid character"},
		{"snapshot_hz", hello(func(h *Hello) { h.SnapshotHz = 0 }), "snapshot_hz"},
		{"run state", hello(func(h *Hello) { h.Runs[1].State = "exploded" }), `runs[1].state: must be "running", "paused" or "diverged", got "exploded"`},
		{"run knobs", hello(func(h *Hello) { h.Runs[0].Knobs.LR = -1 }), "runs[0].knobs.lr"},
		{"run augment", hello(func(h *Hello) { h.Runs[0].Knobs.Augment["zoom"] = true }), `runs[0].knobs.augment: unknown augmentation "zoom"`},
		{"run id", hello(func(h *Hello) { h.Runs[0].ID = "a b" }), "runs[0].id"},
		{"dup run", hello(func(h *Hello) { h.Runs[1].ID = "byol" }), "runs[1].id: duplicate run id"},
		{"proj_out", hello(func(h *Hello) { h.Runs[0].ProjOut = 0 }), "runs[0].proj_out"},
		{"config", hello(func(h *Hello) { h.Runs[0].Config = json.RawMessage(`[1]`) }), "runs[0].config: must be a JSON object"},
		{"config size", hello(func(h *Hello) {
			h.Runs[0].Config = json.RawMessage(`{"x":"` + strings.Repeat("&", MaxConfigLen/6) + `"}`)
		}), "runs[0].config: must be at most 8192 bytes as JSON"},
		{"preset name", hello(func(h *Hello) { h.Presets[0] = "../x" }), "presets[0]"},
		{"server", hello(func(h *Hello) { h.Server = "" }), "server: must not be empty"},
		{"metrics run", `{"type":"metrics","run":""}`, "run: must not be empty"},
		{"metrics float", `{"type":"metrics","run":"a","loss":"lots"}`, "Float"},
		{"metrics knn", `{"type":"metrics","run":"a","knn":{"a b":1}}`, "knn"},
		{"event kind", `{"type":"event","kind":"boom","message":""}`, `unknown event kind "boom"`},
		{"event text", `{"type":"event","kind":"info","message":"a\u0000b"}`, "message: non-printable"},
		{"reply ok+error", `{"type":"reply","id":1,"ok":true,"error":"x"}`, "no code or error"},
		{"reply no code", `{"type":"reply","id":1,"ok":false,"error":"x"}`, `unknown error code ""`},
		{"reply no error", `{"type":"reply","id":1,"ok":false,"code":"internal"}`, "error: must not be empty"},
		{"reply id", `{"type":"reply","id":9007199254740992,"ok":true}`, "id: must be at most"},
		{"too large", `{"type":"runs","runs":[],"x":"` + strings.Repeat("x", MaxServerMessageSize) + `"}`, "limit is"},
	} {
		m, err := Decode([]byte(tc.in))
		if err == nil {
			t.Errorf("%s: accepted as %+v", tc.name, m)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.msg)
		}
	}
	_, err := Decode([]byte(`{"type":"hello","version":2}`))
	if !errors.Is(err, ErrVersion) {
		t.Errorf("hello v2: %v is not ErrVersion", err)
	}
}

func TestEncodeRejects(t *testing.T) {
	h := sampleHello()
	h.Version = 2
	for _, m := range []Message{
		h,
		&Metrics{},
		&Event{Kind: "nope"},
		&Reply{ID: 1},
		&Runs{Runs: []RunInfo{{ID: "x"}}},
	} {
		if b, err := Encode(m); err == nil {
			t.Errorf("Encode(%+v) = %s, want an error", m, b)
		}
	}
	if _, err := Encode(nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}

func TestErrorReply(t *testing.T) {
	r := ErrorReply(9, CodeNotFound, errors.New(`no run "x"`))
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"reply","id":9,"ok":false,"code":"not_found","error":"no run \"x\""}`; string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestErrorReplySanitises(t *testing.T) {
	for _, err := range []error{nil, errors.New(""), errors.New("bad \x00\xff byte\r\n"),
		errors.New(strings.Repeat("é", MaxTextLen))} {
		r := ErrorReply(1, CodeInternal, err)
		if _, e := Encode(r); e != nil {
			t.Errorf("ErrorReply(%q): %v", err, e)
		}
	}
	if r := ErrorReply(1, CodeInternal, errors.New("a\x00b\n")); r.Error != "a\uFFFDb\n" {
		t.Errorf("got %q", r.Error)
	}
}

func TestFloatJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{{`1.5`, 1.5}, {`-0`, 0}, {`1e400`, math.Inf(1)}, {`-1e400`, math.Inf(-1)}, {`"Infinity"`, math.Inf(1)},
		{`"-Infinity"`, math.Inf(-1)}, {`1e-400`, 0}} {
		var f Float
		if err := json.Unmarshal([]byte(tc.in), &f); err != nil || float64(f) != tc.want {
			t.Errorf("%s: %v, %v", tc.in, f, err)
		}
	}
	var f Float
	if err := json.Unmarshal([]byte(`"NaN"`), &f); err != nil || !math.IsNaN(float64(f)) {
		t.Errorf("NaN: %v %v", f, err)
	}
	for _, bad := range []string{`"nan"`, `"1"`, `true`, `{}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestLimitsFit builds the largest Hello the limits allow, with the
// characters JSON escapes the most, and checks it stays under
// MaxServerMessageSize: a valid message must never be refused for its size.
func TestLimitsFit(t *testing.T) {
	worst := strings.Repeat("<", MaxNameLen) // written as \u003c: 6 bytes each
	id := func(i int) string { return fmt.Sprintf("%0*d", MaxIDLen, i) }
	h := &Hello{Version: Version, Server: worst, Preset: id(0), ProbeN: MaxPoints, Probe: id(1), SnapshotHz: 1000}
	config := json.RawMessage(`{"x":"` + strings.Repeat("<", (MaxConfigLen-8)/6) + `"}`)
	for i := range MaxRuns {
		k := sampleKnobs()
		k.TauBase, k.LR, k.PredLRMult = 0.123456789012345, 1.23456789012345e-5, 12.3456789012345
		h.Runs = append(h.Runs, RunInfo{ID: id(i), Name: worst, State: StateDiverged, Step: math.MaxUint64,
			Parent: id(i + 1000), Knobs: k, Arch: worst, Dataset: worst, ProjOut: MaxDim, Config: config})
	}
	for i := range MaxLabelSets {
		l := LabelSet{Name: id(i), Y: make([]int32, MaxPoints)}
		for range MaxClasses {
			l.Classes = append(l.Classes, worst)
		}
		for j := range l.Y {
			l.Y[j] = MaxClasses - 1
		}
		h.Labels = append(h.Labels, l)
	}
	for i := range MaxPresets {
		h.Presets = append(h.Presets, id(i))
	}
	b, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest hello: %d bytes (limit %d)", len(b), MaxServerMessageSize)
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	if b, err := Encode(&Runs{Runs: h.Runs}); err != nil || len(b) > MaxServerMessageSize {
		t.Fatal(err)
	}
}
