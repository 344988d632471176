// Package parallel is a persistent worker pool for data-parallel loops.
//
// Kernels run thousands of times per second, so a loop must not start
// goroutines or allocate: the pool's workers live as long as the pool, and a
// loop body is a Task (usually a pointer to a long-lived struct holding the
// kernel's arguments) rather than a closure, which would escape to the heap
// on every call.
package parallel

import (
	"runtime"
	"sync"
)

// Task is the body of a parallel loop: Run handles indices [lo, hi).
// Run is called concurrently from several goroutines on disjoint ranges.
type Task interface {
	Run(lo, hi int)
}

// Func adapts a function to Task. Converting a closure allocates, so use it
// only outside hot paths (setup code, tests).
type Func func(lo, hi int)

// Run calls f.
func (f Func) Run(lo, hi int) { f(lo, hi) }

// Pool runs loops on a fixed set of workers. A Pool runs one loop at a time;
// concurrent For calls are serialised. The zero Pool is not usable; use New.
type Pool struct {
	threads int
	mu      sync.Mutex // one loop at a time
	work    chan chunk
	done    sync.WaitGroup
}

type chunk struct {
	task   Task
	lo, hi int
}

// New returns a pool with the given number of threads (the caller counts as
// one). threads <= 0 means runtime.GOMAXPROCS(0).
func New(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, work: make(chan chunk, threads)}
	for i := 1; i < threads; i++ {
		go p.worker()
	}
	return p
}

// Threads is the number of goroutines a loop may use.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) worker() {
	for c := range p.work {
		c.task.Run(c.lo, c.hi)
		p.done.Done()
	}
}

// For runs t over [0, n) split into at most Threads() contiguous ranges of
// at least grain indices each, and returns when all are done.
func (p *Pool) For(n, grain int, t Task) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	parts := min(p.threads, (n+grain-1)/grain)
	if parts <= 1 {
		t.Run(0, n)
		return
	}
	p.mu.Lock()
	p.done.Add(parts - 1)
	for i := 1; i < parts; i++ {
		p.work <- chunk{t, i * n / parts, (i + 1) * n / parts}
	}
	t.Run(0, n/parts)
	p.done.Wait()
	p.mu.Unlock()
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() { close(p.work) }

var (
	defaultOnce sync.Once
	defaultPool *Pool
)

// Default is a process-wide pool sized to GOMAXPROCS, created on first use.
func Default() *Pool {
	defaultOnce.Do(func() { defaultPool = New(0) })
	return defaultPool
}
