package server

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// handle answers one message from the client. Whatever it holds, the
// answer goes to this client only, and a refused command changes nothing.
func (c *client) handle(kind int, msg []byte) {
	defer func() {
		if p := recover(); p != nil {
			c.s.logf("%s: handling a message: panic: %v", c.remote, p)
			c.reply(proto.ErrorReply(0, proto.CodeInternal, errors.New("the server failed on this message")))
		}
	}()
	now := time.Now()
	cmd, err := proto.DecodeCommand(msg)
	id := cmd.ID
	var ce *proto.CommandError
	if errors.As(err, &ce) {
		id = ce.ID
	}
	// Every message costs a token, malformed ones too.
	if !c.cmds.take(now) {
		c.reply(proto.ErrorReply(id, proto.CodeRateLimited,
			fmt.Errorf("too many commands: at most %g a second (bursts of %d)", c.s.opt.CommandRate, c.s.opt.CommandBurst)))
		if !c.flood.take(now) {
			c.s.logf("%s: disconnected: kept sending commands over the rate limit", c.remote)
			c.stop(websocket.ClosePolicyViolation, "too many commands")
		}
		return
	}
	switch {
	case kind != websocket.TextMessage:
		c.reply(proto.ErrorReply(0, proto.CodeBadRequest, errors.New("commands are JSON text frames; binary frames are not accepted")))
		return
	case ce != nil:
		c.reply(ce.Reply())
		return
	case err != nil:
		c.reply(proto.ErrorReply(id, proto.CodeBadRequest, err))
		return
	}
	if proto.IsMutating(cmd.Cmd) && !c.control {
		if cmd.Token == "" {
			c.reply(proto.ErrorReply(id, proto.CodeForbidden, errors.New("this client may only watch: the command needs the teacher token")))
			return
		}
		if !tokenOK(c.s.opt.Token, cmd.Token) {
			c.reply(proto.ErrorReply(id, proto.CodeForbidden, errors.New("wrong teacher token")))
			return
		}
	}
	c.reply(c.s.run(cmd))
}

// reply queues r for the client.
func (c *client) reply(r proto.Reply) {
	b, err := proto.Encode(r)
	if err != nil {
		c.s.logf("reply: %v", err)
		b, _ = proto.Encode(proto.ErrorReply(r.ID, proto.CodeInternal, errors.New("the reply could not be encoded")))
	}
	if b != nil {
		c.push(b)
	}
}

// run carries out a checked command on the lab. A panic becomes an
// internal error reply.
func (s *Server) run(cmd proto.Command) (reply proto.Reply) {
	defer func() {
		if p := recover(); p != nil {
			s.logf("command %s: panic: %v", cmd.Cmd, p)
			reply = proto.ErrorReply(cmd.ID, proto.CodeInternal, fmt.Errorf("the server failed on %s", cmd.Cmd))
		}
	}()
	if proto.IsMutating(cmd.Cmd) && !s.labCmds.take() {
		return proto.ErrorReply(cmd.ID, proto.CodeRateLimited, errors.New("the lab is getting too many commands from all clients; try again in a moment"))
	}
	l := s.lab
	var (
		newRun string
		err    error
		code   = proto.CodeConflict // for lab errors on an existing run
	)
	switch cmd.Cmd {
	case proto.CmdPing:
	case proto.CmdPause:
		err = l.Pause(cmd.Run)
	case proto.CmdResume:
		err = l.Resume(cmd.Run)
	case proto.CmdReset:
		err = l.Reset(cmd.Run)
	case proto.CmdDelete:
		err = l.Delete(cmd.Run)
	case proto.CmdStep:
		err = l.Step(cmd.Run, cmd.Args.N)
	case proto.CmdSet:
		code = proto.CodeBadRequest // the lab refuses values beyond its own limits (batch)
		err = l.Set(cmd.Run, knobs(cmd.Args.Knobs))
	case proto.CmdFork:
		code = proto.CodeBadRequest
		newRun, err = l.Fork(cmd.Run, cmd.Args.Name, knobs(cmd.Args.Knobs))
	case proto.CmdCreate:
		newRun, code, err = s.create(cmd.Args.Preset, cmd.Args.Name)
	case proto.CmdPreset:
		code, err = s.loadPreset(cmd.Args.Name)
	default:
		code, err = proto.CodeBadRequest, fmt.Errorf("unknown command %q", cmd.Cmd)
	}
	switch {
	case err == nil:
		return proto.Reply{ID: cmd.ID, OK: true, Run: newRun}
	case errors.Is(err, lab.ErrClosed):
		code = proto.CodeInternal
		err = errors.New("the server is shutting down")
	case cmd.Run != "" && !s.hasRun(cmd.Run):
		code = proto.CodeNotFound
		err = fmt.Errorf("no run %q", cmd.Run)
	}
	return proto.ErrorReply(cmd.ID, code, err)
}

func (s *Server) hasRun(id string) bool {
	return slices.ContainsFunc(s.lab.Runs(), func(r lab.RunInfo) bool { return r.ID == id })
}

// knobs converts a protocol patch to the lab's.
func knobs(p proto.KnobsPatch) lab.Knobs {
	return lab.Knobs{
		Predictor: p.Predictor, PredLRMult: p.PredLRMult, TauBase: p.TauBase, TauSchedule: p.TauSchedule,
		LR: p.LR, Batch: p.Batch, Augment: p.Augment,
	}
}

// create adds a run: the first run of the named built-in preset, or of the
// preset the lab was loaded from. It runs at once unless the preset says
// paused.
func (s *Server) create(preset, name string) (string, string, error) {
	var p *lab.Preset
	if preset != "" {
		if !slices.Contains(lab.PresetNames(), preset) {
			// Only built-in names: a client never makes the server open a file.
			return "", proto.CodeNotFound, fmt.Errorf("no preset %q (known: %v)", preset, lab.PresetNames())
		}
		var err error
		if p, err = lab.ReadPreset(preset); err != nil {
			return "", proto.CodeInternal, err
		}
	} else {
		p = s.currentPreset()
	}
	var cfg lab.PresetRun
	if p != nil && len(p.Runs) > 0 {
		cfg = p.Runs[0]
	} else {
		dataset := "shapes"
		if pr := s.lab.Probe(); pr != nil {
			dataset = pr.Dataset
		}
		c, err := lab.Defaults(dataset)
		if err != nil {
			return "", proto.CodeInternal, err
		}
		cfg = lab.PresetRun{Name: "", Config: c}
	}
	if name == "" {
		name = cfg.Name
	}
	id, err := s.lab.Create(name, cfg.Config)
	if err != nil {
		return "", proto.CodeConflict, err
	}
	if p == nil || !p.Paused {
		if err := s.lab.Resume(id); err != nil {
			s.logf("create: resuming %s: %v", id, err)
		}
	}
	return id, "", nil
}

// loadPreset replaces the runs by a built-in preset.
func (s *Server) loadPreset(name string) (string, error) {
	if !slices.Contains(lab.PresetNames(), name) {
		return proto.CodeNotFound, fmt.Errorf("no preset %q (known: %v)", name, lab.PresetNames())
	}
	p, err := lab.ReadPreset(name)
	if err != nil {
		return proto.CodeInternal, err
	}
	if err := s.lab.UsePreset(p); err != nil {
		return proto.CodeConflict, err
	}
	s.setPreset(p)
	return "", nil
}
