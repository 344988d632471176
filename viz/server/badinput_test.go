package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// TestBadInput: whatever a client sends, it gets an error reply, and
// nothing else happens: the other client keeps streaming, the runs keep
// stepping with their knobs unchanged.
func TestBadInput(t *testing.T) {
	opt := testOptions(t)
	opt.CommandRate, opt.CommandBurst = 1000, 1000
	ts := startServer(t, opt)
	bad := dial(t, ts, dialOpt{})
	good := dial(t, ts, dialOpt{})
	run := bad.hello.Runs[0].ID
	knobsBefore := bad.hello.Runs[0].Knobs

	for i, tc := range []struct {
		msg, code, want string
		id              uint64
	}{
		{`{"id": 1, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"lr": `, proto.CodeBadRequest, "", 1},
		{`not json at all`, proto.CodeBadRequest, "", 0},
		{`[1, 2, 3]`, proto.CodeBadRequest, "", 0},
		{`{"id": 2, "cmd": "launch"}`, proto.CodeBadRequest, "unknown command", 2},
		{`{"id": 3, "cmd": "pause", "run": 7}`, proto.CodeBadRequest, "run", 3},
		{`{"id": 4, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"lr": "NaN"}}}`, proto.CodeBadRequest, "args.knobs.lr", 4},
		{`{"id": 5, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"lr": -0.1}}}`, proto.CodeBadRequest, "args.knobs.lr", 5},
		{`{"id": 6, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"lr": 1e999}}}`, proto.CodeBadRequest, "args.knobs.lr", 6},
		{`{"id": 7, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"batch": 0}}}`, proto.CodeBadRequest, "args.knobs.batch", 7},
		{`{"id": 8, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"batch": 1e9}}}`, proto.CodeBadRequest, "args.knobs.batch", 8},
		{`{"id": 9, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"tau_base": 2}}}`, proto.CodeBadRequest, "args.knobs.tau_base", 9},
		{`{"id": 10, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"predictor": "no"}}}`, proto.CodeBadRequest, "args.knobs.predictor", 10},
		{`{"id": 11, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"augment": {"warp": true}}}}`, proto.CodeBadRequest, "augment", 11},
		{`{"id": 12, "cmd": "step", "run": "` + run + `", "args": {"n": 0}}`, proto.CodeBadRequest, "args.n", 12},
		{`{"id": 13, "cmd": "step", "run": "` + run + `", "args": {"n": 1.5}}`, proto.CodeBadRequest, "args.n", 13},
		{`{"id": 14, "cmd": "set", "run": "` + run + `", "args": {"knobs": {}}}`, proto.CodeBadRequest, "knobs", 14},
		{`{"id": 15, "cmd": "ping", "extra": 1}`, proto.CodeBadRequest, "extra", 15},
		{`{"id": -1, "cmd": "ping"}`, proto.CodeBadRequest, "id", 0},
		{`{"id": 16, "cmd": "pause", "run": "../../etc"}`, proto.CodeBadRequest, "run", 16},
		// Well-formed, but the lab says no.
		{`{"id": 17, "cmd": "pause", "run": "r999"}`, proto.CodeNotFound, "r999", 17},
		{`{"id": 18, "cmd": "fork", "run": "nope"}`, proto.CodeNotFound, "nope", 18},
		{`{"id": 19, "cmd": "set", "run": "` + run + `", "args": {"knobs": {"batch": 4000}}}`, proto.CodeBadRequest, "batch", 19},
		{`{"id": 20, "cmd": "preset", "args": {"name": "no-such-lesson"}}`, proto.CodeNotFound, "no-such-lesson", 20},
		{`{"id": 21, "cmd": "create", "args": {"preset": "go.mod"}}`, proto.CodeNotFound, "go.mod", 21},
		{`{"id": 22, "cmd": "step", "run": "` + run + `", "args": {"n": 1000000000}}`, proto.CodeBadRequest, "args.n", 22},
	} {
		bad.mu.Lock()
		delete(bad.replies, tc.id)
		bad.mu.Unlock()
		bad.sendRaw([]byte(tc.msg))
		r := bad.reply(tc.id)
		if r.OK || r.Code != tc.code || !strings.Contains(r.Error, tc.want) {
			t.Errorf("case %d %s: reply %+v, want code %s mentioning %q", i, tc.msg, r, tc.code, tc.want)
		}
	}
	// A binary frame is not a command.
	bad.mu.Lock()
	delete(bad.replies, 0)
	bad.mu.Unlock()
	if err := bad.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if r := bad.reply(0); r.OK || r.Code != proto.CodeBadRequest {
		t.Errorf("binary frame: %+v", r)
	}

	// Nothing reached the other client, the runs kept stepping and their
	// knobs are what they were.
	good.mu.Lock()
	n := len(good.replies)
	good.mu.Unlock()
	if n != 0 {
		t.Errorf("the other client got %d replies", n)
	}
	before := ts.steps()
	good.mu.Lock()
	m0 := good.nMetrics[run]
	good.mu.Unlock()
	waitUntil(t, "steps after the bad input", 30*time.Second, func() bool { return ts.steps() > before+20 })
	good.waitFor("more metrics", 10*time.Second, func() bool { return good.nMetrics[run] > m0 })
	if r, _ := good.run(run); r.State != proto.StateRunning || r.Knobs.LR != knobsBefore.LR || r.Knobs.Batch != knobsBefore.Batch || r.Knobs.TauBase != knobsBefore.TauBase {
		t.Errorf("run changed: %+v (was %+v)", r, knobsBefore)
	}
	bad.mustOK(proto.Command{Cmd: proto.CmdPing}) // and the sender is still served

	// A message over the limit closes that connection with 1009, and only it.
	big := `{"id": 1, "cmd": "ping", "pad": "` + strings.Repeat("x", proto.MaxMessageSize) + `"}`
	bad.sendRaw([]byte(big))
	if code := bad.closeCode(5 * time.Second); code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized message: close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
	good.mustOK(proto.Command{Cmd: proto.CmdPing})
	dial(t, ts, dialOpt{}).mustOK(proto.Command{Cmd: proto.CmdPing})
	waitUntil(t, "steps after the oversized message", 30*time.Second, func() bool { return ts.steps() > before+40 })
}

// TestClassroom: with a teacher token viewers are read-only; the token in
// the URL or in a command gives control; --open-controls gives everyone
// control.
func TestClassroom(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	opt := testOptions(t)
	opt.Token = token
	ts := startServer(t, opt)
	viewer := dial(t, ts, dialOpt{})
	if !viewer.hello.ReadOnly {
		t.Fatal("viewer not read-only")
	}
	run := viewer.hello.Runs[0].ID
	pause := proto.Command{Cmd: proto.CmdPause, Run: run}
	for _, cmd := range []proto.Command{pause,
		{Cmd: proto.CmdCreate}, {Cmd: proto.CmdPreset, Args: proto.Args{Name: "collapse"}},
		{Cmd: proto.CmdSet, Run: run, Args: proto.Args{Knobs: proto.KnobsPatch{Predictor: ptr(false)}}},
	} {
		if r := viewer.do(cmd); r.OK || r.Code != proto.CodeForbidden {
			t.Errorf("viewer %s: %+v", cmd.Cmd, r)
		}
	}
	wrong := pause
	wrong.Token = "not-the-token"
	if r := viewer.do(wrong); r.OK || r.Code != proto.CodeForbidden || !strings.Contains(r.Error, "wrong") {
		t.Errorf("wrong token: %+v", r)
	}
	viewer.mustOK(proto.Command{Cmd: proto.CmdPing})
	if r, _ := viewer.run(run); r.State != proto.StateRunning {
		t.Fatal("a refused command changed the run")
	}
	// The token in a command.
	withToken := pause
	withToken.Token = token
	viewer.mustOK(withToken)

	// The token in the URL.
	teacher := dial(t, ts, dialOpt{query: "token=" + token})
	if teacher.hello.ReadOnly {
		t.Fatal("teacher read-only")
	}
	teacher.mustOK(proto.Command{Cmd: proto.CmdResume, Run: run})
	if bad := dial(t, ts, dialOpt{query: "token=guess"}); !bad.hello.ReadOnly {
		t.Fatal("a wrong URL token gave control")
	}
	ts.stop()

	opt.OpenControls = true
	ts = startServer(t, opt)
	open := dial(t, ts, dialOpt{})
	if open.hello.ReadOnly {
		t.Fatal("open controls: read-only")
	}
	open.mustOK(proto.Command{Cmd: proto.CmdPause, Run: open.hello.Runs[0].ID})

	// Without a token (loopback default) everyone controls.
	opt.Token, opt.OpenControls = "", false
	ts2 := startServer(t, opt)
	if c := dial(t, ts2, dialOpt{}); c.hello.ReadOnly {
		t.Fatal("no token: read-only")
	}
	if _, err := New(Options{Token: "has space"}); err == nil {
		t.Fatal("a token with a space accepted")
	}
}

// TestOriginAndHost: pages from other sites may not connect; the server's
// own pages, allowed origins and local pages may; a loopback server
// refuses Host names that are not loopback (DNS rebinding).
func TestOriginAndHost(t *testing.T) {
	opt := testOptions(t)
	opt.AllowOrigins = []string{"https://lab.example.org", "dev.example:5173"}
	ts := startServer(t, opt)
	port := ts.addr[strings.LastIndex(ts.addr, ":")+1:]
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + ts.addr, true},
		{"http://localhost:" + port, true},
		{"http://localhost:3000", true}, // a local page, on this machine
		{"https://lab.example.org", true},
		{"http://dev.example:5173", true},
		{"http://evil.example", false},
		{"http://lab.example.org", false}, // scheme differs
		{"null", false},
		{"file:///tmp/x.html", false},
	} {
		var h http.Header
		if tc.origin != "" {
			h = originHeader(tc.origin)
		}
		conn, resp, err := dialRaw(ts, dialOpt{header: h})
		if tc.ok != (err == nil) {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("origin %q: err %v (HTTP %d), want ok=%v", tc.origin, err, status, tc.ok)
		}
		if err == nil {
			conn.Close()
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: want 403, got %v", tc.origin, resp)
		}
	}

	req, _ := http.NewRequest("GET", "http://"+ts.addr+"/healthz", nil)
	req.Host = "rebound.example:" + port
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host on a loopback server: %d", resp.StatusCode)
	}
	req.Host = "localhost:" + port
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("Host localhost: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestLimits: the command rate limit, flooding, the client limit.
func TestLimits(t *testing.T) {
	opt := testOptions(t)
	opt.CommandRate, opt.CommandBurst = 1, 5
	opt.MaxClients = 3
	ts := startServer(t, opt)
	c := dial(t, ts, dialOpt{})
	start := time.Now()
	for i := range 10 {
		b, _ := proto.EncodeCommand(proto.Command{ID: uint64(100 + i), Cmd: proto.CmdPing})
		c.sendRaw(b)
	}
	limited := 0
	for i := range 10 {
		if r := c.reply(uint64(100 + i)); !r.OK {
			if r.Code != proto.CodeRateLimited {
				t.Fatalf("reply %+v", r)
			}
			limited++
		}
	}
	// 5 pass at once, one more a second while they are read.
	if el := time.Since(start); limited < 5-int(el.Seconds())-1 || limited == 0 {
		t.Fatalf("%d of 10 pings rate-limited at 1/s burst 5 (in %v)", limited, el)
	}
	time.Sleep(1100 * time.Millisecond)
	c.mustOK(proto.Command{Cmd: proto.CmdPing}) // tokens come back

	// Three clients at most: the fourth gets 503.
	dial(t, ts, dialOpt{})
	dial(t, ts, dialOpt{})
	_, resp, err := dialRaw(ts, dialOpt{})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("fourth client: %v %v", resp, err)
	}

	// A client that keeps flooding is disconnected (policy violation).
	flood, _ := proto.EncodeCommand(proto.Command{ID: 1, Cmd: proto.CmdPing})
	for range 200 {
		if c.conn.WriteMessage(websocket.TextMessage, flood) != nil {
			break
		}
	}
	if code := c.closeCode(10 * time.Second); code != websocket.ClosePolicyViolation {
		t.Fatalf("flooding client: close code %d", code)
	}
	// Its place is free again.
	waitUntil(t, "the slot freed", 5*time.Second, func() bool { return ts.Clients() == 2 })
	dial(t, ts, dialOpt{}).mustOK(proto.Command{Cmd: proto.CmdPing})
}
