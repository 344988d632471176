package cuda

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Profiler is a Driver that times every kernel launch and copy of the
// driver it wraps, for `byol-lab bench --profile`, charging the time to the
// kernel's name. On a driver with events (EventTimer: a GPU, the emulator)
// it marks the stream before and after each call and reads the device
// time between the marks in batches, so a profiled step runs almost as
// fast as a real one. Otherwise it waits for the device before and after
// each call and charges the wall time, which serialises the host with the
// device. Disabled, it passes everything through untimed.
type Profiler struct {
	Driver
	on      bool
	names   map[Kernel]string
	stats   map[string]*kernelStat
	clock   func() time.Time
	events  EventTimer // nil: wall time, waiting for each call
	pending []marked   // calls whose marks are not read yet
}

// marked is a timed call between two events.
type marked struct {
	name     string
	from, to Event
}

// maxPending bounds the events in flight before the profiler reads them.
const maxPending = 1024

type kernelStat struct {
	calls int
	total time.Duration
}

// NewProfiler wraps d; profiling starts disabled.
func NewProfiler(d Driver) *Profiler {
	p := &Profiler{Driver: d, names: map[Kernel]string{}, stats: map[string]*kernelStat{}, clock: time.Now}
	p.events, _ = d.(EventTimer)
	return p
}

// SMs passes on the wrapped driver's SM count, if it has one (0 if not).
func (p *Profiler) SMs() int {
	if sc, ok := p.Driver.(SMCounter); ok {
		return sc.SMs()
	}
	return 0
}

// Enable turns timing on or off.
func (p *Profiler) Enable(on bool) {
	p.on = on
	p.collect()
}

// Reset forgets everything timed so far.
func (p *Profiler) Reset() {
	p.collect()
	clear(p.stats)
}

func (p *Profiler) Kernel(name string) (Kernel, error) {
	k, err := p.Driver.Kernel(name)
	if err == nil {
		p.names[k] = name
	}
	return k, err
}

func (p *Profiler) Launch(k Kernel, grid, block Dim3, args []uint64) {
	if !p.on {
		p.Driver.Launch(k, grid, block, args)
		return
	}
	p.time(p.names[k], func() { p.Driver.Launch(k, grid, block, args) })
}

func (p *Profiler) HtoD(dst Ptr, src unsafe.Pointer, bytes int) {
	p.timeCopy("copy host→device", func() { p.Driver.HtoD(dst, src, bytes) })
}

func (p *Profiler) DtoH(dst unsafe.Pointer, src Ptr, bytes int) {
	p.timeCopy("copy device→host", func() { p.Driver.DtoH(dst, src, bytes) })
}

func (p *Profiler) DtoD(dst, src Ptr, bytes int) {
	p.timeCopy("copy device→device", func() { p.Driver.DtoD(dst, src, bytes) })
}

func (p *Profiler) timeCopy(name string, f func()) {
	if !p.on {
		f()
		return
	}
	p.time(name, f)
}

// time charges f's run on the device to name: between events marked
// before and after it, or from a wait for the device before it to one
// after it.
func (p *Profiler) time(name string, f func()) {
	if p.events != nil {
		from := p.events.Mark()
		f()
		p.pending = append(p.pending, marked{name, from, p.events.Mark()})
		if len(p.pending) >= maxPending {
			p.collect()
		}
		return
	}
	p.Driver.Sync() // errors stay sticky for the backend to report
	start := p.clock()
	f()
	p.Driver.Sync()
	p.charge(name, p.clock().Sub(start))
}

// collect reads the device times of the pending calls.
func (p *Profiler) collect() {
	for _, m := range p.pending {
		p.charge(m.name, p.events.Elapsed(m.from, m.to))
	}
	p.pending = p.pending[:0]
}

func (p *Profiler) charge(name string, d time.Duration) {
	s := p.stats[name]
	if s == nil {
		s = &kernelStat{}
		p.stats[name] = s
	}
	s.calls++
	s.total += d
}

// KernelTime is one row of a profile.
type KernelTime struct {
	Name  string
	Calls int
	Total time.Duration
}

// Profile returns what was timed, the most expensive first.
func (p *Profiler) Profile() []KernelTime {
	p.collect()
	rows := make([]KernelTime, 0, len(p.stats))
	for name, s := range p.stats {
		rows = append(rows, KernelTime{name, s.calls, s.total})
	}
	slices.SortFunc(rows, func(a, b KernelTime) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name))
	})
	return rows
}

// Report writes the profile as a table per step of steps timed steps.
func (p *Profiler) Report(w io.Writer, steps int) error {
	rows := p.Profile()
	var sum time.Duration
	for _, r := range rows {
		sum += r.Total
	}
	if steps < 1 || sum == 0 {
		return fmt.Errorf("cuda: profile: nothing was timed")
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(steps) }
	fmt.Fprintf(w, "%s %10s %10s %7s\n", pad("kernel or copy"), "calls/step", "ms/step", "share")
	for _, r := range rows {
		fmt.Fprintf(w, "%s %10.1f %10.3f %6.1f%%\n", pad(r.Name), float64(r.Calls)/float64(steps), per(r.Total), 100*float64(r.Total)/float64(sum))
	}
	total := "total (each launch waited for)"
	if p.events != nil {
		total = "total (device time, by events)"
	}
	_, err := fmt.Fprintf(w, "%s %10s %10.3f %6.1f%%\n", pad(total), "", per(sum), 100.0)
	return err
}

// pad left-aligns s in a column of 34 characters (fmt pads by bytes, and
// the copies' names have arrows).
func pad(s string) string {
	return s + strings.Repeat(" ", max(0, 34-utf8.RuneCountInString(s)))
}
