package lab

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
)

// testData is a small shapes dataset shared by the tests, shrunk to 16×16
// pixels so that a step takes milliseconds even under the race detector.
var testData = sync.OnceValue(func() *data.Dataset {
	ds, err := data.Shapes(data.ShapesConfig{TrainN: 192, TestN: 80})
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

// testConfig is a run that steps in milliseconds: the MLP encoder, batch 16,
// narrow heads.
func testConfig(t testing.TB) byol.Config {
	t.Helper()
	c, err := Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	c.Arch = "mlp"
	c.Batch = 16
	c.ProjHidden, c.ProjOut, c.PredHidden = 32, 16, 32
	c.Steps = 1000
	c.Eval.K = 5
	return c
}

// recorder is a Sink that keeps every event and how long Publish took.
type recorder struct {
	mu      sync.Mutex
	events  []Event
	slowest time.Duration
}

func (s *recorder) Publish(e Event) {
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	if d := time.Since(start); d > s.slowest {
		s.slowest = d
	}
}

func (s *recorder) all() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

func (s *recorder) metrics(run string) []Metrics {
	var out []Metrics
	for _, e := range s.all() {
		if m, ok := e.(Metrics); ok && m.Run == run {
			out = append(out, m)
		}
	}
	return out
}

func (s *recorder) snapshots(run string) []Snapshot {
	var out []Snapshot
	for _, e := range s.all() {
		if m, ok := e.(Snapshot); ok && m.Run == run {
			out = append(out, m)
		}
	}
	return out
}

func (s *recorder) evals(run string) []Eval {
	var out []Eval
	for _, e := range s.all() {
		if m, ok := e.(Eval); ok && m.Run == run {
			out = append(out, m)
		}
	}
	return out
}

func (s *recorder) notices(run, kind string) []Notice {
	var out []Notice
	for _, e := range s.all() {
		if n, ok := e.(Notice); ok && n.Run == run && n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func losses(ms []Metrics) []float64 {
	out := make([]float64, len(ms))
	for i, m := range ms {
		out[i] = m.Loss
	}
	return out
}

// newTestLab starts a lab on testData with small probe and bank, and its
// scheduler; both stop at the end of the test.
func newTestLab(t testing.TB, opt Options) (*Lab, *recorder) {
	t.Helper()
	rec := &recorder{}
	if opt.Sink == nil {
		opt.Sink = rec
	}
	opt.Threads = 1 // inline loops: a loaded machine does not stall a step on a descheduled worker
	opt.Data = testData()
	if opt.ProbeSize == 0 {
		opt.ProbeSize = 64
	}
	if opt.BankSize == 0 {
		opt.BankSize = 96
	}
	l := New(opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		l.Close()
	})
	return l, rec
}

func create(t testing.TB, l *Lab, name string, c byol.Config) string {
	t.Helper()
	id, err := l.Create(name, c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func info(t testing.TB, l *Lab, id string) RunInfo {
	t.Helper()
	for _, r := range l.Runs() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no run %s", id)
	return RunInfo{}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stepAndWait runs n steps of id and waits until it paused again.
func stepAndWait(t testing.TB, l *Lab, id string, n int) {
	t.Helper()
	want := info(t, l, id).Step + n
	if err := l.Step(id, n); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "steps", func() bool {
		r := info(t, l, id)
		return r.State != Running && r.Step >= want
	})
	if got := info(t, l, id).Step; got != want {
		t.Fatalf("%s at step %d after Step(%d), want %d", id, got, n, want)
	}
}

func ptr[T any](v T) *T { return &v }

type cfgT = byol.Config
