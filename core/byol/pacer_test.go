package byol

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	p := Pacer{Target: 100 * time.Millisecond}
	if n := p.Next(); n != 1 {
		t.Fatalf("first call runs %d steps, want 1 (nothing measured yet)", n)
	}
	p.Observe(40*time.Millisecond, 1) // a slow first step (warm-up)
	if n := p.Next(); n != 2 {
		t.Fatalf("at 40 ms/step: %d steps, want 2", n)
	}
	for range 20 {
		p.Observe(10*time.Millisecond, 2) // 5 ms per step from now on
	}
	if n := p.Next(); n < 19 || n > 20 {
		t.Fatalf("at 5 ms/step: %d steps, want about 20", n)
	}
	for range 20 {
		p.Observe(time.Millisecond, 10)
	}
	if n := p.Next(); n != MaxStepsPerSync {
		t.Fatalf("fast steps: %d, want the cap %d", n, MaxStepsPerSync)
	}
	for range 20 {
		p.Observe(time.Second, 1)
	}
	if n := p.Next(); n != 1 {
		t.Fatalf("steps slower than the target: %d, want 1", n)
	}
	p.Observe(time.Second, 0) // a call that failed at once changes nothing
	if n := p.Next(); n != 1 {
		t.Fatalf("after an empty call: %d", n)
	}
}
