package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// testData is a small shapes dataset, shrunk to 16×16 pixels so a step
// takes about a millisecond.
var testData = sync.OnceValue(func() *data.Dataset {
	ds, err := data.Shapes(data.ShapesConfig{TrainN: 256, TestN: 96})
	if err != nil {
		panic(err)
	}
	ds.Train, ds.Test = halve(ds.Train), halve(ds.Test)
	return ds
})

// halve averages 2×2 pixel blocks.
func halve(s *data.Split) *data.Split {
	h, w := s.H/2, s.W/2
	out := &data.Split{N: s.N, C: s.C, H: h, W: w, Pix: make([]uint8, s.N*s.C*h*w), Labels: s.Labels}
	for i := range s.N {
		src, dst := s.Image(i), out.Image(i)
		for c := range s.C {
			for y := range h {
				for x := range w {
					at := func(dy, dx int) int { return int(src[(c*s.H+2*y+dy)*s.W+2*x+dx]) }
					dst[(c*h+y)*w+x] = uint8((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) / 4)
				}
			}
		}
	}
	return out
}

// testConfig is a run that steps in about a millisecond.
func testConfig(t testing.TB) byol.Config {
	t.Helper()
	c, err := lab.Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	c.Arch = "mlp"
	c.Batch = 16
	c.ProjHidden, c.ProjOut, c.PredHidden = 32, 16, 32
	c.Steps = 1_000_000
	c.Eval.K = 5
	return c
}

// testPreset is the collapse lesson on testConfig: BYOL and no predictor.
func testPreset(t testing.TB) *lab.Preset {
	a, b := testConfig(t), testConfig(t)
	b.Predictor = false
	return &lab.Preset{Name: "test", Dataset: "shapes", Runs: []lab.PresetRun{{Name: "BYOL", Config: a}, {Name: "no predictor", Config: b}}}
}

// testOptions are Options for a fast test server; tests change them.
func testOptions(t testing.TB) Options {
	return Options{
		Lab: lab.Options{
			Threads: 1, Data: testData(), ProbeSize: 64, BankSize: 96,
			SnapshotRate: 20, EvalInterval: time.Second,
		},
		Preset: testPreset(t),
	}
}

// testServer is a running server on a loopback port.
type testServer struct {
	*Server
	addr string // host:port
	stop func() // shuts down and waits for Serve to return
}

func startServer(t testing.TB, opt Options) *testServer {
	t.Helper()
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	ts := &testServer{Server: s, addr: ln.Addr().String()}
	ts.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Serve did not return 30 s after cancel")
			}
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) wsURL(query string) string {
	u := "ws://" + ts.addr + proto.WSPath
	if query != "" {
		u += "?" + query
	}
	return u
}

// steps is the total of all runs' steps.
func (ts *testServer) steps() int {
	n := 0
	for _, r := range ts.Lab().Runs() {
		n += r.Step
	}
	return n
}

// wsClient is a websocket client that keeps what the server said.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn

	mu       sync.Mutex
	hello    *proto.Hello
	runs     []proto.RunInfo
	metrics  map[string]*proto.Metrics
	snaps    map[string]*proto.Snapshot
	nMetrics map[string]int
	nSnaps   map[string]int
	replies  map[uint64]proto.Reply
	events   []proto.Event
	err      error // why reading stopped
	badMsg   error // the first message that did not decode

	nextID uint64
	done   chan struct{}
	onSnap func(*proto.Snapshot) // called by the reader for every snapshot
}

type dialOpt struct {
	header  http.Header
	query   string
	readBuf int // kernel receive buffer; 0: default
	noRead  bool
	onSnap  func(*proto.Snapshot)
}

func dialRaw(ts *testServer, o dialOpt) (*websocket.Conn, *http.Response, error) {
	// A read buffer that holds a whole snapshot: one read per frame, as a
	// browser does, rather than four.
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 32 << 10}
	if o.readBuf > 0 {
		d.NetDial = func(network, addr string) (net.Conn, error) {
			c, err := net.Dial(network, addr)
			if err == nil {
				_ = c.(*net.TCPConn).SetReadBuffer(o.readBuf)
			}
			return c, err
		}
	}
	return d.Dial(ts.wsURL(o.query), o.header)
}

func dial(t testing.TB, ts *testServer, o dialOpt) *wsClient {
	t.Helper()
	conn, resp, err := dialRaw(ts, o)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	conn.SetReadLimit(proto.MaxServerMessageSize)
	c := &wsClient{t: t, conn: conn, metrics: map[string]*proto.Metrics{}, snaps: map[string]*proto.Snapshot{},
		nMetrics: map[string]int{}, nSnaps: map[string]int{}, replies: map[uint64]proto.Reply{},
		done: make(chan struct{}), onSnap: o.onSnap}
	t.Cleanup(func() { c.close() })
	if o.noRead {
		close(c.done)
		return c
	}
	go c.read()
	c.waitFor("hello", 10*time.Second, func() bool { return c.hello != nil })
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		kind, b, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if kind == websocket.BinaryMessage {
			s, err := proto.DecodeSnapshot(b)
			c.mu.Lock()
			if err != nil && c.badMsg == nil {
				c.badMsg = err
			} else if err == nil {
				c.snaps[s.Run] = s
				c.nSnaps[s.Run]++
			}
			c.mu.Unlock()
			if err == nil && c.onSnap != nil {
				c.onSnap(s)
			}
			continue
		}
		m, err := proto.Decode(b)
		c.mu.Lock()
		switch m := m.(type) {
		case *proto.Hello:
			c.hello, c.runs = m, m.Runs
		case *proto.Runs:
			c.runs = m.Runs
		case *proto.Metrics:
			c.metrics[m.Run] = m
			c.nMetrics[m.Run]++
		case *proto.Event:
			c.events = append(c.events, *m)
		case *proto.Reply:
			c.replies[m.ID] = *m
		default:
			if c.badMsg == nil {
				c.badMsg = fmt.Errorf("%v: %s", err, b)
			}
		}
		c.mu.Unlock()
	}
}

func (c *wsClient) close() {
	_ = c.conn.Close()
	<-c.done
}

// waitFor polls cond (called with c.mu held) until it holds.
func (c *wsClient) waitFor(what string, timeout time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		ok, err, bad := cond(), c.err, c.badMsg
		c.mu.Unlock()
		if bad != nil {
			c.t.Fatalf("undecodable message from the server: %v", bad)
		}
		if ok {
			return
		}
		if err != nil {
			c.t.Fatalf("waiting for %s: connection ended: %v", what, err)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendRaw sends a text frame.
func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// reply waits for the reply to id.
func (c *wsClient) reply(id uint64) proto.Reply {
	c.t.Helper()
	var r proto.Reply
	c.waitFor(fmt.Sprintf("reply %d", id), 30*time.Second, func() bool {
		var ok bool
		r, ok = c.replies[id]
		return ok
	})
	return r
}

// do sends a command and waits for its reply.
func (c *wsClient) do(cmd proto.Command) proto.Reply {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	cmd.ID = 1<<20 + c.nextID // apart from the ids tests write by hand
	delete(c.replies, cmd.ID)
	c.mu.Unlock()
	b, err := proto.EncodeCommand(cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
	return c.reply(cmd.ID)
}

// mustOK sends a command that must succeed.
func (c *wsClient) mustOK(cmd proto.Command) proto.Reply {
	c.t.Helper()
	r := c.do(cmd)
	if !r.OK {
		c.t.Fatalf("%s %s: %s: %s", cmd.Cmd, cmd.Run, r.Code, r.Error)
	}
	return r
}

func (c *wsClient) run(id string) (proto.RunInfo, bool) {
	for _, r := range c.runs {
		if r.ID == id {
			return r, true
		}
	}
	return proto.RunInfo{}, false
}

// closeCode waits for the connection to end and returns the close code
// the server sent (0 if the connection ended without one).
func (c *wsClient) closeCode(timeout time.Duration) int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("the connection was not closed within %v", timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ce *websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce.Code
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// waitUntil polls cond until it holds.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// originHeader is an Origin header for a page at u.
func originHeader(u string) http.Header {
	return http.Header{"Origin": {u}}
}
