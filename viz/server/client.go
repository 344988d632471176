package server

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// client is one websocket connection. Three goroutines touch it: the hub
// (push, setMetrics, setSnapshot, ... under the hub's lock; they never
// block), its writer (writeLoop: the only one that writes data frames) and
// its reader (readLoop, in the HTTP handler: decodes commands, runs them,
// queues the replies).
type client struct {
	s       *Server
	conn    *websocket.Conn
	raw     *batchConn // under conn
	remote  string
	control bool // may send mutating commands without a token

	mu        sync.Mutex
	queue     [][]byte // JSON messages, in order, at most s.opt.QueueSize
	metrics   []slot   // the newest metrics message per run
	snaps     []slot   // the newest snapshot frame per run
	lost      bool     // the queue overflowed: resend the run list once it drains
	fullSince time.Time
	stopping  bool
	code      int // close code and text for the writer to send
	text      string

	wake       chan struct{} // capacity 1: something to write
	done       chan struct{} // closed by stop
	readerDone chan struct{} // closed when readLoop returns

	cmds, flood bucket // command rate, and how long a flood is tolerated (reader only)
}

// slot is a coalescing cell: the newest message of one run.
type slot struct {
	run string
	msg []byte
}

func newClient(s *Server, conn *websocket.Conn, raw *batchConn, remote string, control bool) *client {
	now := time.Now()
	return &client{
		s: s, conn: conn, raw: raw, remote: remote, control: control,
		wake: make(chan struct{}, 1), done: make(chan struct{}), readerDone: make(chan struct{}),
		cmds:  newBucket(s.opt.CommandRate, s.opt.CommandBurst, now),
		flood: newBucket(s.opt.CommandRate, 4*s.opt.CommandBurst, now),
	}
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// push queues a JSON message. A full queue means the client reads more
// slowly than news arrives: the message is dropped (the run list is resent
// when the queue drains, so the client's picture of the runs heals), and a
// client whose queue stays full for SlowTimeout is disconnected.
func (c *client) push(msg []byte) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	if len(c.queue) < c.s.opt.QueueSize {
		c.queue = append(c.queue, msg)
		c.mu.Unlock()
		c.signal()
		return
	}
	c.lost = true
	now := time.Now()
	if c.fullSince.IsZero() {
		c.fullSince = now
	}
	slow := now.Sub(c.fullSince) > c.s.opt.SlowTimeout
	c.mu.Unlock()
	if slow {
		c.drop(fmt.Sprintf("its queue stayed full for %v", c.s.opt.SlowTimeout))
	}
}

func setSlot(slots []slot, run string, msg []byte) []slot {
	for i := range slots {
		if slots[i].run == run {
			slots[i].msg = msg
			return slots
		}
	}
	return append(slots, slot{run, msg})
}

// setMetrics replaces the client's pending metrics of run.
func (c *client) setMetrics(run string, msg []byte) {
	c.mu.Lock()
	c.metrics = setSlot(c.metrics, run, msg)
	c.mu.Unlock()
	c.signal()
}

// setSnapshot replaces the client's pending snapshot of run.
func (c *client) setSnapshot(run string, frame []byte) {
	c.mu.Lock()
	c.snaps = setSlot(c.snaps, run, frame)
	c.mu.Unlock()
	c.signal()
}

// dropRuns forgets pending messages of runs not in keep (deleted runs).
func (c *client) dropRuns(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	filter := func(s []slot) []slot {
		out := s[:0]
		for _, x := range s {
			if keep[x.run] {
				out = append(out, x)
			}
		}
		return out
	}
	c.metrics, c.snaps = filter(c.metrics), filter(c.snaps)
}

// restart replaces everything pending by a fresh hello.
func (c *client) restart(hello []byte) {
	c.mu.Lock()
	c.queue = append(c.queue[:0], hello)
	c.metrics, c.snaps = c.metrics[:0], c.snaps[:0]
	c.lost, c.fullSince = false, time.Time{}
	c.mu.Unlock()
	c.signal()
}

// stop asks the writer to send a close frame and end the connection. It
// never blocks, so the hub may call it. It reports whether this call
// stopped the client (false: it was stopping already).
func (c *client) stop(code int, text string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return false
	}
	c.stopping, c.code, c.text = true, code, text
	close(c.done)
	return true
}

// drop disconnects a client that is too slow.
func (c *client) drop(why string) {
	if c.stop(websocket.ClosePolicyViolation, "too slow") {
		c.s.dropped.Add(1)
		c.s.logf("%s: disconnected: %s", c.remote, why)
	}
}

// batch is what the writer takes in one go.
type batch struct {
	queue          [][]byte
	metrics, snaps []slot
}

// take moves everything pending into b (whose slices it reuses).
func (c *client) take(b *batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.queue = append(b.queue[:0], c.queue...)
	b.metrics = append(b.metrics[:0], c.metrics...)
	b.snaps = append(b.snaps[:0], c.snaps...)
	clear(c.queue) // let the messages go
	c.queue, c.metrics, c.snaps = c.queue[:0], c.metrics[:0], c.snaps[:0]
	if c.lost {
		// Everything queued is written now; what was dropped is made up
		// for by the current run list.
		if r := c.s.hub.lastRuns.Load(); r != nil {
			b.queue = append(b.queue, *r)
		}
		c.lost = false
	}
	c.fullSince = time.Time{}
}

// writeLoop writes everything the hub hands the client, and pings. It
// returns when the client stops or a write fails; the handler then closes
// the connection.
func (c *client) writeLoop() {
	defer func() {
		if p := recover(); p != nil {
			c.s.logf("%s: writer panic: %v", c.remote, p)
			c.stop(websocket.CloseInternalServerErr, "internal error")
			_ = c.conn.Close() // ends the reader
		}
	}()
	ping := time.NewTicker(c.s.opt.PingInterval)
	defer ping.Stop()
	var b batch
	failed := func(err error) bool {
		if err == nil {
			return false
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.drop(fmt.Sprintf("a write blocked for %v", c.s.opt.SlowTimeout))
		} else {
			c.stop(websocket.CloseGoingAway, "write failed")
		}
		return true
	}
	write := func(kind int, msg []byte) bool {
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.s.opt.SlowTimeout))
		return !failed(c.conn.WriteMessage(kind, msg))
	}
	var linger *time.Timer
	if c.s.opt.WriteLinger > 0 {
		linger = time.NewTimer(time.Hour)
		linger.Stop()
		defer linger.Stop()
	}
	for {
		select {
		case <-c.done:
			c.sendClose()
			return
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.opt.SlowTimeout)); err != nil {
				c.stop(websocket.CloseGoingAway, "ping failed")
			}
		case <-c.wake:
			if linger != nil {
				// Let what the lab publishes at about the same time (the
				// runs' metrics, a snapshot) gather into one write.
				linger.Reset(c.s.opt.WriteLinger)
				select {
				case <-linger.C:
				case <-c.done:
					continue
				}
			}
			select {
			case <-c.wake: // taken below with the rest
			default:
			}
			c.take(&b)
			c.raw.begin()
			ok := true
			for i := 0; ok && i < len(b.queue); i++ {
				ok = write(websocket.TextMessage, b.queue[i])
			}
			for i := 0; ok && i < len(b.metrics); i++ {
				ok = write(websocket.TextMessage, b.metrics[i].msg)
			}
			for i := 0; ok && i < len(b.snaps); i++ {
				ok = write(websocket.BinaryMessage, b.snaps[i].msg)
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(c.s.opt.SlowTimeout))
			if err := c.raw.flush(); ok {
				failed(err)
			}
			clear(b.queue)
			clear(b.metrics)
			clear(b.snaps)
		}
	}
}

// sendClose sends the close frame and gives the peer a second to answer
// it, which ends the reader; then it closes the connection. Closing at once
// could reset the connection before the peer has read the frame.
func (c *client) sendClose() {
	c.mu.Lock()
	code, text := c.code, c.text
	c.mu.Unlock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.readerDone:
	case <-t.C:
	}
	_ = c.conn.Close()
}

// readLoop reads commands until the connection ends. After stop it only
// waits for the peer's close frame.
func (c *client) readLoop() {
	defer close(c.readerDone)
	conn := c.conn
	conn.SetReadLimit(proto.MaxMessageSize)
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(c.s.opt.PongTimeout)) }
	alive()
	conn.SetPongHandler(func(string) error { alive(); return nil })
	for {
		kind, msg, err := conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has sent close 1009 (message too big).
				c.s.logf("%s: disconnected: a message over %d bytes", c.remote, proto.MaxMessageSize)
				c.stop(websocket.CloseMessageTooBig, "message too big")
			} else {
				c.stop(websocket.CloseNormalClosure, "")
			}
			return
		}
		select {
		case <-c.done:
			continue
		default:
		}
		alive()
		c.handle(kind, msg)
	}
}

func timeSoon() time.Time { return time.Now().Add(time.Second) }
