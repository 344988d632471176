package server

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// hub is the lab's Sink: it turns every event into one encoded message or
// frame, shared by all clients, and hands it to each client without
// waiting. The lab calls Publish with its work lock held, so a Publish
// that waited for a network write would stall training; here it costs an
// encode plus a few pointer stores per client.
//
// Per client, JSON messages that carry state or news (runs, events,
// replies, hello) queue in order; metrics and snapshots only ever matter at
// their newest, so each client holds at most one of each per run and a
// newer one replaces it: a slow client skips frames instead of falling
// behind.
type hub struct {
	s *Server

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	conns   sync.WaitGroup // one per registered client, Done when it is gone
	runs    map[string]*runView
	order   []string // run ids in display order, from the last run list
	gen     uint64   // counts the messages queued for every client (hello → stream consistency)

	lastRuns     atomic.Pointer[[]byte] // the newest runs message: resyncs a client that lost messages
	metricsEvery time.Duration
	warned       map[string]bool // runs whose info needed fitting, logged once
}

// runView is what the hub remembers of a run: the numbers of its last
// snapshot and evaluation (metrics messages carry them between snapshots),
// and its newest metrics message and snapshot frame, which a client that
// connects gets at once (a paused run sends nothing new).
type runView struct {
	std, rank, meanCos float64
	knn                map[string]proto.Float
	collapsed, predOff bool

	last      *proto.Metrics // newest metrics, sent or pending
	pending   bool           // last is waiting for the metrics rate
	sentAt    time.Time
	timer     *time.Timer
	lastMsg   []byte // encoded last sent metrics
	lastFrame []byte // newest snapshot frame
}

func newHub(s *Server, metricsRate float64) *hub {
	h := &hub{s: s, clients: map[*client]struct{}{}, runs: map[string]*runView{}, warned: map[string]bool{}}
	if metricsRate > 0 {
		h.metricsEvery = time.Duration(float64(time.Second) / metricsRate)
	}
	return h
}

func (h *hub) view(id string) *runView {
	v := h.runs[id]
	if v == nil {
		v = &runView{}
		h.runs[id] = v
	}
	return v
}

// add registers c and queues its hello and the newest picture of every
// run, so that the client sees every message after the state its hello
// describes, none twice. The hello is built outside the hub's lock (a
// classful of browsers connecting at once must not hold up Publish) and
// built again if a message went out meanwhile. It reports false once the
// hub is closed.
func (h *hub) add(c *client) bool {
	for range 3 {
		h.mu.Lock()
		gen, closed := h.gen, h.closed
		h.mu.Unlock()
		if closed {
			return false
		}
		hello, err := h.s.helloMessage(c.control, h.s.lab.Probe())
		if err != nil {
			h.s.logf("hello: %v", err)
			return false
		}
		h.mu.Lock()
		ok := !h.closed && h.gen == gen
		if ok {
			h.registerLocked(c, hello)
		}
		h.mu.Unlock()
		if ok {
			return true
		}
	}
	// Messages keep going out: build it under the lock.
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	hello, err := h.s.helloMessage(c.control, h.s.lab.Probe())
	if err != nil {
		h.s.logf("hello: %v", err)
		return false
	}
	h.registerLocked(c, hello)
	return true
}

// registerLocked adds c, its hello first, then the newest metrics and
// snapshot of every run. Call with h.mu held.
func (h *hub) registerLocked(c *client, hello []byte) {
	c.push(hello)
	for _, id := range h.order {
		if v := h.runs[id]; v != nil {
			if v.lastMsg != nil {
				c.setMetrics(id, v.lastMsg)
			}
			if v.lastFrame != nil {
				c.setSnapshot(id, v.lastFrame)
			}
		}
	}
	h.clients[c] = struct{}{}
	h.conns.Add(1)
}

// remove forgets c; it is called once per added client.
func (h *hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		h.conns.Done()
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// close refuses new clients and asks every client to go with a close frame
// of the given code. It returns the clients it asked.
func (h *hub) close(code int, text string) []*client {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	out := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		c.stop(code, text)
		out = append(out, c)
	}
	for _, v := range h.runs {
		if v.timer != nil {
			v.timer.Stop()
			v.timer = nil
		}
	}
	return out
}

// Publish implements lab.Sink. It never blocks on a client.
func (h *hub) Publish(e lab.Event) {
	if t := h.s.opt.Lab.Sink; t != nil {
		func() {
			defer func() { _ = recover() }()
			t.Publish(e)
		}()
	}
	defer func() {
		if p := recover(); p != nil {
			h.s.logf("publish %T: panic: %v", e, p)
		}
	}()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	switch e := e.(type) {
	case lab.Metrics:
		v := h.view(e.Run)
		v.last = &proto.Metrics{
			Run: e.Run, Step: uint64(max(e.Step, 0)), Time: e.Time.UnixMilli(),
			Loss: proto.Float(e.Loss), LR: proto.Float(e.LR), Tau: proto.Float(e.Tau), ImgsPerS: proto.Float(e.ImgPerSec),
		}
		v.pending = true
		h.flushMetrics(e.Run, v)
	case lab.Snapshot:
		h.snapshot(e)
	case lab.Eval:
		v := h.view(e.Run)
		v.knn = make(map[string]proto.Float, len(e.KNN))
		for name, acc := range e.KNN {
			if isID(name) && len(v.knn) < proto.MaxLabelSets {
				v.knn[name] = proto.Float(acc)
			}
		}
		// The accuracy rides on the run's newest metrics, sent again
		// (a paused run has no next step to carry it).
		if v.last != nil {
			v.pending = true
			h.flushMetrics(e.Run, v)
		}
	case lab.Notice:
		h.notice(e)
	case lab.RunList:
		h.runList(e)
	case lab.ProbeChanged:
		h.probeChanged(e.Probe)
	}
}

// flushMetrics sends v's pending metrics now, or arms a timer for when the
// metrics rate allows: clients get at most metricsEvery⁻¹ metrics a second
// per run, and always the newest step.
func (h *hub) flushMetrics(id string, v *runView) {
	if !v.pending || v.last == nil {
		return
	}
	now := time.Now()
	if wait := v.sentAt.Add(h.metricsEvery).Sub(now); h.metricsEvery > 0 && !v.sentAt.IsZero() && wait > 0 {
		if v.timer == nil {
			v.timer = time.AfterFunc(wait, func() {
				h.mu.Lock()
				defer h.mu.Unlock()
				if h.runs[id] == v && !h.closed {
					v.timer = nil
					h.flushMetrics(id, v)
				}
			})
		}
		return
	}
	m := *v.last
	m.Std, m.Rank, m.MeanCos, m.Collapsed = proto.Float(v.std), proto.Float(v.rank), proto.Float(v.meanCos), v.collapsed
	if len(v.knn) > 0 {
		m.KNN = v.knn
	}
	b, err := proto.Encode(m)
	if err != nil {
		h.s.logf("metrics of %s: %v", id, err)
		v.pending = false
		return
	}
	v.pending, v.sentAt, v.lastMsg = false, now, b
	for c := range h.clients {
		c.setMetrics(id, b)
	}
}

func (h *hub) snapshot(e lab.Snapshot) {
	v := h.view(e.Run)
	v.std, v.rank, v.meanCos = e.Std, e.Rank, e.MeanCos
	s := proto.Snapshot{
		Run: e.Run, Step: uint64(max(e.Step, 0)), Time: e.Time.UnixMilli(), Dim: e.D,
		Proj: e.Proj, Pred: e.Pred, Target: e.Target, Spectrum: e.Spectrum, Std: e.DimStd,
	}
	if v.predOff {
		s.Flags |= proto.FlagPredictorOff
	}
	// The collapse notice of this very snapshot follows it, so the flag
	// shows the detector's state up to the previous frame.
	if v.collapsed {
		s.Flags |= proto.FlagCollapsed
	}
	if len(s.Spectrum) > s.Dim {
		s.Spectrum = s.Spectrum[:s.Dim]
	}
	frame, err := s.AppendBinary(nil)
	if err != nil {
		h.s.logf("snapshot of %s: %v", e.Run, err)
		return
	}
	v.lastFrame = frame
	h.s.published.Add(1)
	for c := range h.clients {
		c.setSnapshot(e.Run, frame)
	}
}

func (h *hub) notice(n lab.Notice) {
	if n.Run != "" {
		v := h.view(n.Run)
		switch n.Kind {
		case lab.NoticeCollapse:
			v.collapsed = true
		case lab.NoticeRecovered:
			v.collapsed = false
		case lab.NoticeReset:
			// Step 0 with fresh weights: the old numbers and picture are
			// another network's.
			if v.timer != nil {
				v.timer.Stop()
			}
			h.runs[n.Run] = &runView{predOff: v.predOff}
		}
	}
	ev := proto.Event{Time: n.Time.UnixMilli(), Kind: eventKind(n.Kind), Message: cleanText(n.Message)}
	if isID(n.Run) {
		ev.Run = n.Run
	}
	if ev.Message == "" {
		ev.Message = n.Kind
	}
	h.broadcast(ev)
}

func (h *hub) runList(e lab.RunList) {
	msg := proto.Runs{Runs: make([]proto.RunInfo, 0, len(e.Runs))}
	keep := make(map[string]bool, len(e.Runs))
	h.order = h.order[:0]
	for _, r := range e.Runs {
		if len(msg.Runs) == proto.MaxRuns {
			break
		}
		p := runInfo(r)
		if fitRun(&p) && !h.warned[r.ID] {
			h.warned[r.ID] = true
			h.s.logf("run %s: some settings are outside the protocol's ranges; clients see them clamped", r.ID)
		}
		if p.Validate() != nil {
			h.s.logf("run %q cannot be described to clients; left out", r.ID)
			continue
		}
		msg.Runs = append(msg.Runs, p)
		keep[r.ID] = true
		h.order = append(h.order, r.ID)
		h.view(r.ID).predOff = !r.Knobs.Predictor
	}
	for id, v := range h.runs {
		if !keep[id] {
			if v.timer != nil {
				v.timer.Stop()
			}
			delete(h.runs, id)
		}
	}
	b, err := proto.Encode(msg)
	if err != nil {
		h.s.logf("runs: %v", err)
		return
	}
	h.lastRuns.Store(&b)
	h.gen++
	for c := range h.clients {
		c.dropRuns(keep)
		c.push(b)
	}
}

// probeChanged: a preset on another dataset was loaded. Snapshots index the
// probe, and hello describes it, so every client gets a fresh hello (see
// the protocol README) and loses the frames of the old probe.
func (h *hub) probeChanged(p *lab.Probe) {
	h.gen++
	for _, v := range h.runs {
		v.lastFrame = nil
	}
	var hello [2][]byte // by control
	for c := range h.clients {
		i := 0
		if c.control {
			i = 1
		}
		if hello[i] == nil {
			b, err := h.s.helloMessage(c.control, p)
			if err != nil {
				h.s.logf("hello: %v", err)
				return
			}
			hello[i] = b
		}
		c.restart(hello[i])
	}
}

// broadcast encodes m once and queues it for every client.
func (h *hub) broadcast(m proto.Message) {
	b, err := proto.Encode(m)
	if err != nil {
		h.s.logf("%s: %v", m.MessageType(), err)
		return
	}
	h.gen++
	for c := range h.clients {
		c.push(b)
	}
}

// helloMessage encodes the hello for a client with or without control.
func (s *Server) helloMessage(control bool, probe *lab.Probe) ([]byte, error) {
	h := proto.Hello{
		Version: proto.Version, Server: s.opt.ServerName, ReadOnly: !control,
		Preset: s.presetName(), Presets: presetNames(), SnapshotHz: s.snapshotHz(),
	}
	for _, r := range s.lab.Runs() {
		if len(h.Runs) == proto.MaxRuns {
			break
		}
		p := runInfo(r)
		fitRun(&p)
		if p.Validate() == nil {
			h.Runs = append(h.Runs, p)
		}
	}
	if probe != nil {
		h.ProbeN = probe.N
		h.Probe = s.probeIDs.of(probe)
		h.Labels = labelSets(probe)
	}
	b, err := proto.Encode(h)
	if err != nil {
		return nil, fmt.Errorf("encoding hello: %w", err)
	}
	return b, nil
}

func presetNames() []string {
	var out []string
	for _, n := range lab.PresetNames() {
		if isID(n) && len(out) < proto.MaxPresets {
			out = append(out, n)
		}
	}
	return out
}
