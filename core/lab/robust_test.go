package lab

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
)

// startBoth creates two runs and lets them run.
func startBoth(t *testing.T, l *Lab) (a, b string) {
	t.Helper()
	a = create(t, l, "a", testConfig(t))
	b = create(t, l, "b", testConfig(t))
	for _, id := range []string{a, b} {
		if err := l.Resume(id); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// keepsStepping checks that run id makes progress.
func keepsStepping(t *testing.T, l *Lab, id string) {
	t.Helper()
	at := info(t, l, id).Step
	waitFor(t, 30*time.Second, id+" stepping on", func() bool { return info(t, l, id).Step >= at+3 })
}

func TestNaNWeightsPauseOnlyThatRun(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	a, b := startBoth(t, l)
	waitFor(t, 30*time.Second, "steps", func() bool { return info(t, l, a).Step >= 2 })

	// Corrupt a's weights between two steps.
	l.work.Lock()
	r, _ := l.find(a)
	w := cpu.Data(r.t.Online().Params.W)
	for i := range w {
		w[i] = float32(math.NaN())
	}
	l.work.Unlock()

	waitFor(t, 30*time.Second, "nan notice", func() bool { return len(rec.notices(a, NoticeNaN)) == 1 })
	n := rec.notices(a, NoticeNaN)[0]
	if !strings.Contains(n.Message, "not finite") {
		t.Fatalf("nan notice: %+v", n)
	}
	ri := info(t, l, a)
	if ri.State != Diverged {
		t.Fatalf("diverged run: %+v", ri)
	}
	keepsStepping(t, l, b)
	if got := info(t, l, a); got.Step != ri.Step || got.State != Diverged {
		t.Fatalf("the diverged run moved: %+v", got)
	}
	for _, s := range rec.snapshots(a) {
		if !allFinite(s.Proj) || !allFinite(s.Pred) || !allFinite(s.Target) {
			t.Fatal("a snapshot with non-finite points was published")
		}
	}
	if info(t, l, b).State != Running || len(rec.notices(b, NoticeNaN)) != 0 {
		t.Fatal("the healthy run was affected")
	}
	// Reset brings it back from its seed.
	if err := l.Reset(a); err != nil {
		t.Fatal(err)
	}
	if r := info(t, l, a); r.State != Paused || r.Step != 0 {
		t.Fatalf("after reset: %+v", r)
	}
	stepAndWait(t, l, a, 2)
}

func TestHugeLRDiverges(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	a, b := startBoth(t, l)
	if err := l.Set(a, Knobs{LR: ptr(1e30)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "nan notice", func() bool { return len(rec.notices(a, NoticeNaN)) == 1 })
	if info(t, l, a).State != Diverged {
		t.Fatal("not diverged")
	}
	keepsStepping(t, l, b)
}

func TestPanicInStepPausesRun(t *testing.T) {
	l, rec := newTestLab(t, Options{})
	a, b := startBoth(t, l)
	l.work.Lock()
	l.testStepHook = func(r *run) {
		if r.id == a {
			panic("boom")
		}
	}
	l.work.Unlock()
	waitFor(t, 30*time.Second, "error notice", func() bool { return len(rec.notices(a, NoticeError)) == 1 })
	if n := rec.notices(a, NoticeError)[0]; !strings.Contains(n.Message, "boom") {
		t.Fatalf("notice: %+v", n)
	}
	if info(t, l, a).State != Paused {
		t.Fatal("the panicking run was not paused")
	}
	keepsStepping(t, l, b)
}

func TestConcurrentOperations(t *testing.T) {
	l, rec := newTestLab(t, Options{SnapshotRate: 50, EvalInterval: 100 * time.Millisecond})
	a, b := startBoth(t, l)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ops atomic.Int64
	hammer := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f(i)
				ops.Add(1)
			}
		}()
	}
	hammer(func(i int) {
		_ = l.Set(a, Knobs{Predictor: ptr(i%2 == 0), Batch: ptr(8 + 8*(i%2)), Augment: map[string]bool{"jitter": i%3 == 0}})
		_ = l.Set(a, Knobs{LR: ptr(math.NaN())})
		_ = l.Set(b, Knobs{TauBase: ptr(float64(i%10) / 10)})
	})
	hammer(func(i int) {
		if i%2 == 0 {
			_ = l.Pause(b)
		} else {
			_ = l.Resume(b)
		}
		_ = l.Step(a, 1+i%3)
	})
	hammer(func(int) {
		for _, r := range l.Runs() {
			_ = r.Knobs.Augment["crop"]
			_ = r.Config.Augment.Normalize.Mean[0]
		}
		_ = l.Probe()
	})
	hammer(func(i int) {
		id, err := l.Fork(a, "f", Knobs{Predictor: ptr(false)})
		if err == nil {
			if i%2 == 0 {
				_ = l.Step(id, 1)
			}
			time.Sleep(time.Millisecond)
			_ = l.Delete(id)
		}
	})
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if errs := rec.notices(a, NoticeError); len(errs) > 0 {
		t.Fatalf("error notices: %+v", errs)
	}
	if len(l.Runs()) != 2 {
		t.Fatalf("runs left: %+v", l.Runs())
	}
	if err := l.Resume(a); err != nil {
		t.Fatal(err)
	}
	keepsStepping(t, l, a)
	t.Logf("%d operations; steps a %d, b %d", ops.Load(), info(t, l, a).Step, info(t, l, b).Step)
}

// timedSink measures how long the sink it wraps takes per Publish.
type timedSink struct {
	inner   Sink
	mu      sync.Mutex
	slowest time.Duration
	calls   int
}

func (s *timedSink) Publish(e Event) {
	start := time.Now()
	s.inner.Publish(e)
	d := time.Since(start)
	s.mu.Lock()
	s.slowest = max(s.slowest, d)
	s.calls++
	s.mu.Unlock()
}

func TestStuckConsumerDoesNotStopTraining(t *testing.T) {
	// Nobody reads the channel: the worst slow client. Publish must drop
	// rather than wait, and the runs must go on stepping.
	ch := NewChanSink(4)
	ts := &timedSink{inner: ch}
	l, _ := newTestLab(t, Options{Sink: ts, SnapshotRate: 50})
	a, b := startBoth(t, l)
	waitFor(t, 60*time.Second, "10 steps each", func() bool { return info(t, l, a).Step >= 10 && info(t, l, b).Step >= 10 })
	ts.mu.Lock()
	slowest, calls := ts.slowest, ts.calls
	ts.mu.Unlock()
	if ch.Dropped() == 0 || ch.Dropped() != uint64(calls-len(ch.C)) {
		t.Fatalf("%d published, %d dropped, %d queued", calls, ch.Dropped(), len(ch.C))
	}
	// A generous bound for a loaded machine: a blocking Publish would wait
	// for ever here.
	if slowest > 100*time.Millisecond {
		t.Fatalf("Publish took up to %v", slowest)
	}
	t.Logf("%d events published, %d dropped, slowest Publish %v", calls, ch.Dropped(), slowest)
}

func TestPanickingSink(t *testing.T) {
	l, _ := newTestLab(t, Options{Sink: SinkFunc(func(Event) { panic("sink") })})
	id := create(t, l, "a", testConfig(t))
	stepAndWait(t, l, id, 3)
}
