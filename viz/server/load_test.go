package server

import (
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// loadData is shapes at full size with a 512-image test split: snapshots
// as large as the default lab's.
var loadData = sync.OnceValue(func() *data.Dataset {
	ds, err := data.Shapes(data.ShapesConfig{TrainN: 1024, TestN: 512})
	if err != nil {
		panic(err)
	}
	ds.Train, ds.Test = halve(ds.Train), halve(ds.Test)
	return ds
})

// loadOptions: the default preset's two runs (BYOL, no predictor) with a
// lighter encoder (the MLP: a few ms a step, so a few seconds hold
// hundreds of steps and the throughput is measured finely), the default
// snapshot rate, a 512-point probe and the default metrics rate.
func loadOptions(t testing.TB) Options {
	p := testPreset(t)
	for i := range p.Runs {
		c := &p.Runs[i].Config
		c.Batch = 32
		c.ProjHidden, c.ProjOut, c.PredHidden = 128, 64, 128
	}
	return Options{
		Lab:    lab.Options{Threads: 1, Data: loadData(), ProbeSize: 512, BankSize: 512},
		Preset: p,
	}
}

// loadClient reads everything as fast as it can, or slowly (a pause after
// every message), counting what it gets.
type loadClient struct {
	conn         *websocket.Conn
	slow         bool
	snaps, jsons atomic.Int64
	quit         atomic.Bool
	done         chan struct{}
	err          error
	ended        bool // the server ended the connection before quit
	onSnap       func(run string, step uint64)
}

func (c *loadClient) read() {
	defer close(c.done)
	var buf []byte
	for {
		kind, r, err := c.conn.NextReader()
		if err != nil {
			c.err, c.ended = err, !c.quit.Load()
			return
		}
		if kind == websocket.BinaryMessage {
			if c.onSnap == nil {
				_, _ = io.Copy(io.Discard, r)
			} else {
				buf, _ = io.ReadAll(r)
				if s, err := proto.DecodeSnapshot(buf); err == nil {
					c.onSnap(s.Run, s.Step)
				}
			}
			c.snaps.Add(1)
		} else {
			_, _ = io.Copy(io.Discard, r)
			c.jsons.Add(1)
		}
		if c.slow {
			time.Sleep(100 * time.Millisecond)
		}
		if c.quit.Load() {
			return
		}
	}
}

// TestLoad: 100 clients, 20 of them slow readers (a 100 ms pause per
// message: fewer than the ~30 messages a second the two runs make), in
// phases that alternate with phases without clients, so that whatever
// else the machine does falls on both alike. Training must keep its pace
// (steps a second with clients ≥ 95% of without), goroutines must go back
// to the baseline after every phase, the live heap must stay bounded, and
// no slow reader is dropped (they get the newest frames, not a backlog).
//
// Phases are short (1 s) and many, so that the load of other processes,
// which on a shared machine changes over seconds, averages out of the
// ratio. By default it runs 10 s of load and only catches gross stalls
// (≥ 50%): ten phases cannot measure 5% on a busy machine.
// BYOL_LAB_LOAD=1 runs 60 s of load and holds the 95%.
func TestLoad(t *testing.T) {
	phase, phases, minRatio := time.Second, 10, 0.5
	if os.Getenv("BYOL_LAB_LOAD") == "1" {
		phase, phases, minRatio = time.Second, 60, 0.95
	} else if testing.Short() {
		t.Skip("load test in -short mode")
	}
	if raceEnabled {
		// The race detector's slowdown is not the server's: check leaks
		// and memory only, briefly.
		phases, minRatio = min(phases, 3), 0
	}
	const nClients, nSlow = 100, 20
	opt := loadOptions(t)
	opt.MaxClients = nClients
	stepEnd := newStepClock()
	opt.Lab.Sink = stepEnd
	ts := startServer(t, opt)

	// Warm up (first snapshots, first evaluation), then the baselines.
	waitUntil(t, "warm-up", 60*time.Second, func() bool { return ts.steps() > 20 })
	time.Sleep(time.Second)
	runtime.GC()
	baseG := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse

	var (
		idleRate, loadRate  []float64
		idleCPU, loadCPU    []float64
		maxHeap, maxLive    uint64
		lat                 latencies
		slowSnaps, fastSnap int64
		ended               int64
	)
	for p := range 2 * phases {
		loaded := p%2 == 1
		var (
			procs  *clientProc
			probe  *loadClient
			probed = make(chan struct{})
		)
		if loaded {
			// nClients-1 in the helper process, and one here that times
			// the snapshots.
			procs = startClients(t, ts, nClients-1, nSlow)
			conn, _, err := dialRaw(ts, dialOpt{})
			if err != nil {
				t.Fatal(err)
			}
			probe = &loadClient{conn: conn, done: probed,
				onSnap: func(run string, step uint64) { lat.add(stepEnd.since(run, step)) }}
			go probe.read()
			waitUntil(t, "all clients registered", 10*time.Second, func() bool { return ts.Clients() == nClients })
		}
		time.Sleep(200 * time.Millisecond) // connecting is not what is measured
		// Measure steps over the phase, sampling the heap.
		start, s0, cpu0 := time.Now(), ts.steps(), cpuTime()
		for time.Since(start) < phase {
			time.Sleep(100 * time.Millisecond)
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapInuse)
		}
		el := time.Since(start).Seconds()
		rate := float64(ts.steps()-s0) / el
		cpu := (cpuTime() - cpu0).Seconds() / el
		if loaded {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			maxLive = max(maxLive, ms.HeapInuse)
			loadRate, loadCPU = append(loadRate, rate), append(loadCPU, cpu)
			st := procs.stop(t)
			probe.quit.Store(true)
			_ = probe.conn.Close()
			<-probed
			fastSnap += st.fastSnaps
			slowSnaps += st.slowSnaps
			ended += st.ended
			waitUntil(t, "clients gone", 10*time.Second, func() bool { return ts.Clients() == 0 })
			// Goroutines back to the baseline (a little slack for the
			// runtime's own and timers of the metrics rate).
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > baseG+3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if g := runtime.NumGoroutine(); g > baseG+3 {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutine leak: %d after the clients left, %d before\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
			}
		} else {
			idleRate, idleCPU = append(idleRate, rate), append(idleCPU, cpu)
		}
	}
	idle, load := mean(idleRate), mean(loadRate)
	pairs := make([]float64, len(loadRate))
	for i := range pairs {
		pairs[i] = loadRate[i] / idleRate[i]
	}
	slices.Sort(pairs)
	fastPer := float64(fastSnap) / float64((nClients-1-nSlow)*phases)
	slowPer := float64(slowSnaps) / float64(nSlow*phases)
	t.Logf("%d phases of %v each way, %d clients (%d slow readers)", phases, phase, nClients, nSlow)
	t.Logf("training: %.1f steps/s without clients, %.1f with: ratio %.3f (phase pairs: median %.3f, quartiles %.3f–%.3f)",
		idle, load, load/idle, pairs[len(pairs)/2], pairs[len(pairs)/4], pairs[len(pairs)*3/4])
	t.Logf("steps/s per phase without clients %v\nwith %v", round(idleRate), round(loadRate))
	t.Logf("server process CPU (training and serving; the clients are in another process): %.2f cores without clients, %.2f with", mean(idleCPU), mean(loadCPU))
	t.Logf("heap in use after GC: %.1f MiB before, at most %.1f MiB with the clients connected (sampled without GC: at most %.1f MiB)", mib(baseHeap), mib(maxLive), mib(maxHeap))
	t.Logf("snapshot frames per client per phase: %.1f fast readers, %.1f slow readers; clients dropped as too slow: %d", fastPer, slowPer, ts.dropped.Load())
	t.Logf("step end → snapshot at a client under load: %s", lat.summary())
	t.Logf("goroutines: %d baseline, %d at the end", baseG, runtime.NumGoroutine())
	if load < minRatio*idle {
		t.Errorf("training with %d clients at %.1f steps/s, %.0f%% of %.1f without", nClients, load, 100*load/idle, idle)
	}
	if maxLive > baseHeap+64<<20 {
		t.Errorf("live heap grew from %.1f to %.1f MiB", mib(baseHeap), mib(maxLive))
	}
	if ts.dropped.Load() != 0 || ended != 0 {
		t.Errorf("%d clients dropped as too slow, %d connections ended by the server", ts.dropped.Load(), ended)
	}
	if slowPer == 0 || fastPer == 0 {
		t.Errorf("no snapshots: fast %.1f, slow %.1f per client", fastPer, slowPer)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func round(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(int(v*10+0.5)) / 10
	}
	return out
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// stepClock is a lab sink that notes when each step ended (when the lab
// published its metrics, right after the step), in this process's clock.
type stepClock struct {
	mu   sync.Mutex
	end  map[stepKey]time.Time // metrics published: the step ended
	snap map[stepKey]time.Time // snapshot published: the probe is embedded
}

type stepKey struct {
	run  string
	step uint64
}

func newStepClock() *stepClock {
	return &stepClock{end: map[stepKey]time.Time{}, snap: map[stepKey]time.Time{}}
}

func (s *stepClock) Publish(e lab.Event) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := e.(type) {
	case lab.Metrics:
		s.end[stepKey{e.Run, uint64(e.Step)}] = now
	case lab.Snapshot:
		s.snap[stepKey{e.Run, uint64(e.Step)}] = now
	}
}

// sinceSnapshot is the time since the lab published a snapshot (-1 if
// unknown).
func (s *stepClock) sinceSnapshot(run string, step uint64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.snap[stepKey{run, step}]
	if !ok {
		return -1
	}
	return time.Since(t)
}

// since is the time since the end of a step (-1 if unknown).
func (s *stepClock) since(run string, step uint64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.end[stepKey{run, step}]
	if !ok {
		return -1
	}
	return time.Since(t)
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	if d < 0 {
		return
	}
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// quantiles returns the median and the 99th percentile.
func (l *latencies) quantiles() (n int, p50, p99 time.Duration) {
	l.mu.Lock()
	d := slices.Clone(l.d)
	l.mu.Unlock()
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	return len(d), d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
}

func (l *latencies) summary() string {
	n, p50, p99 := l.quantiles()
	return time.Duration(p50).Round(10*time.Microsecond).String() + " median, " +
		time.Duration(p99).Round(10*time.Microsecond).String() + " p99 over " + itoa(n) + " snapshots"
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestSnapshotLatency measures the time from the end of a training step to
// its snapshot arriving at a local client: the lab embeds the probe after
// the step, the hub encodes the frame and the client's writer sends it.
// Both ends are clocks of this process.
func TestSnapshotLatency(t *testing.T) {
	opt := loadOptions(t)
	stepEnd := newStepClock()
	opt.Lab.Sink = stepEnd
	ts := startServer(t, opt)
	var lat, wire latencies
	c := dial(t, ts, dialOpt{onSnap: func(s *proto.Snapshot) {
		lat.add(stepEnd.since(s.Run, s.Step))
		wire.add(stepEnd.sinceSnapshot(s.Run, s.Step))
	}})
	c.waitFor("snapshots", 30*time.Second, func() bool { return len(c.snaps) == 2 })
	d := 3 * time.Second
	if os.Getenv("BYOL_LAB_LOAD") == "1" {
		d = 20 * time.Second
	}
	time.Sleep(d)
	n, p50, p99 := lat.quantiles()
	t.Logf("step end → snapshot at the client: %s", lat.summary())
	t.Logf("of which the server (snapshot published → at the client; the rest is the lab embedding the probe): %s", wire.summary())
	if raceEnabled {
		return // a few steps a second: the timings say nothing
	}
	if n < 10 {
		t.Fatalf("only %d snapshots in %v", n, d)
	}
	if p50 > time.Second {
		t.Errorf("median latency %v (p99 %v)", p50, p99)
	}
}

// TestServingCost measures what serving 100 clients (20 of them slow
// readers) costs in CPU, apart from training: the runs are paused and the
// test publishes what two training runs would, at the default rates (a
// 512-point snapshot 5 times a second and metrics at 40 steps a second,
// sent at 10 a second, per run). The clients are in another process.
func TestServingCost(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	opt := loadOptions(t)
	opt.Preset.Paused = true
	opt.MaxClients = 100
	ts := startServer(t, opt)
	waitUntil(t, "the first snapshots", 30*time.Second, func() bool { return ts.published.Load() >= 2 })
	time.Sleep(500 * time.Millisecond) // the lab is idle now

	const n, d = 512, 64
	publish := func(dur time.Duration) float64 {
		start, cpu0 := time.Now(), cpuTime()
		for k := 0; time.Since(start) < dur; k++ {
			for _, run := range []string{"r1", "r2"} {
				ts.hub.Publish(lab.Metrics{Run: run, Step: k, Time: time.Now(), Loss: 1, LR: 1e-3, Tau: 0.99, ImgPerSec: 1000})
				if k%8 == 0 {
					ts.hub.Publish(lab.Snapshot{Run: run, Step: k, Time: time.Now(), N: n, D: d,
						Proj: make([]float32, 2*n), Pred: make([]float32, 2*n), Target: make([]float32, 2*n),
						Spectrum: make([]float32, d), DimStd: make([]float32, d)})
				}
			}
			time.Sleep(25 * time.Millisecond) // 40 steps a second per run
		}
		return (cpuTime() - cpu0).Seconds() / time.Since(start).Seconds()
	}
	alone := publish(3 * time.Second)
	procs := startClients(t, ts, 100, 20)
	waitUntil(t, "clients", 10*time.Second, func() bool { return ts.Clients() == 100 })
	served := publish(4 * time.Second)
	st := procs.stop(t)
	msgs := st.fastSnaps + st.slowSnaps + st.fastJSON + st.slowJSON
	t.Logf("server process CPU: %.3f cores publishing to no client, %.3f to 100 clients (20 slow, in another process): serving costs %.3f cores for %.0f messages a second",
		alone, served, served-alone, float64(msgs)/4)
	if served-alone > 0.5 && !raceEnabled {
		t.Errorf("serving 100 clients costs %.2f cores", served-alone)
	}
}
