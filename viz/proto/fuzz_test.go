package proto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var commandSeeds = []string{
	`{"id":1,"cmd":"ping"}`,
	`{"id":2,"cmd":"ping","args":null,"run":null,"token":null}`,
	`{"id":3,"cmd":"pause","run":"byol","token":"s3cr3t"}`,
	`{"id":4,"cmd":"resume","run":"a.b_c-D9"}`,
	`{"id":5,"cmd":"reset","run":"r"}`,
	`{"id":6,"cmd":"delete","run":"r"}`,
	`{"id":7,"cmd":"create","args":{"preset":"collapse","name":"Mon essai ✓"}}`,
	`{"id":8,"cmd":"step","run":"r","args":{"n":1e2}}`,
	`{"id":9,"cmd":"fork","run":"r","args":{"name":"no predictor","knobs":{"predictor":false}}}`,
	`{"id":10,"cmd":"set","run":"r","args":{"knobs":{"predictor":true,"tau_base":0,"tau_schedule":"constant",` +
		`"lr":10,"batch":4096,"pred_lr_mult":100,"augment":{"crop":true,"flip":false,"jitter":true,` +
		`"grayscale":false,"blur":true,"solarize":false,"noise":true}}}}`,
	`{"id":11,"cmd":"preset","args":{"name":"collapse"}}`,
	`{"\u0069d":12,"cmd":"p\u0069ng"}`,
	`{"id":13,"cmd":"set","run":"r","args":{"knobs":{"lr":-0.1}}}`,
	`{"id":14,"cmd":"set","run":"r","args":{"knobs":{"batch":1e9}}}`,
	`{"id":15,"cmd":"set","run":"r","args":{"knobs":{"tau_base":1.01,"augment":{"rotate":true}}}}`,
	`{"id":16,"cmd":"step","run":"r","args":{"n":2.5}}`,
	`{"id":17,"id":18,"cmd":"ping"}`,
	`{"id":19,"ID":19,"cmd":"ping"}`,
	`{"id":20,"cmd":"ping"} {"id":21}`,
	`{"id":22,"cmd":"create","args":{"name":"\u202eevil"}}`,
	`{"id":9007199254740992,"cmd":"ping"}`,
	`{"id":23,"cmd":"set","run":"r","args":{"knobs":{"lr":NaN}}}`,
	`{"id":24,"cmd":"pause","run":"../x"}`,
	`[{"id":1}]`, `null`, `{`, ``, `{"id":1,"cmd":"ping"`,
}

// FuzzDecodeCommand: DecodeCommand never panics; an error is always a
// *CommandError whose reply is a valid message; whatever it accepts
// re-encodes to a canonical message that decodes to the same command.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeCommand(in)
		if err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *CommandError", err, err)
			}
			if !reflect.DeepEqual(c, Command{}) {
				t.Fatalf("a command came back with the error: %+v", c)
			}
			if ce.HasID && ce.ID > MaxCommandID {
				t.Fatalf("error carries id %d beyond MaxCommandID", ce.ID)
			}
			r := ce.Reply()
			if err := r.Validate(); err != nil {
				t.Fatalf("error reply %+v is invalid: %v", r, err)
			}
			if len(r.Error) > 512 {
				t.Fatalf("error reply is %d bytes: %q", len(r.Error), r.Error)
			}
			return
		}
		if len(in) > MaxMessageSize {
			t.Fatalf("accepted %d bytes", len(in))
		}
		enc, err := EncodeCommand(c)
		if err != nil {
			t.Fatalf("accepted %+v but cannot encode it: %v", c, err)
		}
		if len(enc) > MaxMessageSize {
			t.Fatalf("encoding is %d bytes", len(enc))
		}
		back, err := DecodeCommand(enc)
		if err != nil {
			t.Fatalf("cannot decode our own %s: %v", enc, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip through %s:\n got %+v\nwant %+v", enc, back, c)
		}
		if again, err := EncodeCommand(back); err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("encoding not canonical: %s then %s (%v)", enc, again, err)
		}
	})
}

// FuzzDecodeSnapshot: DecodeSnapshot never panics, and the encoding of what
// it accepts is the input itself (the format has exactly one encoding per
// value, NaN payloads included). Decoding into a reused Snapshot agrees.
func FuzzDecodeSnapshot(f *testing.F) {
	for _, s := range []*Snapshot{sampleSnapshot(0, 1), sampleSnapshot(3, 4), sampleSnapshot(17, 64),
		{Run: "r", Dim: 2, Flags: FlagPredictorOff | FlagCollapsed, Proj: []float32{1, 2}, Pred: []float32{3, 4},
			Target: []float32{5, 6}, Spectrum: []float32{1, 0}, Std: []float32{0.5, 0.5}}} {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(append(b, 0))
	}
	f.Add([]byte("BYSN"))
	f.Add([]byte("BYSN\x01\x00\x00\x00\x01\x00r\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\xff\xff\xff\xff\x01\x00\x00\x00"))
	f.Add([]byte{})
	var reused Snapshot
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := DecodeSnapshot(in)
		errReused := reused.UnmarshalBinary(in)
		if (err == nil) != (errReused == nil) {
			t.Fatalf("DecodeSnapshot: %v; UnmarshalBinary into a used Snapshot: %v", err, errReused)
		}
		if err != nil {
			if s != nil {
				t.Fatal("a snapshot came back with the error")
			}
			reused = Snapshot{} // its state is unspecified after an error
			return
		}
		if !sameSnapshot(s, &reused) {
			t.Fatal("reused decode differs from a fresh one")
		}
		if s.EncodedSize() != len(in) {
			t.Fatalf("EncodedSize %d, frame %d bytes", s.EncodedSize(), len(in))
		}
		out, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatalf("accepted but cannot encode: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
		}
	})
}

// FuzzDecode: the server → client decoder never panics, and whatever it
// accepts encodes, decodes again and encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, m := range []Message{
		sampleHello(),
		&Metrics{Run: "byol", Step: 10, Time: 1, Loss: 1.25, KNN: map[string]Float{"shape": 0.93}},
		&Event{Run: "byol", Time: 5, Kind: EventNaN, Message: "loss is NaN"},
		&Runs{Runs: sampleHello().Runs},
		&Reply{ID: 4, OK: true, Run: "r7"},
		&Reply{ID: 5, Code: CodeBadRequest, Error: "args.n: must be in 1..1000, got 0"},
	} {
		b, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"metrics","run":"a","loss":"NaN","std":"-Infinity","rank":1e999}`))
	f.Add([]byte(`{"type":"hello","version":2}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Decode(in)
		if err != nil {
			if m != nil {
				t.Fatal("a message came back with the error")
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted %+v but cannot encode it: %v", m, err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("cannot decode our own %s: %v", enc, err)
		}
		if again, err := Encode(back); err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("encoding not canonical:\n%s\n%s (%v)", enc, again, err)
		}
	})
}

// FuzzParseProbeImagePath: the server reads image paths from anyone; the
// parser never panics, and what it accepts is exactly the path
// ProbeImagePath makes, so each image has a single URL.
func FuzzParseProbeImagePath(f *testing.F) {
	for _, s := range []string{
		ProbeImagePath("3f9a0c2d41e87b65", 0), ProbeImagePath("a", MaxPoints-1), "/probe/a/65536.png",
		"/probe/a/007.png", "/probe/a/-1.png", "/probe/a/1.PNG", "/probe/../1.png", "/probe/a/b/1.png",
		"/probe//1.png", "/probe/a/.png", "/probe/a/1.png/", "/probe/a/+1.png", "/probe/a/1e2.png", "", "/probe/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		probe, i, ok := ParseProbeImagePath(path)
		if !ok {
			if probe != "" || i != 0 {
				t.Fatalf("rejected %q but returned %q, %d", path, probe, i)
			}
			return
		}
		if i < 0 || i >= MaxPoints || checkID("probe", probe) != nil {
			t.Fatalf("accepted %q as %q, %d", path, probe, i)
		}
		if back := ProbeImagePath(probe, i); back != path {
			t.Fatalf("accepted %q, which is written %q", path, back)
		}
	})
}
