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
// driver it wraps, for `byol-lab bench --profile`: while enabled it waits
// for each launch to finish and charges the wall time to the kernel's name.
// Waiting serialises the host with the GPU, so a profiled step is slower
// than a real one; the shares show where the GPU's time goes. Disabled, it
// passes everything through untimed.
type Profiler struct {
	Driver
	on    bool
	names map[Kernel]string
	stats map[string]*kernelStat
	clock func() time.Time
}

type kernelStat struct {
	calls int
	total time.Duration
}

// NewProfiler wraps d; profiling starts disabled.
func NewProfiler(d Driver) *Profiler {
	return &Profiler{Driver: d, names: map[Kernel]string{}, stats: map[string]*kernelStat{}, clock: time.Now}
}

// SMs passes on the wrapped driver's SM count, if it has one (0 if not).
func (p *Profiler) SMs() int {
	if sc, ok := p.Driver.(SMCounter); ok {
		return sc.SMs()
	}
	return 0
}

// Enable turns timing on or off.
func (p *Profiler) Enable(on bool) { p.on = on }

// Reset forgets everything timed so far.
func (p *Profiler) Reset() { clear(p.stats) }

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

// time runs f after all earlier work has finished and charges its run,
// until the device is idle again, to name.
func (p *Profiler) time(name string, f func()) {
	p.Driver.Sync() // errors stay sticky for the backend to report
	start := p.clock()
	f()
	p.Driver.Sync()
	s := p.stats[name]
	if s == nil {
		s = &kernelStat{}
		p.stats[name] = s
	}
	s.calls++
	s.total += p.clock().Sub(start)
}

// KernelTime is one row of a profile.
type KernelTime struct {
	Name  string
	Calls int
	Total time.Duration
}

// Profile returns what was timed, the most expensive first.
func (p *Profiler) Profile() []KernelTime {
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
	_, err := fmt.Fprintf(w, "%s %10s %10.3f %6.1f%%\n", pad("total (each launch waited for)"), "", per(sum), 100.0)
	return err
}

// pad left-aligns s in a column of 34 characters (fmt pads by bytes, and
// the copies' names have arrows).
func pad(s string) string {
	return s + strings.Repeat(" ", max(0, 34-utf8.RuneCountInString(s)))
}
