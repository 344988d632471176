package ui

import "time"

// Backoff is the reconnect schedule: 0.5 s after the first failure,
// doubling to at most 8 s, each wait shortened by up to a quarter at random
// (from Jitter) so that a classroom of browsers does not knock on a
// restarted server all in the same millisecond.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff is the schedule the frontend uses.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 8 * time.Second}

// Delay is the wait before reconnect attempt n (1 for the first retry);
// jitter in [0, 1) shortens it by up to 25 %.
func (b Backoff) Delay(n int, jitter float64) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(clamp(jitter, 0, 1)*0.25*float64(d))
}
