package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type countTask struct {
	hits []int32
}

func (c *countTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		atomic.AddInt32(&c.hits[i], 1)
	}
}

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := New(threads)
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 16, 5000} {
				task := &countTask{hits: make([]int32, n)}
				p.For(n, grain, task)
				for i, h := range task.hits {
					if h != 1 {
						t.Fatalf("threads=%d n=%d grain=%d: index %d run %d times", threads, n, grain, i, h)
					}
				}
			}
		}
		p.Close()
	}
}

func TestForDoesNotAllocate(t *testing.T) {
	p := New(2)
	defer p.Close()
	task := &countTask{hits: make([]int32, 1000)}
	allocs := testing.AllocsPerRun(100, func() { p.For(1000, 1, task) })
	if allocs != 0 {
		t.Fatalf("For allocated %v times per call, want 0", allocs)
	}
}

// TestForAfterPark runs loops separated by more than SpinWait, so that every
// loop has to wake parked workers, and loops back to back, which find them
// spinning.
func TestForAfterPark(t *testing.T) {
	p := New(2)
	defer p.Close()
	task := &countTask{hits: make([]int32, 64)}
	for i := range 40 {
		if i%4 == 0 {
			time.Sleep(2 * SpinWait)
		}
		p.For(64, 1, task)
	}
	for i, h := range task.hits {
		if h != 40 {
			t.Fatalf("index %d run %d times, want 40", i, h)
		}
	}
}

// TestConcurrentFor checks that loops from several goroutines are
// serialised and each sees its own ranges.
func TestConcurrentFor(t *testing.T) {
	p := New(3)
	defer p.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := &countTask{hits: make([]int32, 100)}
			for range 200 {
				p.For(100, 1, task)
			}
			for i, h := range task.hits {
				if h != 200 {
					t.Errorf("index %d run %d times, want 200", i, h)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// workTask burns about a microsecond of arithmetic per index.
type workTask struct{ sink []float64 }

func (w *workTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		x := float64(i)
		for range 700 {
			x = x*0.999 + 1
		}
		w.sink[i] = x
	}
}

// BenchmarkFor measures loops over two threads of 2×n µs of work (n µs a
// thread): back to back, after n µs of serial work, and after the workers
// have parked. Compare ns/op with the single-thread time of n µs.
func BenchmarkFor(b *testing.B) {
	p := New(2)
	defer p.Close()
	for _, n := range []int{5, 50} {
		task := &workTask{sink: make([]float64, 2*n)}
		serial := &workTask{sink: make([]float64, n)}
		b.Run(fmt.Sprintf("work=%dus/hot", n), func(b *testing.B) {
			for b.Loop() {
				p.For(2*n, 1, task)
			}
		})
		b.Run(fmt.Sprintf("work=%dus/serial-gap", n), func(b *testing.B) {
			for b.Loop() {
				serial.Run(0, n)
				p.For(2*n, 1, task)
			}
		})
		b.Run(fmt.Sprintf("work=%dus/one-thread", n), func(b *testing.B) {
			for b.Loop() {
				task.Run(0, n)
			}
		})
	}
	b.Run("parked", func(b *testing.B) {
		task := &workTask{sink: make([]float64, 2)}
		for b.Loop() {
			b.StopTimer()
			time.Sleep(2 * SpinWait)
			b.StartTimer()
			p.For(2, 1, task)
		}
	})
}

// checkTask counts its indices; For must not return before all are done.
type checkTask struct{ done atomic.Int64 }

func (c *checkTask) Run(lo, hi int) {
	if lo > 0 && hi%3 == 0 {
		runtime.Gosched() // let the caller run ahead of this worker
	}
	c.done.Add(int64(hi - lo))
}

// TestForWaitsForItsOwnLoop runs many short loops with no spinning, so that
// callers park and workers report completion across loop boundaries: a
// completion signal left over from one loop must not end the next. Run
// with -count=N or under load to shake out orderings.
func TestForWaitsForItsOwnLoop(t *testing.T) {
	saved := SpinWait
	SpinWait = 0
	defer func() { SpinWait = saved }()
	for _, threads := range []int{2, 3} {
		p := New(threads)
		var task checkTask
		for i := range 20000 {
			n := 1 + i%7
			task.done.Store(0)
			p.For(n, 1, &task)
			if got := task.done.Load(); got != int64(n) {
				p.Close()
				t.Fatalf("threads=%d loop %d: For returned with %d of %d indices done", threads, i, got, n)
			}
		}
		p.Close()
	}
}

// TestForStress runs loops from several pools at once, so that threads
// outnumber cores and callers and workers are descheduled at every point of
// the hand-over, with spins short enough that they park often. Each loop
// must run every index exactly once before For returns, and nothing may
// hang. The races this hunts for have windows of nanoseconds (a caller
// descheduled between two atomic operations), so passing is weak evidence;
// the protocol avoids them by deciding each hand-over in one atomic
// operation (see worker and Pool.pending).
func TestForStress(t *testing.T) {
	saved := SpinWait
	SpinWait = time.Microsecond
	defer func() { SpinWait = saved }()
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Second)
	if testing.Short() {
		deadline = time.Now().Add(200 * time.Millisecond)
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := New(2 + g%2)
			defer p.Close()
			task := &countTask{hits: make([]int32, 5)}
			for loop := 0; time.Now().Before(deadline); loop++ {
				clear(task.hits)
				p.For(len(task.hits), 1, task)
				for i, h := range task.hits {
					if h != 1 {
						t.Errorf("pool %d loop %d: index %d run %d times when For returned", g, loop, i, h)
						return
					}
				}
				if loop%64 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
}
