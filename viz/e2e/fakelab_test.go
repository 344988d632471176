//go:build !js

package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// fakeLab is a stand-in for viz/server in the browser test: a websocket at
// /ws that speaks viz/proto, with two runs whose clouds look like the real
// lab's (clusters by shape that a run without predictor slowly loses), and a
// record of the commands it received. It answers set, pause and resume
// like the server (reply, then the new run list).
type fakeLab struct {
	t     *testing.T
	start time.Time

	mu       sync.Mutex
	runs     []proto.RunInfo
	shrink   map[string]float64 // per run: how far its cloud has collapsed (1 healthy → 0)
	conns    map[*websocket.Conn]*sync.Mutex
	refusing bool
	commands chan proto.Command
	hellos   int

	labels   []proto.LabelSet
	centre   [][2]float64 // per probe point: the healthy position
	stop     chan struct{}
	readOnly bool
}

const (
	fakeN   = 400
	fakeDim = 64
)

// newFakeLab starts a fake lab with BYOL and "no predictor", plus
// extra forks of BYOL (for layouts with more panels); readOnly makes its
// hello say so.
func newFakeLab(t *testing.T, extra int, readOnly bool) *fakeLab {
	f := &fakeLab{
		t: t, start: time.Now(), readOnly: readOnly,
		shrink:   map[string]float64{"byol": 1, "no-pred": 1},
		conns:    map[*websocket.Conn]*sync.Mutex{},
		commands: make(chan proto.Command, 64),
		stop:     make(chan struct{}),
	}
	aug := map[string]bool{}
	for _, a := range proto.AugmentNames {
		aug[a] = a != proto.AugNoise && a != proto.AugBlur
	}
	knobs := func(pred bool) proto.Knobs {
		return proto.Knobs{Predictor: pred, TauBase: 0.99, TauSchedule: proto.TauCosine, LR: 0.002, Batch: 128, PredLRMult: 10, Augment: aug}
	}
	f.runs = []proto.RunInfo{
		{ID: "byol", Name: "BYOL", State: proto.StateRunning, Knobs: knobs(true), Arch: "tiny", Dataset: "shapes", ProjOut: fakeDim},
		{ID: "no-pred", Name: "no predictor", State: proto.StateRunning, Knobs: knobs(false), Arch: "tiny", Dataset: "shapes", ProjOut: fakeDim},
	}
	for i := range extra {
		id := fmt.Sprintf("byol-%d", i+2)
		k := knobs(true)
		k.TauBase = []float64{0, 1, 0.9}[i%3]
		f.runs = append(f.runs, proto.RunInfo{ID: id, Name: fmt.Sprintf("τ = %g", k.TauBase), State: proto.StateRunning, Parent: "byol",
			Knobs: k, Arch: "tiny", Dataset: "shapes", ProjOut: fakeDim})
		f.shrink[id] = 1
	}
	shapes := []string{"circle", "square", "triangle", "cross", "star", "ring", "heart", "arrow", "crescent", "hourglass"}
	colours := []string{"red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink"}
	rng := rand.New(rand.NewPCG(1, 2))
	ys, yc := make([]int32, fakeN), make([]int32, fakeN)
	f.centre = make([][2]float64, fakeN)
	for i := range fakeN {
		ys[i], yc[i] = int32(i%len(shapes)), int32(rng.IntN(len(colours)))
		a := 2 * math.Pi * float64(ys[i]) / float64(len(shapes))
		f.centre[i] = [2]float64{
			0.33*math.Cos(a) + 0.03*float64(yc[i]-4)/4 + 0.05*rng.NormFloat64(),
			0.33*math.Sin(a) + 0.05*rng.NormFloat64(),
		}
	}
	f.labels = []proto.LabelSet{{Name: "shape", Classes: shapes, Y: ys}, {Name: "colour", Classes: colours, Y: yc}}
	go f.loop()
	t.Cleanup(func() { close(f.stop) })
	return f
}

// ServeHTTP is the websocket endpoint.
func (f *fakeLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	refusing := f.refusing
	f.mu.Unlock()
	if refusing {
		http.Error(w, "restarting", http.StatusServiceUnavailable)
		return
	}
	up := websocket.Upgrader{} // same-origin check: the page comes from this server
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(proto.MaxMessageSize)
	wmu := &sync.Mutex{}
	f.mu.Lock()
	f.conns[c] = wmu
	f.hellos++
	hello := proto.Hello{Version: proto.Version, Server: "fake-lab (e2e test)", ReadOnly: f.readOnly, Preset: "collapse", Runs: f.runsCopy(),
		ProbeN: fakeN, Labels: f.labels, Presets: []string{"augment", "batch", "collapse", "tau"}, SnapshotHz: 5}
	f.mu.Unlock()
	f.sendJSON(c, wmu, hello)
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			break
		}
		f.command(c, wmu, b)
	}
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *fakeLab) runsCopy() []proto.RunInfo {
	out := make([]proto.RunInfo, len(f.runs))
	copy(out, f.runs)
	return out
}

func (f *fakeLab) sendJSON(c *websocket.Conn, wmu *sync.Mutex, m proto.Message) {
	b, err := proto.Encode(m)
	if err != nil {
		f.t.Errorf("fake lab: encode %T: %v", m, err)
		return
	}
	wmu.Lock()
	defer wmu.Unlock()
	c.WriteMessage(websocket.TextMessage, b)
}

func (f *fakeLab) broadcast(kind int, b []byte) {
	f.mu.Lock()
	conns := make(map[*websocket.Conn]*sync.Mutex, len(f.conns))
	for c, m := range f.conns {
		conns[c] = m
	}
	f.mu.Unlock()
	for c, m := range conns {
		m.Lock()
		c.WriteMessage(kind, b)
		m.Unlock()
	}
}

func (f *fakeLab) command(c *websocket.Conn, wmu *sync.Mutex, b []byte) {
	cmd, err := proto.DecodeCommand(b)
	if err != nil {
		if ce, ok := err.(*proto.CommandError); ok {
			f.sendJSON(c, wmu, ce.Reply())
		}
		f.t.Errorf("fake lab: the frontend sent a bad command %s: %v", b, err)
		return
	}
	select {
	case f.commands <- cmd:
	default:
	}
	f.mu.Lock()
	idx := -1
	for i := range f.runs {
		if f.runs[i].ID == cmd.Run {
			idx = i
		}
	}
	reply := proto.Reply{ID: cmd.ID, OK: true}
	changed := false
	switch {
	case cmd.Cmd == proto.CmdPing:
	case idx < 0:
		reply = proto.Reply{ID: cmd.ID, Code: proto.CodeNotFound, Error: "run: no such run"}
	case cmd.Cmd == proto.CmdSet:
		f.runs[idx].Knobs = cmd.Args.Knobs.Apply(f.runs[idx].Knobs)
		changed = true
	case cmd.Cmd == proto.CmdPause:
		f.runs[idx].State, changed = proto.StatePaused, true
	case cmd.Cmd == proto.CmdResume:
		f.runs[idx].State, changed = proto.StateRunning, true
	}
	runs := proto.Runs{Runs: f.runsCopy()}
	f.mu.Unlock()
	f.sendJSON(c, wmu, reply)
	if changed {
		b, _ := proto.Encode(runs)
		f.broadcast(websocket.TextMessage, b)
	}
}

// restart drops every connection and refuses new ones for d, as a
// restarting server would.
func (f *fakeLab) restart(d time.Duration) {
	f.mu.Lock()
	f.refusing = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	time.AfterFunc(d, func() {
		f.mu.Lock()
		f.refusing = false
		f.mu.Unlock()
	})
}

// loop steps the fake runs and streams metrics and snapshots at 5 Hz.
func (f *fakeLab) loop() {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	rng := rand.New(rand.NewPCG(3, 4))
	var snap proto.Snapshot
	var buf []byte
	for n := 0; ; n++ {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		f.mu.Lock()
		if len(f.conns) == 0 {
			// Nobody watches yet (the frontend may still be building): the
			// runs wait, so the no-predictor cloud has not shrunk by the
			// first frame however long the build took.
			f.mu.Unlock()
			continue
		}
		var frames [][]byte
		var msgs []proto.Message
		for i := range f.runs {
			r := &f.runs[i]
			if r.State == proto.StateRunning {
				r.Step += 25
				// Without the predictor the cloud shrinks (slowly, so the
				// test sees it spread out first); with it, it recovers.
				if r.Knobs.Predictor {
					f.shrink[r.ID] = min(1, f.shrink[r.ID]*1.05)
				} else {
					f.shrink[r.ID] *= 0.993
				}
			}
			s := f.shrink[r.ID]
			snap.Run, snap.Step, snap.Time, snap.Dim = r.ID, r.Step, time.Now().UnixMilli(), fakeDim
			snap.Flags = 0
			if !r.Knobs.Predictor {
				snap.Flags |= proto.FlagPredictorOff
			}
			snap.Proj, snap.Pred, snap.Target = snap.Proj[:0], snap.Pred[:0], snap.Target[:0]
			for _, c := range f.centre {
				x, y := c[0]*s+0.01*rng.NormFloat64()*s, c[1]*s+0.01*rng.NormFloat64()*s
				snap.Proj = append(snap.Proj, float32(x), float32(y))
				snap.Pred = append(snap.Pred, float32(x*0.95), float32(y*0.95))
				snap.Target = append(snap.Target, float32(x+0.02*rng.NormFloat64()*s), float32(y+0.02*rng.NormFloat64()*s))
			}
			snap.Spectrum, snap.Std = snap.Spectrum[:0], snap.Std[:0]
			mean := 0.0
			for k := range fakeDim {
				sv := 3 * math.Exp(-float64(k)/(2+12*s))
				snap.Spectrum = append(snap.Spectrum, float32(sv))
				sd := s / math.Sqrt(fakeDim) * (0.6 + 0.8*math.Exp(-float64(k)/20))
				snap.Std = append(snap.Std, float32(sd))
				mean += sd
			}
			mean /= fakeDim
			collapsed := mean < 0.2/math.Sqrt(fakeDim)
			if collapsed {
				snap.Flags |= proto.FlagCollapsed
			}
			b, err := snap.AppendBinary(buf[:0])
			if err != nil {
				f.t.Errorf("fake lab: snapshot: %v", err)
			}
			frames = append(frames, append([]byte(nil), b...))
			m := proto.Metrics{Run: r.ID, Step: r.Step, Time: snap.Time,
				Loss: proto.Float(0.3 + 1.7*math.Exp(-float64(r.Step)/3000)*s), LR: proto.Float(r.Knobs.LR * 0.5), Tau: proto.Float(r.Knobs.TauBase),
				ImgsPerS: proto.Float(2000 + 100*rng.Float64()), Std: proto.Float(mean), Rank: proto.Float(1 + 39*s),
				MeanCos: proto.Float(1 - 0.2*s), Collapsed: collapsed}
			if n%10 == 0 {
				m.KNN = map[string]proto.Float{"shape": proto.Float(0.1 + 0.75*s*(1-math.Exp(-float64(r.Step)/2000))), "colour": proto.Float(0.2 + 0.7*s)}
			}
			msgs = append(msgs, m)
		}
		f.mu.Unlock()
		for _, b := range frames {
			f.broadcast(websocket.BinaryMessage, b)
		}
		for _, m := range msgs {
			b, err := proto.Encode(m)
			if err != nil {
				f.t.Errorf("fake lab: %v", err)
				continue
			}
			f.broadcast(websocket.TextMessage, b)
		}
	}
}
