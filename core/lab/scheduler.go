package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
)

// Run is the scheduler: it steps the running runs round-robin, a turn of
// steps each (see step), takes snapshots and evaluations when due, and waits when
// nothing runs. It returns when ctx is done or the lab is closed. Panics of
// a step, snapshot or evaluation pause that run with an error notice; none
// escapes.
func (l *Lab) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("lab: Run is already running")
	}
	defer l.running.Store(false)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		wait, closed := l.tick()
		if closed {
			return ErrClosed
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
	return nil
}

// idle is how long the scheduler sleeps with nothing to do and nothing due;
// any operation wakes it earlier.
const idle = time.Minute

// tick does one unit of work, in this order of priority: the next chunk of
// a kNN evaluation (it must see the weights of the snapshot it follows, so
// nothing steps until it is done), a due snapshot (the run waiting longest
// first), a turn of steps of the next running run. It returns how long to wait
// when there was nothing to do.
func (l *Lab) tick() (wait time.Duration, closed bool) {
	l.work.Lock()
	defer l.work.Unlock()
	if l.closed {
		return 0, true
	}
	for _, r := range l.runs {
		if r.eval == nil {
			continue
		}
		if r.t.StepCount() != r.snapStep || r.gen != r.snapGen {
			r.eval = nil // reset since the snapshot: stale
			continue
		}
		start := time.Now()
		l.guard(r, "evaluation", func() error { return l.evaluateChunk(r) })
		l.budget.add(time.Since(start), true)
		return 0, false
	}
	now := l.now()
	active := 0
	for _, r := range l.runs {
		if r.state == Running {
			active++
		}
	}
	// Snapshots may use a share of the time only while something trains.
	allowed := active == 0 || l.budget.overhead() < l.opt.SnapshotShare
	wait = idle
	var next *run
	for _, r := range l.runs {
		if r.snapStep == r.t.StepCount() && r.snapGen == r.gen {
			continue
		}
		if w := l.snapshotDue(r, now); w > 0 {
			wait = min(wait, w)
			continue
		}
		if next == nil || r.snapAt.Before(next.snapAt) {
			next = r
		}
	}
	if next != nil && allowed {
		r := next
		start := time.Now()
		l.guard(r, "snapshot", func() error {
			ok, err := l.snapshot(r)
			if err != nil {
				return err
			}
			if !ok {
				l.diverged(r, "the probe's embeddings are not finite")
				return nil
			}
			if l.evalDue(r, now) {
				r.eval = &evalJob{}
			}
			return nil
		})
		l.budget.add(time.Since(start), true)
		return 0, false
	}
	if r := l.nextRunning(); r != nil {
		start := time.Now()
		r.pacer.Target = l.turnTarget(active)
		l.step(r)
		l.budget.add(time.Since(start), false)
		return 0, false
	}
	return wait, false
}

// nextRunning returns the running run after the one stepped last, in list
// order, wrapping around; nil when none runs.
func (l *Lab) nextRunning() *run {
	start := 0
	for i, r := range l.runs {
		if r == l.last {
			start = i + 1
		}
	}
	for k := range l.runs {
		r := l.runs[(start+k)%len(l.runs)]
		if r.state == Running {
			return r
		}
	}
	return nil
}

// guard runs f for r, turning an error or a panic into an error notice that
// pauses r.
func (l *Lab) guard(r *run, what string, f func() error) {
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return f()
	}()
	if err == nil {
		return
	}
	r.eval = nil
	r.snapStep, r.snapGen = r.t.StepCount(), r.gen // no retry until it changes
	if r.state == Running {
		r.state, r.remaining = Paused, 0
	}
	l.notice(r, NoticeError, fmt.Sprintf("%s of %s failed at step %d, run paused: %v", what, r.label(), r.t.StepCount(), err))
	l.publishRuns()
}

// turnTarget is how long one run's turn of steps may last: long enough for
// a GPU to run ahead of the host (a turn reads its losses back once), short
// enough that each of the active runs still gets its snapshots at the
// configured rate and a knob acts at once.
func (l *Lab) turnTarget(active int) time.Duration {
	if l.testTurn != 0 {
		return l.testTurn
	}
	target := 50 * time.Millisecond
	if l.opt.SnapshotRate > 0 {
		target = min(target, time.Duration(float64(time.Second)/(2*l.opt.SnapshotRate*float64(max(active, 1)))))
	}
	return target
}

// step runs a turn of training steps of r, as many as its pacer says fit
// in the turn (one until a step has been timed; never past a Step request
// or the run's last step), and publishes each step's metrics, or pauses r
// when a step fails.
func (l *Lab) step(r *run) {
	l.last = r
	n := min(r.pacer.Next(), max(r.t.Config().Steps-r.t.StepCount(), 1))
	if r.remaining > 0 {
		n = min(n, r.remaining)
	}
	start := time.Now()
	batch := r.t.Config().Batch
	done, err := func() (done int, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		if l.testStepHook != nil {
			l.testStepHook(r)
		}
		return r.t.Steps(r.results[:n])
	}()
	elapsed := time.Since(start)
	r.pacer.Observe(elapsed, done)
	if done > 0 {
		// Throughput counts step time only: snapshots, evaluations and the
		// other runs' steps happen between turns, outside this interval.
		perImg := elapsed.Seconds() / float64(done*batch)
		if r.perImg == 0 {
			r.perImg = perImg
		} else {
			r.perImg += 0.2 * (perImg - r.perImg)
		}
		step := r.t.StepCount() - done
		for _, res := range r.results[:done] {
			step++
			l.publish(Metrics{Run: r.id, Step: step, Time: l.now(), Loss: res.Loss, LR: res.LR, Tau: res.Tau,
				Batch: batch, ImgPerSec: 1 / r.perImg})
		}
		l.mu.Lock()
		r.info.Step, r.info.Loss = r.t.StepCount(), r.t.LastLoss()
		l.mu.Unlock()
	}
	if err != nil {
		if errors.Is(err, byol.ErrDiverged) {
			l.diverged(r, fmt.Sprintf("the loss of step %d is not finite (lr %.3g)", r.t.StepCount()+1, r.t.LR()))
			return
		}
		r.state, r.remaining = Paused, 0
		l.notice(r, NoticeError, fmt.Sprintf("step %d of %s failed, run paused: %v", r.t.StepCount()+1, r.label(), err))
		l.publishRuns()
		return
	}

	step := r.t.StepCount()
	switch {
	case step >= r.t.Config().Steps:
		r.state, r.remaining = Paused, 0
		l.notice(r, NoticeFinished, fmt.Sprintf("%s reached its %d steps and paused (raise steps to go on)", r.label(), step))
		l.publishRuns()
	case r.remaining > 0:
		r.remaining -= done
		if r.remaining == 0 {
			r.state = Paused
			l.notice(r, NoticePaused, fmt.Sprintf("%s paused at step %d after the requested steps", r.label(), step))
			l.publishRuns()
		}
	}
}

// diverged pauses r as diverged and says why.
func (l *Lab) diverged(r *run, why string) {
	r.state, r.remaining, r.eval = Diverged, 0, nil
	r.snapStep, r.snapGen = r.t.StepCount(), r.gen // no snapshot of these weights
	l.notice(r, NoticeNaN, fmt.Sprintf("%s diverged: %s. It paused with the weights of step %d; lower lr and Reset it (Resume would continue from those weights).",
		r.label(), why, r.t.StepCount()))
	l.publishRuns()
}
