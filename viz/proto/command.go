package proto

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Command names: the "cmd" field of a client → server command.
const (
	CmdCreate = "create" // new run; args: preset?, name?
	CmdPause  = "pause"  // run
	CmdResume = "resume" // run
	CmdReset  = "reset"  // run: back to step 0 with fresh weights, same knobs
	CmdDelete = "delete" // run
	CmdStep   = "step"   // run, args: n — do n steps, then pause
	CmdFork   = "fork"   // run, args: name?, knobs? — clone the full state, then patch it
	CmdSet    = "set"    // run, args: knobs — change live knobs at the next step boundary
	CmdPreset = "preset" // args: name — load a preset, replacing every run
	CmdPing   = "ping"   // no effect; the reply shows the connection is alive
)

// MaxStepN is the most steps one step command may ask for.
const MaxStepN = 1000

// cmdSpec says what a command takes: whether it names a run, and which
// args it allows.
type cmdSpec struct {
	run  bool
	args []string
}

var cmdSpecs = map[string]cmdSpec{
	CmdCreate: {false, []string{"preset", "name"}},
	CmdPause:  {true, nil},
	CmdResume: {true, nil},
	CmdReset:  {true, nil},
	CmdDelete: {true, nil},
	CmdStep:   {true, []string{"n"}},
	CmdFork:   {true, []string{"name", "knobs"}},
	CmdSet:    {true, []string{"knobs"}},
	CmdPreset: {false, []string{"name"}},
	CmdPing:   {false, nil},
}

// CommandNames lists every command.
var CommandNames = []string{CmdCreate, CmdPause, CmdResume, CmdReset, CmdDelete, CmdStep, CmdFork, CmdSet, CmdPreset, CmdPing}

// IsMutating reports whether cmd may change the lab, and so needs control
// rights (the teacher token, in a classroom). Only ping is harmless;
// unknown names count as mutating.
func IsMutating(cmd string) bool { return cmd != CmdPing }

// Command is a client → server command. On the wire:
//
//	{"id": 7, "cmd": "set", "run": "r2", "token": "…", "args": {"knobs": {"lr": 0.01}}}
type Command struct {
	// ID is chosen by the client (0..MaxCommandID) and echoed in the Reply.
	ID uint64
	// Cmd is one of the Cmd* constants.
	Cmd string
	// Run is the run the command acts on; required by pause, resume, reset,
	// delete, step, fork and set, not allowed otherwise.
	Run string
	// Token is the teacher token ("" if none). Servers compare it in
	// constant time (crypto/subtle).
	Token string
	// Args are the command's arguments; fields a command does not take
	// must be zero.
	Args Args
}

// Args are the arguments of every command, flattened; each command uses
// the fields listed with it.
type Args struct {
	// Preset (create) is the preset to build the new run from; "" lets the
	// server choose.
	Preset string
	// Name (create, fork) is the display name of the new run, "" for a
	// server-chosen one; (preset, required) the preset to load.
	Name string
	// N (step, required) is the number of steps, 1..MaxStepN.
	N int
	// Knobs (set, required and non-empty) are the knobs to change; (fork,
	// optional) the change applied to the copy before it starts.
	Knobs KnobsPatch
}

// wireCommand is Command as EncodeCommand writes it.
type wireCommand struct {
	ID    uint64    `json:"id"`
	Cmd   string    `json:"cmd"`
	Run   string    `json:"run,omitempty"`
	Token string    `json:"token,omitempty"`
	Args  *wireArgs `json:"args,omitempty"`
}

type wireArgs struct {
	Preset string      `json:"preset,omitempty"`
	Name   string      `json:"name,omitempty"`
	N      int         `json:"n,omitempty"`
	Knobs  *KnobsPatch `json:"knobs,omitempty"`
}

// CommandError is the error of DecodeCommand. When HasID is true the id was
// read, and the server should answer it: send e.Reply().
type CommandError struct {
	ID    uint64
	HasID bool
	// Cmd is the command name, when it was read and is known.
	Cmd string
	// Field is the JSON path of the offending field ("args.knobs.lr"), ""
	// for the message as a whole.
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Detail is the error without the "proto: command N" prefix: field and
// problem, as a reply carries it.
func (e *CommandError) Detail() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func (e *CommandError) Error() string {
	s := "proto: command"
	if e.HasID {
		s += fmt.Sprintf(" %d", e.ID)
	}
	if e.Cmd != "" {
		s += " (" + e.Cmd + ")"
	}
	return s + ": " + e.Detail()
}

// Reply is the error reply to the command (ID 0 when the id could not be
// read).
func (e *CommandError) Reply() Reply {
	return Reply{ID: e.ID, Code: CodeBadRequest, Error: e.Detail()}
}

// Validate checks c against everything DecodeCommand checks.
func (c *Command) Validate() error {
	if c.ID > MaxCommandID {
		return errf("id", "must be at most %d, got %d", uint64(MaxCommandID), c.ID)
	}
	spec, ok := cmdSpecs[c.Cmd]
	if !ok {
		return errf("cmd", "unknown command %s (known: %v)", quote(c.Cmd), CommandNames)
	}
	if spec.run {
		if err := checkID("run", c.Run); err != nil {
			return err
		}
	} else if c.Run != "" {
		return errf("run", "not allowed for %s", c.Cmd)
	}
	if c.Token != "" {
		if err := checkToken("token", c.Token); err != nil {
			return err
		}
	}
	a := &c.Args
	for _, f := range []struct {
		name string
		set  bool
	}{{"preset", a.Preset != ""}, {"name", a.Name != ""}, {"n", a.N != 0}, {"knobs", !a.Knobs.IsEmpty()}} {
		if f.set && !slices.Contains(spec.args, f.name) {
			return errf("args."+f.name, "not allowed for %s", c.Cmd)
		}
	}
	switch c.Cmd {
	case CmdCreate:
		if a.Preset != "" {
			if err := checkID("args.preset", a.Preset); err != nil {
				return err
			}
		}
		if a.Name != "" {
			return checkName("args.name", a.Name)
		}
	case CmdStep:
		if a.N < 1 || a.N > MaxStepN {
			return errf("args.n", "must be in 1..%d, got %d", MaxStepN, a.N)
		}
	case CmdFork:
		if a.Name != "" {
			if err := checkName("args.name", a.Name); err != nil {
				return err
			}
		}
		return prefix("args.knobs", a.Knobs.Validate())
	case CmdSet:
		if a.Knobs.IsEmpty() {
			return errf("args.knobs", "must change at least one knob")
		}
		return prefix("args.knobs", a.Knobs.Validate())
	case CmdPreset:
		return checkID("args.name", a.Name)
	}
	return nil
}

// EncodeCommand validates c and writes it as JSON; absent and zero
// arguments are left out. DecodeCommand of the result gives c back.
func EncodeCommand(c Command) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("proto: encode command: %w", err)
	}
	w := wireCommand{ID: c.ID, Cmd: c.Cmd, Run: c.Run, Token: c.Token}
	a := c.Args
	if a.Preset != "" || a.Name != "" || a.N != 0 || !a.Knobs.IsEmpty() {
		w.Args = &wireArgs{Preset: a.Preset, Name: a.Name, N: a.N}
		if !a.Knobs.IsEmpty() {
			w.Args.Knobs = &a.Knobs
		}
	}
	return json.Marshal(w)
}

// DecodeCommand reads one client → server command. It is strict, because
// the bytes come from any browser that reaches the server: the message must
// be at most MaxMessageSize bytes of one JSON object; keys are
// case-sensitive and unique; unknown commands, fields and augmentations,
// wrong JSON types, missing required fields and out-of-range values are
// rejected. A null value counts as absent, and so does "" for the optional
// strings (run where not required, token, args.name and args.preset of
// create and fork).
//
// Every error is a *CommandError naming the field; its ID is set (HasID)
// whenever the id could be read, even from otherwise malformed JSON, so the
// server can answer the command with e.Reply().
func DecodeCommand(b []byte) (Command, error) {
	e := &CommandError{}
	fail := func(err error) (Command, error) {
		if fe, ok := err.(*fieldError); ok {
			e.Field, e.Msg = fe.Field, fe.Msg
		} else {
			e.Msg = err.Error()
		}
		return Command{}, e
	}
	if len(b) > MaxMessageSize {
		return fail(errf("", "message is %d bytes, the limit is %d", len(b), MaxMessageSize))
	}
	ms, synErr := members(b, "")

	// The id first, so that every later error can be answered.
	var idRaw json.RawMessage
	nid := 0
	for _, m := range ms {
		if m.key == "id" {
			idRaw, nid = m.val, nid+1
		}
	}
	if nid == 1 && string(idRaw) != "null" {
		id, err := getID("id", idRaw)
		if err != nil && synErr == nil {
			return fail(err)
		}
		e.ID, e.HasID = id, err == nil
	}
	if synErr != nil {
		return fail(synErr)
	}
	f, err := fields(ms, "", "id", "cmd", "run", "token", "args")
	if err != nil {
		return fail(err)
	}
	if _, ok := f["id"]; !ok {
		return fail(errf("id", "required"))
	}
	c := Command{ID: e.ID}

	raw, ok := f["cmd"]
	if !ok {
		return fail(errf("cmd", "required"))
	}
	if c.Cmd, err = getString("cmd", raw); err != nil {
		return fail(err)
	}
	spec, ok := cmdSpecs[c.Cmd]
	if !ok {
		return fail(errf("cmd", "unknown command %s (known: %v)", quote(c.Cmd), CommandNames))
	}
	e.Cmd = c.Cmd

	if raw, ok := f["run"]; ok {
		if c.Run, err = getString("run", raw); err != nil {
			return fail(err)
		}
		if !spec.run && c.Run != "" { // "" counts as absent, like null
			return fail(errf("run", "not allowed for %s", c.Cmd))
		}
	} else if spec.run {
		return fail(errf("run", "required for %s", c.Cmd))
	}
	if raw, ok := f["token"]; ok {
		if c.Token, err = getString("token", raw); err != nil {
			return fail(err)
		}
	}

	var args map[string]json.RawMessage
	if raw, ok := f["args"]; ok {
		ams, err := members(raw, "args")
		if err != nil {
			return fail(err)
		}
		if args, err = fields(ams, "args", spec.args...); err != nil {
			return fail(err)
		}
	}
	a := &c.Args
	if raw, ok := args["preset"]; ok {
		if a.Preset, err = getString("args.preset", raw); err != nil {
			return fail(err)
		}
	}
	if raw, ok := args["name"]; ok {
		if a.Name, err = getString("args.name", raw); err != nil {
			return fail(err)
		}
	}
	if raw, ok := args["n"]; ok {
		if a.N, err = getInt("args.n", raw, 1, MaxStepN); err != nil {
			return fail(err)
		}
	}
	if raw, ok := args["knobs"]; ok {
		if a.Knobs, err = decodePatch("args.knobs", raw); err != nil {
			return fail(err)
		}
	}
	switch {
	case c.Cmd == CmdStep && args["n"] == nil:
		return fail(errf("args.n", "required for step"))
	case c.Cmd == CmdSet && args["knobs"] == nil:
		return fail(errf("args.knobs", "required for set"))
	case c.Cmd == CmdPreset && args["name"] == nil:
		return fail(errf("args.name", "required for preset"))
	}
	if err := c.Validate(); err != nil {
		return fail(err)
	}
	return c, nil
}

func decodePatch(field string, raw []byte) (KnobsPatch, error) {
	var p KnobsPatch
	ms, err := members(raw, field)
	if err != nil {
		return p, err
	}
	keys := []string{"predictor", "tau_base", "tau_schedule", "lr", "batch", "pred_lr_mult", "augment"}
	f, err := fields(ms, field, keys...)
	if err != nil {
		return p, err
	}
	// In a fixed order, so that the same input always names the same field.
	for _, key := range keys {
		raw, ok := f[key]
		if !ok {
			continue
		}
		fk := field + "." + key
		switch key {
		case "predictor":
			v, err := getBool(fk, raw)
			if err != nil {
				return p, err
			}
			p.Predictor = &v
		case "tau_schedule":
			v, err := getString(fk, raw)
			if err != nil {
				return p, err
			}
			p.TauSchedule = &v
		case "batch":
			v, err := getInt(fk, raw, MinBatch, MaxBatch)
			if err != nil {
				return p, err
			}
			p.Batch = &v
		case "tau_base", "lr", "pred_lr_mult":
			v, err := getFloat(fk, raw)
			if err != nil {
				return p, err
			}
			switch key {
			case "tau_base":
				p.TauBase = &v
			case "lr":
				p.LR = &v
			default:
				p.PredLRMult = &v
			}
		case "augment":
			ams, err := members(raw, fk)
			if err != nil {
				return p, err
			}
			af, err := fields(ams, fk, AugmentNames...)
			if err != nil {
				return p, err
			}
			for _, name := range AugmentNames {
				raw, ok := af[name]
				if !ok {
					continue
				}
				v, err := getBool(fk+"."+name, raw)
				if err != nil {
					return p, err
				}
				if p.Augment == nil {
					p.Augment = make(map[string]bool, len(af))
				}
				p.Augment[name] = v
			}
		}
	}
	return p, nil
}
