package parallel

import (
	"sync/atomic"
	"testing"
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
