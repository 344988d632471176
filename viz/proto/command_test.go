package proto

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestDecodeCommandGood(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Command
	}{
		{`{"id":1,"cmd":"ping"}`, Command{ID: 1, Cmd: CmdPing}},
		{`{"id":0,"cmd":"ping","args":{}}`, Command{ID: 0, Cmd: CmdPing}},
		{`{"id":2,"cmd":"ping","args":null,"run":null,"token":null}`, Command{ID: 2, Cmd: CmdPing}},
		{" \n{ \"cmd\" : \"ping\" , \"id\" : 9007199254740991 }\n ", Command{ID: MaxCommandID, Cmd: CmdPing}},
		{`{"id":2,"cmd":"ping","run":"","token":""}`, Command{ID: 2, Cmd: CmdPing}},
		{`{"id":3,"cmd":"pause","run":"byol"}`, Command{ID: 3, Cmd: CmdPause, Run: "byol"}},
		{`{"id":3,"cmd":"resume","run":"a.b_c-D9"}`, Command{ID: 3, Cmd: CmdResume, Run: "a.b_c-D9"}},
		{`{"id":4,"cmd":"reset","run":"r1","token":"s3cr3t"}`, Command{ID: 4, Cmd: CmdReset, Run: "r1", Token: "s3cr3t"}},
		{`{"id":4,"cmd":"delete","run":"r1","token":""}`, Command{ID: 4, Cmd: CmdDelete, Run: "r1"}},
		{`{"id":5,"cmd":"create"}`, Command{ID: 5, Cmd: CmdCreate}},
		{`{"id":5,"cmd":"create","args":{"preset":"collapse","name":"Mon essai ✓"}}`,
			Command{ID: 5, Cmd: CmdCreate, Args: Args{Preset: "collapse", Name: "Mon essai ✓"}}},
		{`{"id":5,"cmd":"create","args":{"name":""}}`, Command{ID: 5, Cmd: CmdCreate}},
		{`{"id":6,"cmd":"step","run":"r","args":{"n":1}}`, Command{ID: 6, Cmd: CmdStep, Run: "r", Args: Args{N: 1}}},
		{`{"id":6,"cmd":"step","run":"r","args":{"n":1000}}`, Command{ID: 6, Cmd: CmdStep, Run: "r", Args: Args{N: 1000}}},
		{`{"id":6,"cmd":"step","run":"r","args":{"n":1e2}}`, Command{ID: 6, Cmd: CmdStep, Run: "r", Args: Args{N: 100}}},
		{`{"id":6,"cmd":"step","run":"r","args":{"n":10.0}}`, Command{ID: 6, Cmd: CmdStep, Run: "r", Args: Args{N: 10}}},
		{`{"id":7,"cmd":"fork","run":"r"}`, Command{ID: 7, Cmd: CmdFork, Run: "r"}},
		{`{"id":7,"cmd":"fork","run":"r","args":{"name":"no predictor","knobs":{"predictor":false}}}`,
			Command{ID: 7, Cmd: CmdFork, Run: "r", Args: Args{Name: "no predictor", Knobs: KnobsPatch{Predictor: ptr(false)}}}},
		{`{"id":7,"cmd":"fork","run":"r","args":{"knobs":{}}}`, Command{ID: 7, Cmd: CmdFork, Run: "r"}},
		{`{"id":7,"cmd":"fork","run":"r","args":{"knobs":{"augment":{}}}}`, Command{ID: 7, Cmd: CmdFork, Run: "r"}},
		{`{"id":8,"cmd":"set","run":"r","args":{"knobs":{"lr":0.01}}}`,
			Command{ID: 8, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{LR: ptr(0.01)}}}},
		{`{"id":8,"cmd":"set","run":"r","args":{"knobs":{"predictor":true,"tau_base":0,"tau_schedule":"constant",` +
			`"lr":10,"batch":4096,"pred_lr_mult":100,"augment":{"crop":true,"flip":false,"jitter":true,` +
			`"grayscale":false,"blur":true,"solarize":false,"noise":true}}}}`,
			Command{ID: 8, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{
				Predictor: ptr(true), TauBase: ptr(0.0), TauSchedule: ptr(TauConstant), LR: ptr(10.0),
				Batch: ptr(4096), PredLRMult: ptr(100.0), Augment: map[string]bool{"crop": true, "flip": false,
					"jitter": true, "grayscale": false, "blur": true, "solarize": false, "noise": true}}}}},
		{`{"id":8,"cmd":"set","run":"r","args":{"knobs":{"tau_base":1,"batch":2,"pred_lr_mult":0,"tau_schedule":"cosine"}}}`,
			Command{ID: 8, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{
				TauBase: ptr(1.0), Batch: ptr(2), PredLRMult: ptr(0.0), TauSchedule: ptr(TauCosine)}}}},
		{`{"id":8,"cmd":"set","run":"r","args":{"knobs":{"lr":1e-300,"augment":{"blur":null,"noise":false}}}}`,
			Command{ID: 8, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{LR: ptr(1e-300), Augment: map[string]bool{"noise": false}}}}},
		{`{"id":9,"cmd":"preset","args":{"name":"collapse"}}`, Command{ID: 9, Cmd: CmdPreset, Args: Args{Name: "collapse"}}},
		{`{"\u0069d":10,"cmd":"p\u0069ng"}`, Command{ID: 10, Cmd: CmdPing}},
	} {
		got, err := DecodeCommand([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
		// Encoding is canonical and decodes to the same command.
		enc, err := EncodeCommand(got)
		if err != nil {
			t.Errorf("%s: encode: %v", tc.in, err)
			continue
		}
		back, err := DecodeCommand(enc)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%s: re-decode of %s: %+v, %v", tc.in, enc, back, err)
		}
	}
}

func TestDecodeCommandBad(t *testing.T) {
	const noID = -1
	for _, tc := range []struct {
		in    string
		id    int64  // the id the error must carry, or noID
		field string // CommandError.Field
		msg   string // substring of CommandError.Msg
	}{
		// Not a JSON object.
		{``, noID, "", "unexpected end"},
		{`   `, noID, "", "unexpected end"},
		{`null`, noID, "", "must be a JSON object, got null"},
		{`[1,2]`, noID, "", "must be a JSON object, got an array"},
		{`"ping"`, noID, "", "must be a JSON object, got a string"},
		{`42`, noID, "", "must be a JSON object, got a number"},
		{`{`, noID, "", "unexpected end"},
		{`{"id":1,"cmd":"ping"`, 1, "", "unexpected end"},
		{`{"id":1,"cmd":"ping",}`, 1, "", "malformed JSON"},
		{`{"id":1,"cmd":"ping"}{"id":2}`, 1, "", "trailing data"},
		{`{"id":1,"cmd":"ping"} x`, 1, "", "trailing data"},
		{`{'id':1}`, noID, "", "malformed JSON"},
		{`xyz`, noID, "", "must be a JSON object, got malformed JSON"},
		{"1" + strings.Repeat("0", 1000), noID, "", "must be a JSON object, got a number"},
		{`{"id":1,"cmd":"ping","x":1` + strings.Repeat("0", 1000) + `x}`, 1, "", "malformed JSON: invalid character 'x' after object key:value pair"},
		{`{"id":3,"cmd":"ping","args":{"x":[1,2}}`, 3, "args", "malformed JSON"},
		// Size.
		{`{"id":1,"cmd":"ping","token":"` + strings.Repeat("a", MaxMessageSize) + `"}`, noID, "", "limit is 65536"},
		// id.
		{`{"cmd":"ping"}`, noID, "id", "required"},
		{`{"id":null,"cmd":"ping"}`, noID, "id", "required"},
		{`{"id":-1,"cmd":"ping"}`, noID, "id", "must be an integer in 0..9007199254740991"},
		{`{"id":1.5,"cmd":"ping"}`, noID, "id", "must be an integer"},
		{`{"id":1e3,"cmd":"ping"}`, noID, "id", "must be an integer"},
		{`{"id":"1","cmd":"ping"}`, noID, "id", "must be an integer, got a string"},
		{`{"id":9007199254740992,"cmd":"ping"}`, noID, "id", "must be an integer in"},
		{`{"id":99999999999999999999999,"cmd":"ping"}`, noID, "id", "must be an integer in"},
		{`{"id":1,"id":2,"cmd":"ping"}`, noID, "id", "duplicate field"},
		// Keys.
		{`{"id":5,"ID":5,"cmd":"ping"}`, 5, "ID", "unknown field"},
		{`{"id":5,"Cmd":"ping"}`, 5, "Cmd", "unknown field"},
		{`{"id":5,"cmd":"ping","extra":1}`, 5, "extra", "unknown field (allowed: id, cmd, run, token, args)"},
		{`{"id":5,"cmd":"ping","cmd":"ping"}`, 5, "cmd", "duplicate field"},
		{`{"id":5,"cmd":"ping","a b":1}`, 5, `["a b"]`, "unknown field"},
		{`{"id":5,"cmd":"ping","` + strings.Repeat("k", 100) + `":1}`, 5, `["` + strings.Repeat("k", 40) + `"…]`, "unknown field"},
		// cmd.
		{`{"id":6}`, 6, "cmd", "required"},
		{`{"id":6,"cmd":null}`, 6, "cmd", "required"},
		{`{"id":6,"cmd":"explode"}`, 6, "cmd", `unknown command "explode"`},
		{`{"id":6,"cmd":"PING"}`, 6, "cmd", "unknown command"},
		{`{"id":6,"cmd":7}`, 6, "cmd", "must be a string, got a number"},
		{`{"id":6,"cmd":["ping"]}`, 6, "cmd", "must be a string, got an array"},
		// run.
		{`{"id":7,"cmd":"pause"}`, 7, "run", "required for pause"},
		{`{"id":7,"cmd":"pause","run":""}`, 7, "run", "must not be empty"},
		{`{"id":7,"cmd":"pause","run":7}`, 7, "run", "must be a string"},
		{`{"id":7,"cmd":"pause","run":"a/b"}`, 7, "run", "invalid character '/'"},
		{`{"id":7,"cmd":"pause","run":".."}`, 7, "run", `must not be ".."`},
		{`{"id":7,"cmd":"pause","run":"` + strings.Repeat("r", MaxIDLen+1) + `"}`, 7, "run", "at most 64 bytes, got 65"},
		{`{"id":7,"cmd":"ping","run":"r"}`, 7, "run", "not allowed for ping"},
		{`{"id":7,"cmd":"create","run":"r"}`, 7, "run", "not allowed for create"},
		{`{"id":7,"cmd":"preset","run":"r","args":{"name":"x"}}`, 7, "run", "not allowed for preset"},
		// token.
		{`{"id":8,"cmd":"ping","token":"a b"}`, 8, "token", "invalid character ' '"},
		{`{"id":8,"cmd":"ping","token":"` + strings.Repeat("t", MaxTokenLen+1) + `"}`, 8, "token", "at most 128 bytes"},
		{`{"id":8,"cmd":"ping","token":true}`, 8, "token", "must be a string, got a boolean"},
		// args.
		{`{"id":9,"cmd":"ping","args":[]}`, 9, "args", "must be a JSON object, got an array"},
		{`{"id":9,"cmd":"ping","args":{"n":1}}`, 9, "args.n", "unknown field (no fields allowed here)"},
		{`{"id":9,"cmd":"pause","run":"r","args":{"knobs":{}}}`, 9, "args.knobs", "unknown field"},
		{`{"id":9,"cmd":"create","args":{"knobs":{}}}`, 9, "args.knobs", "unknown field (allowed: preset, name)"},
		{`{"id":9,"cmd":"create","args":{"name":"x","name":"y"}}`, 9, "args.name", "duplicate field"},
		{`{"id":9,"cmd":"create","args":{"name":"tab\there"}}`, 9, "args.name", "non-printable character U+0009"},
		{`{"id":9,"cmd":"create","args":{"name":"\u202eevil"}}`, 9, "args.name", "non-printable character U+202E"},
		{`{"id":9,"cmd":"create","args":{"name":"` + strings.Repeat("é", MaxNameLen+1) + `"}}`, 9, "args.name", "at most 64 characters, got 65"},
		{`{"id":9,"cmd":"create","args":{"preset":"../etc"}}`, 9, "args.preset", "invalid character '/'"},
		{`{"id":9,"cmd":"create","args":{"preset":1}}`, 9, "args.preset", "must be a string"},
		// step.
		{`{"id":10,"cmd":"step","run":"r"}`, 10, "args.n", "required for step"},
		{`{"id":10,"cmd":"step","run":"r","args":{}}`, 10, "args.n", "required for step"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":null}}`, 10, "args.n", "required for step"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":0}}`, 10, "args.n", "must be in 1..1000"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":1001}}`, 10, "args.n", "must be in 1..1000"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":-5}}`, 10, "args.n", "must be in 1..1000"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":2.5}}`, 10, "args.n", "must be an integer"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":1e999}}`, 10, "args.n", "must be in 1..1000"},
		{`{"id":10,"cmd":"step","run":"r","args":{"n":"5"}}`, 10, "args.n", "must be an integer, got a string"},
		// set.
		{`{"id":11,"cmd":"set","run":"r"}`, 11, "args.knobs", "required for set"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{}}}`, 11, "args.knobs", "must change at least one knob"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"augment":{}}}}`, 11, "args.knobs", "must change at least one knob"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":[]}}`, 11, "args.knobs", "must be a JSON object"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":-0.1}}}`, 11, "args.knobs.lr", "must be in (0, 10], got -0.1"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":0}}}`, 11, "args.knobs.lr", "must be in (0, 10], got 0"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":11}}}`, 11, "args.knobs.lr", "must be in (0, 10], got 11"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":1e999}}}`, 11, "args.knobs.lr", "must be a finite number"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":"NaN"}}}`, 11, "args.knobs.lr", "must be a number, got a string"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":NaN}}}`, 11, "args", "malformed JSON: invalid character 'N'"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"batch":0}}}`, 11, "args.knobs.batch", "must be in 2..4096"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"batch":1}}}`, 11, "args.knobs.batch", "must be in 2..4096"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"batch":1000000000}}}`, 11, "args.knobs.batch", "must be in 2..4096"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"batch":1e9}}}`, 11, "args.knobs.batch", "must be in 2..4096"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"batch":64.5}}}`, 11, "args.knobs.batch", "must be an integer"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"tau_base":1.01}}}`, 11, "args.knobs.tau_base", "must be in [0, 1]"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"tau_base":-0.5}}}`, 11, "args.knobs.tau_base", "must be in [0, 1]"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"tau_base":true}}}`, 11, "args.knobs.tau_base", "must be a number, got a boolean"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"tau_schedule":"linear"}}}`, 11, "args.knobs.tau_schedule", `got "linear"`},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"pred_lr_mult":101}}}`, 11, "args.knobs.pred_lr_mult", "must be in [0, 100]"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"predictor":"no"}}}`, 11, "args.knobs.predictor", "must be true or false, got a string"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"predictor":0}}}`, 11, "args.knobs.predictor", "must be true or false, got a number"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"Predictor":false}}}`, 11, "args.knobs.Predictor", "unknown field"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"steps":5}}}`, 11, "args.knobs.steps", "unknown field"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"lr":0.1,"lr":0.2}}}`, 11, "args.knobs.lr", "duplicate field"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"augment":{"mixup":true}}}}`, 11, "args.knobs.augment.mixup", "unknown field"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"augment":{"crop":1}}}}`, 11, "args.knobs.augment.crop", "must be true or false"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"augment":[]}}}`, 11, "args.knobs.augment", "must be a JSON object"},
		{`{"id":11,"cmd":"set","run":"r","args":{"knobs":{"augment":{"crop":true,"crop":false}}}}`, 11, "args.knobs.augment.crop", "duplicate field"},
		// fork.
		{`{"id":12,"cmd":"fork","run":"r","args":{"knobs":{"lr":-1}}}`, 12, "args.knobs.lr", "must be in (0, 10], got -1"},
		{`{"id":12,"cmd":"fork","run":"r","args":{"n":3}}`, 12, "args.n", "unknown field (allowed: name, knobs)"},
		// preset.
		{`{"id":13,"cmd":"preset"}`, 13, "args.name", "required for preset"},
		{`{"id":13,"cmd":"preset","args":{"name":""}}`, 13, "args.name", "must not be empty"},
		{`{"id":13,"cmd":"preset","args":{"name":"/etc/passwd"}}`, 13, "args.name", "invalid character '/'"},
		{`{"id":13,"cmd":"preset","args":{"preset":"x"}}`, 13, "args.preset", "unknown field (allowed: name)"},
	} {
		got, err := DecodeCommand([]byte(tc.in))
		in := tc.in
		if len(in) > 120 {
			in = in[:120] + "…"
		}
		var ce *CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %+v, %v; want a *CommandError", in, got, err)
			continue
		}
		if !reflect.DeepEqual(got, Command{}) {
			t.Errorf("%s: returned a command with the error: %+v", in, got)
		}
		if ce.Field != tc.field || !strings.Contains(ce.Msg, tc.msg) {
			t.Errorf("%s:\n got field %q msg %q\nwant field %q msg containing %q", in, ce.Field, ce.Msg, tc.field, tc.msg)
		}
		if tc.id == noID {
			if ce.HasID {
				t.Errorf("%s: error carries id %d, want none", in, ce.ID)
			}
		} else if !ce.HasID || ce.ID != uint64(tc.id) {
			t.Errorf("%s: error carries id %d (HasID %v), want %d", in, ce.ID, ce.HasID, tc.id)
		}
		// The error reply is itself a valid message, and not huge.
		r := ce.Reply()
		if err := r.Validate(); err != nil {
			t.Errorf("%s: reply %+v does not validate: %v", in, r, err)
		}
		if len(r.Error) > 400 {
			t.Errorf("%s: error reply is %d bytes", in, len(r.Error))
		}
	}
}

func TestCommandErrorText(t *testing.T) {
	_, err := DecodeCommand([]byte(`{"id":7,"cmd":"set","run":"r","args":{"knobs":{"lr":-1}}}`))
	want := "proto: command 7 (set): args.knobs.lr: must be in (0, 10], got -1"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	r := err.(*CommandError).Reply()
	if r.ID != 7 || r.OK || r.Code != CodeBadRequest || r.Error != "args.knobs.lr: must be in (0, 10], got -1" {
		t.Fatalf("reply %+v", r)
	}
	_, err = DecodeCommand([]byte(`{"cmd":`))
	if err == nil || err.Error() != "proto: command: cmd: malformed JSON: unexpected end of input" {
		t.Fatalf("got %v", err)
	}
}

func TestEncodeCommand(t *testing.T) {
	c := Command{ID: 42, Cmd: CmdSet, Run: "r1", Token: "tok",
		Args: Args{Knobs: KnobsPatch{Predictor: ptr(false), Augment: map[string]bool{"blur": false}}}}
	b, err := EncodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":42,"cmd":"set","run":"r1","token":"tok","args":{"knobs":{"predictor":false,"augment":{"blur":false}}}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	b, err = EncodeCommand(Command{ID: 1, Cmd: CmdPing})
	if err != nil || string(b) != `{"id":1,"cmd":"ping"}` {
		t.Fatalf("ping: %s, %v", b, err)
	}

	for _, bad := range []Command{
		{ID: 1, Cmd: "nope"},
		{ID: MaxCommandID + 1, Cmd: CmdPing},
		{ID: 1, Cmd: CmdPing, Args: Args{N: 3}},
		{ID: 1, Cmd: CmdPing, Args: Args{Knobs: KnobsPatch{LR: ptr(0.1)}}},
		{ID: 1, Cmd: CmdPause},
		{ID: 1, Cmd: CmdStep, Run: "r"},
		{ID: 1, Cmd: CmdSet, Run: "r"},
		{ID: 1, Cmd: CmdCreate, Args: Args{N: 1}},
		{ID: 1, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{LR: ptr(-1.0)}}},
		{ID: 1, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{TauBase: ptr(nan())}}},
		{ID: 1, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{PredLRMult: ptr(inf())}}},
		{ID: 1, Cmd: CmdSet, Run: "r", Args: Args{Knobs: KnobsPatch{Augment: map[string]bool{"zoom": true}}}},
	} {
		if b, err := EncodeCommand(bad); err == nil {
			t.Errorf("EncodeCommand(%+v) = %s, want an error", bad, b)
		}
	}
}

func TestIsMutating(t *testing.T) {
	for _, c := range CommandNames {
		if IsMutating(c) != (c != CmdPing) {
			t.Errorf("IsMutating(%q) = %v", c, IsMutating(c))
		}
		if _, ok := cmdSpecs[c]; !ok {
			t.Errorf("%q has no spec", c)
		}
	}
	if len(cmdSpecs) != len(CommandNames) {
		t.Errorf("%d specs, %d names", len(cmdSpecs), len(CommandNames))
	}
	if !IsMutating("unknown") {
		t.Error("unknown commands must count as mutating")
	}
}

func TestKnobsPatchApply(t *testing.T) {
	k := Knobs{Predictor: true, TauBase: 0.99, TauSchedule: TauCosine, LR: 1e-3, Batch: 256, PredLRMult: 1,
		Augment: map[string]bool{"crop": true, "blur": true}}
	p := KnobsPatch{Predictor: ptr(false), Batch: ptr(64), Augment: map[string]bool{"blur": false, "noise": true}}
	got := p.Apply(k)
	want := Knobs{Predictor: false, TauBase: 0.99, TauSchedule: TauCosine, LR: 1e-3, Batch: 64, PredLRMult: 1,
		Augment: map[string]bool{"crop": true, "blur": false, "noise": true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if !k.Augment["blur"] || len(k.Augment) != 2 {
		t.Fatal("Apply modified its argument's map")
	}
	if got := (&KnobsPatch{Augment: map[string]bool{"flip": true}}).Apply(Knobs{}); !got.Augment["flip"] {
		t.Fatal("Apply to a nil map")
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}
