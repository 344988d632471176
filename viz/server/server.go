// Package server serves a live lab (core/lab) to browsers: the frontend at
// /, the websocket of viz/proto at /ws, the probe images at /probe/, and
// /healthz.
//
// Training never waits for a client. The lab publishes into a hub that
// encodes each event once and hands it to every client without blocking;
// each client has its own writer goroutine, a bounded queue for messages
// that must arrive (runs, events, replies) and one slot per run for
// metrics and snapshot frames, where a newer one replaces an older one, so
// a slow client sees fewer frames instead of older ones. A client whose
// queue stays full, or whose writes block, for SlowTimeout is disconnected.
//
// What clients see, beyond viz/proto's README: metrics are sent at most
// MetricsRate times a second per run (the newest step always arrives);
// std, rank and mean_cos in a metrics message are those of the run's last
// snapshot, and knn that of its last evaluation, present from the first
// one on; a snapshot's collapsed flag is the detector's state before that
// snapshot (its notice follows the frame); and when a preset on another
// dataset replaces the runs, every client gets a new hello, since the
// probe changed.
//
// In a classroom (a non-loopback address) the lab is given a teacher
// token: mutating commands need it, from the connection's ?token= or in the
// command, and everyone else watches. See Options for the other limits.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// Options configure a Server. Zero values take the defaults given.
type Options struct {
	// Lab configures the lab the server runs. Its Sink, if set, receives
	// every event too (before the clients; it must not block either).
	Lab lab.Options
	// Preset is loaded into the lab by New (nil: no runs; clients or the
	// caller create them). Its first run is what `create` without a
	// preset makes.
	Preset *lab.Preset

	// Frontend serves / and everything but /ws and /healthz (nil: a
	// plain page that says the frontend is not in this build, with the
	// runs' status).
	Frontend http.Handler

	// Token is the teacher token. Empty: every client controls the lab
	// (the loopback default). Set: only clients that present it — as
	// ?token= on /ws or in a command — may send mutating commands, unless
	// OpenControls.
	Token        string
	OpenControls bool
	// AllowOrigins are extra origins ("http://host:port") or hosts
	// ("host:port", "host") whose pages may open the websocket, besides
	// the server's own pages and, from this machine, loopback pages.
	AllowOrigins []string

	MaxClients   int     // websocket clients at once (0: 200); more get HTTP 503
	CommandRate  float64 // commands a second per client (0: 20)
	CommandBurst int     // burst of commands per client (0: 40)
	// LabCommandRate bounds the mutating commands of all clients together,
	// a second (0: 100; burst twice that): each waits for a step boundary.
	LabCommandRate float64
	QueueSize      int           // JSON messages queued per client (0: 256)
	SlowTimeout    time.Duration // a client whose queue stays full, or a write blocks, this long is dropped (0: 10 s)
	PingInterval   time.Duration // websocket pings (0: 20 s)
	PongTimeout    time.Duration // no pong or message this long closes the connection (0: 60 s)
	// MetricsRate bounds the metrics messages per second per run (0: 10;
	// < 0: every step). The newest step is always sent.
	MetricsRate float64
	// WriteLinger is how long a client's writer waits after the first new
	// message before it writes, so that messages published together leave
	// in one system call (0: 10 ms; < 0: none). It adds at most that much
	// latency.
	WriteLinger time.Duration
	// SendBuffer sets the kernel send buffer of each connection, in bytes
	// (0: the system's default). Smaller buffers bound memory per client
	// and make a stalled client show sooner.
	SendBuffer int

	// CheckpointDir: Serve saves every run there on shutdown, in a new
	// directory named by the time ("" : no checkpoints).
	CheckpointDir string

	ServerName string      // in hello ("": "byol-lab")
	Log        *log.Logger // connections dropped, errors, checkpoints (nil: discarded)
}

func (o *Options) fill() {
	if o.MaxClients <= 0 {
		o.MaxClients = 200
	}
	if !(o.CommandRate > 0) {
		o.CommandRate = 20
	}
	if o.CommandBurst <= 0 {
		o.CommandBurst = 40
	}
	if !(o.LabCommandRate > 0) {
		o.LabCommandRate = 100
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.SlowTimeout <= 0 {
		o.SlowTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 60 * time.Second
	}
	if o.WriteLinger == 0 {
		o.WriteLinger = 10 * time.Millisecond
	}
	if o.MetricsRate == 0 {
		o.MetricsRate = 10
	}
	if o.ServerName == "" {
		o.ServerName = "byol-lab"
	}
	if o.Log == nil {
		o.Log = log.New(io.Discard, "", 0)
	}
}

// Server is a lab and its HTTP and websocket front.
type Server struct {
	opt Options
	lab *lab.Lab
	hub *hub

	upgrader websocket.Upgrader
	access   *access
	conns    atomic.Int64 // websocket requests being served (for MaxClients)
	labCmds  sharedBucket
	started  atomic.Bool

	presetMu sync.Mutex
	preset   *lab.Preset
	probeIDs probeIDs

	published atomic.Uint64 // snapshot frames encoded (tests)
	dropped   atomic.Uint64 // clients disconnected as too slow
}

// New builds the lab and loads opt.Preset into it. Nothing runs until
// Serve.
func New(opt Options) (*Server, error) {
	opt.fill()
	if opt.Token != "" {
		if err := validToken(opt.Token); err != nil {
			return nil, err
		}
	}
	s := &Server{opt: opt}
	s.hub = newHub(s, opt.MetricsRate)
	lo := opt.Lab
	lo.Sink = s.hub
	s.lab = lab.New(lo)
	s.labCmds = sharedBucket{b: newBucket(opt.LabCommandRate, int(2*opt.LabCommandRate), time.Now())}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  16 << 10,
		WriteBufferPool:  &sync.Pool{}, // idle clients hold no write buffer
		CheckOrigin:      func(r *http.Request) bool { return s.access.originOK(r) },
	}
	if opt.Preset != nil {
		if err := s.lab.UsePreset(opt.Preset); err != nil {
			s.lab.Close()
			return nil, err
		}
		s.setPreset(opt.Preset)
	}
	return s, nil
}

func validToken(t string) error {
	if len(t) > proto.MaxTokenLen {
		return fmt.Errorf("server: token longer than %d bytes", proto.MaxTokenLen)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return errors.New("server: the token must be printable ASCII without spaces")
		}
	}
	return nil
}

// Lab is the server's lab.
func (s *Server) Lab() *lab.Lab { return s.lab }

// Clients is the number of connected websocket clients.
func (s *Server) Clients() int { return s.hub.count() }

func (s *Server) logf(format string, args ...any) { s.opt.Log.Printf(format, args...) }

func (s *Server) setPreset(p *lab.Preset) {
	s.presetMu.Lock()
	defer s.presetMu.Unlock()
	s.preset = p
}

func (s *Server) currentPreset() *lab.Preset {
	s.presetMu.Lock()
	defer s.presetMu.Unlock()
	return s.preset
}

// presetName is the current preset's name when it is a protocol id.
func (s *Server) presetName() string {
	if p := s.currentPreset(); p != nil && isID(p.Name) {
		return p.Name
	}
	return ""
}

func (s *Server) snapshotHz() float64 {
	r := s.opt.Lab.SnapshotRate
	switch {
	case r == 0:
		return 5 // the lab's default
	case r < 0 || math.IsNaN(r):
		return 1e-3 // none: the protocol wants a positive rate
	}
	return min(r, 1000)
}

// Serve runs the lab and serves HTTP on ln until ctx is done, then shuts
// down: it stops accepting, closes every websocket with a close frame
// (1001, going away), stops the lab, saves every run to CheckpointDir and
// closes the lab. It returns nil after a shutdown asked for by ctx. A
// Server serves once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("server: Serve called twice")
	}
	s.access = newAccess(IsLoopback(ln.Addr().String()), s.opt.AllowOrigins)
	labCtx, stopLab := context.WithCancel(context.Background())
	labDone := make(chan struct{})
	go func() {
		defer close(labDone)
		if err := s.lab.Run(labCtx); err != nil && !errors.Is(err, lab.ErrClosed) {
			s.logf("lab: %v", err)
		}
	}()
	hs := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          s.opt.Log,
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Serve(ln) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-httpDone:
		err = fmt.Errorf("server: %w", err)
	}
	s.shutdown(hs, stopLab, labDone)
	return err
}

// shutdownGrace is how long clients get to answer the close frame before
// their connections are cut.
const shutdownGrace = 3 * time.Second

func (s *Server) shutdown(hs *http.Server, stopLab func(), labDone <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = hs.Shutdown(ctx) // stops accepting; websockets are hijacked, so not waited for
	clients := s.hub.close(websocket.CloseGoingAway, "the server is shutting down")
	gone := make(chan struct{})
	go func() { s.hub.conns.Wait(); close(gone) }()
	select {
	case <-gone:
	case <-time.After(shutdownGrace):
		for _, c := range clients {
			_ = c.conn.Close()
		}
		<-gone
	}
	stopLab()
	<-labDone
	if s.opt.CheckpointDir != "" && len(s.lab.Runs()) > 0 {
		dir := filepath.Join(s.opt.CheckpointDir, time.Now().Format("20060102-150405"))
		files, err := s.lab.SaveAll(dir)
		if err != nil {
			s.logf("checkpoints: %v", err)
		}
		s.logf("saved %d run checkpoint(s) to %s", len(files), dir)
	}
	s.lab.Close()
}

// sharedBucket is a token bucket for many goroutines.
type sharedBucket struct {
	mu sync.Mutex
	b  bucket
}

func (s *sharedBucket) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.take(time.Now())
}
