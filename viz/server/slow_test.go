package server

import (
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/lab"
)

// stepRate measures the lab's steps a second over d.
func stepRate(ts *testServer, d time.Duration) float64 {
	start, s0 := time.Now(), ts.steps()
	time.Sleep(d)
	return float64(ts.steps()-s0) / time.Since(start).Seconds()
}

// TestSlowClient: a client that never reads does not slow training, and
// is disconnected once its writes have blocked for SlowTimeout.
func TestSlowClient(t *testing.T) {
	opt := testOptions(t)
	opt.SlowTimeout = 2 * time.Second
	opt.SendBuffer = 4 << 10 // small kernel buffers: the stall shows at once
	ts := startServer(t, opt)
	watcher := dial(t, ts, dialOpt{})
	watcher.waitFor("metrics", 30*time.Second, func() bool { return len(watcher.metrics) == 2 })

	before := stepRate(ts, 1500*time.Millisecond)
	dial(t, ts, dialOpt{noRead: true, readBuf: 4 << 10})
	connected := time.Now()
	waitUntil(t, "the silent client registered", 5*time.Second, func() bool { return ts.Clients() == 2 })
	during := stepRate(ts, 1500*time.Millisecond)
	t.Logf("steps/s: %.0f without, %.0f with a client that never reads", before, during)
	if during < 0.5*before && !raceEnabled {
		t.Errorf("a client that never reads slowed training from %.0f to %.0f steps/s", before, during)
	}
	waitUntil(t, "the silent client dropped", 20*time.Second, func() bool { return ts.Clients() == 1 })
	t.Logf("dropped %v after connecting (SlowTimeout %v)", time.Since(connected).Round(100*time.Millisecond), opt.SlowTimeout)
	if ts.dropped.Load() != 1 {
		t.Errorf("dropped counter %d", ts.dropped.Load())
	}
	// The reading client noticed nothing.
	watcher.mu.Lock()
	n := watcher.nSnaps[watcher.hello.Runs[0].ID]
	watcher.mu.Unlock()
	watcher.waitFor("more snapshots", 10*time.Second, func() bool { return watcher.nSnaps[watcher.hello.Runs[0].ID] > n })
}

// TestPublishNeverBlocks: with clients whose connections are stalled, the
// hub's Publish still returns in microseconds.
func TestPublishNeverBlocks(t *testing.T) {
	opt := testOptions(t)
	opt.SlowTimeout = time.Hour // keep the stalled clients around
	opt.SendBuffer = 4 << 10
	rec := &publishTimer{}
	ts := startServer(t, opt)
	for range 20 {
		dial(t, ts, dialOpt{noRead: true, readBuf: 4 << 10})
	}
	waitUntil(t, "clients", 5*time.Second, func() bool { return ts.Clients() == 20 })
	// Time Publish itself, from the lab's side, for a while.
	ts.timePublish(rec, 2*time.Second)
	t.Logf("Publish with 20 stalled clients: %d calls, slowest %v, mean %v", rec.n, rec.max, rec.total/time.Duration(max(rec.n, 1)))
	if rec.n < 50 {
		t.Fatalf("only %d events in 2 s", rec.n)
	}
	if rec.max > 500*time.Millisecond && !raceEnabled { // a blocking Publish would wait for SlowTimeout, an hour
		t.Errorf("Publish took up to %v", rec.max)
	}
}

type publishTimer struct {
	n          int
	max, total time.Duration
}

// timePublish wraps the hub's Publish with a timer for d: the lab's sink
// is the hub, so events pass through here.
func (ts *testServer) timePublish(rec *publishTimer, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		// Drive Publish directly with a copy of what the lab sends, as the
		// lab would, from this goroutine.
		for _, e := range []lab.Event{
			lab.Metrics{Run: "r1", Step: 1, Time: time.Now(), Loss: 1},
			lab.Notice{Run: "r1", Time: time.Now(), Kind: lab.NoticeSet, Message: "timing"},
		} {
			start := time.Now()
			ts.hub.Publish(e)
			el := time.Since(start)
			rec.n++
			rec.total += el
			rec.max = max(rec.max, el)
		}
		time.Sleep(time.Millisecond)
	}
}
