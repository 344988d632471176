package cuda

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/backend"
)

// fakeDriver counts what reaches it and moves a fake clock: each launch
// takes its kernel's number of milliseconds, copies 1 ms, and Sync nothing.
type fakeDriver struct {
	now      time.Time
	launches int
	syncs    int
}

func (d *fakeDriver) Device() string { return "fake" }
func (d *fakeDriver) Kernel(name string) (Kernel, error) {
	return Kernel(len(name)), nil // "a" takes 1 ms, "bbb" 3 ms
}
func (d *fakeDriver) Malloc(int) (Ptr, error)       { return 0, nil }
func (d *fakeDriver) Free(Ptr)                      {}
func (d *fakeDriver) HtoD(Ptr, unsafe.Pointer, int) { d.now = d.now.Add(time.Millisecond) }
func (d *fakeDriver) DtoH(unsafe.Pointer, Ptr, int) { d.now = d.now.Add(time.Millisecond) }
func (d *fakeDriver) DtoD(Ptr, Ptr, int)            { d.now = d.now.Add(time.Millisecond) }
func (d *fakeDriver) Sync() error                   { d.syncs++; return nil }
func (d *fakeDriver) Err() error                    { return nil }
func (d *fakeDriver) Launch(k Kernel, _, _ Dim3, _ []uint64) {
	d.launches++
	d.now = d.now.Add(time.Duration(k) * time.Millisecond)
}

func TestProfilerChargesEachKernel(t *testing.T) {
	fd := &fakeDriver{}
	p := NewProfiler(fd)
	p.clock = func() time.Time { return fd.now }
	a, _ := p.Kernel("a")
	b, _ := p.Kernel("bbb")

	p.Launch(a, Dim3{}, Dim3{}, nil) // disabled: passed through, not timed
	if fd.launches != 1 || fd.syncs != 0 || len(p.Profile()) != 0 {
		t.Fatalf("disabled profiler: %d launches, %d syncs, profile %v", fd.launches, fd.syncs, p.Profile())
	}
	p.Enable(true)
	for range 2 { // two "steps"
		p.Launch(a, Dim3{}, Dim3{}, nil)
		p.Launch(b, Dim3{}, Dim3{}, nil)
		p.Launch(b, Dim3{}, Dim3{}, nil)
		p.DtoH(nil, 0, 4)
	}
	got := p.Profile()
	want := []KernelTime{{"bbb", 4, 12 * time.Millisecond}, {"a", 2, 2 * time.Millisecond}, {"copy device→host", 2, 2 * time.Millisecond}}
	if len(got) != len(want) {
		t.Fatalf("profile %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
	if fd.syncs != 2*8 {
		t.Errorf("%d syncs for 8 timed calls: each must wait before and after", fd.syncs)
	}

	var out bytes.Buffer
	if err := p.Report(&out, 2); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	wantLines := []string{
		"kernel or copy calls/step ms/step share",
		"bbb 2.0 6.000 75.0%",
		"a 1.0 1.000 12.5%",
		"copy device→host 1.0 1.000 12.5%",
		"total (each launch waited for) 8.000 100.0%",
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("report:\n%s", out.String())
	}
	for i, l := range lines {
		if got := strings.Join(strings.Fields(l), " "); got != wantLines[i] {
			t.Errorf("report line %d: %q, want %q", i, got, wantLines[i])
		}
		if n := utf8.RuneCountInString(l); i > 0 && n != utf8.RuneCountInString(lines[0]) {
			t.Errorf("report line %d is %d characters wide, the header %d: columns do not line up", i, n, utf8.RuneCountInString(lines[0]))
		}
	}

	p.Reset()
	if err := p.Report(&out, 2); err == nil {
		t.Error("an empty profile reported no error")
	}
}

// eventDriver is a fakeDriver with events: a mark reads the fake clock.
type eventDriver struct {
	fakeDriver
	marks       []time.Time
	out, maxOut int // events marked and not yet read
}

func (d *eventDriver) Mark() Event {
	d.marks = append(d.marks, d.now)
	d.out++
	d.maxOut = max(d.maxOut, d.out)
	return Event(len(d.marks) - 1)
}

func (d *eventDriver) Elapsed(from, to Event) time.Duration {
	d.out -= 2
	return d.marks[to].Sub(d.marks[from])
}

// TestProfilerWithEvents: on a driver with events the profiler never waits
// for the device, charges each call the time between its marks, and reads
// them in batches so that the events in flight stay bounded.
func TestProfilerWithEvents(t *testing.T) {
	ed := &eventDriver{}
	p := NewProfiler(ed)
	a, _ := p.Kernel("a")
	b, _ := p.Kernel("bbb")
	p.Enable(true)
	const steps = 600 // 1800 timed calls: more than maxPending
	for range steps {
		p.Launch(a, Dim3{}, Dim3{}, nil)
		p.Launch(b, Dim3{}, Dim3{}, nil)
		p.DtoH(nil, 0, 4)
	}
	p.Enable(false)
	want := []KernelTime{{"bbb", steps, steps * 3 * time.Millisecond}, {"a", steps, steps * time.Millisecond},
		{"copy device→host", steps, steps * time.Millisecond}}
	got := p.Profile()
	if !slices.Equal(got, want) {
		t.Fatalf("profile %v, want %v", got, want)
	}
	if ed.syncs != 0 {
		t.Errorf("%d waits for the device: events need none", ed.syncs)
	}
	if ed.out != 0 || ed.maxOut > 2*maxPending {
		t.Errorf("%d events unread at the end, at most %d in flight (limit %d)", ed.out, ed.maxOut, 2*maxPending)
	}
	var out bytes.Buffer
	if err := p.Report(&out, steps); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "total (device time, by events)") {
		t.Errorf("report:\n%s", out.String())
	}
}

// smDriver is a fakeDriver that counts its SMs.
type smDriver struct {
	fakeDriver
	sms int
}

func (d *smDriver) SMs() int { return d.sms }

func TestGemmPlansForTheDriversSMs(t *testing.T) {
	for _, tc := range []struct {
		d    Driver
		want int
	}{
		{&fakeDriver{}, gemmDefaultSMs},
		{&smDriver{sms: 66}, 66},
		{NewProfiler(&smDriver{sms: 114}), 114}, // the profiler passes the count on
		{NewProfiler(&fakeDriver{}), gemmDefaultSMs},
	} {
		c, err := New(tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if c.gemm.sms != tc.want {
			t.Errorf("%T: plans for %d SMs, want %d", tc.d, c.gemm.sms, tc.want)
		}
	}
	// Half the SMs hold half the blocks at once, so a grid that filled one
	// wave on 132 SMs is split less (or not at all) on 66.
	op := &gemmOp{m: 64, n: 576, k: 1 << 20, batch: 1}
	full, _ := New(&smDriver{sms: 132})
	half, _ := New(&smDriver{sms: 66})
	_, s132, _ := full.gemmPlan(op)
	_, s66, _ := half.gemmPlan(op)
	t.Logf("64×576×2²⁰ (a filter gradient): %d splits on 132 SMs, %d on 66", s132, s66)
	if s66 >= s132 {
		t.Errorf("split-K %d on 66 SMs, %d on 132: fewer SMs need fewer splits to fill", s66, s132)
	}
}

// TestConvAutoKeepsTheFastest: on a driver whose launches take their
// kernel's name length in milliseconds, ConvAuto times each applicable
// algorithm of each pass, keeps the fastest, records every time and reuses
// the choice. It times by events where the driver has them, looking
// through a profiler, and then never waits for the device.
func TestConvAutoKeepsTheFastest(t *testing.T) {
	wall := &fakeDriver{}
	events := &eventDriver{}
	profiled := &eventDriver{}
	for _, tc := range []struct {
		name string
		d    Driver
		fd   *fakeDriver
		ed   *eventDriver
	}{
		{"wall clock", wall, wall, nil},
		{"events", events, &events.fakeDriver, events},
		{"events through a profiler", NewProfiler(profiled), &profiled.fakeDriver, profiled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := tc.fd
			c, err := New(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			c.conv.clock = func() time.Time {
				if tc.ed != nil {
					t.Fatal("the wall clock read on a driver with events")
				}
				return fd.now
			}
			c.SetConvAlgo(ConvAuto)
			g := backend.ConvGeom{N: 4, Cin: 16, H: 8, W: 8, Cout: 16, K: 3, Stride: 1, Pad: 1}
			x, w, y := c.Alloc(4*16*64), c.Alloc(16*16*9), c.Alloc(4*16*64)
			c.Conv2d(x, w, y, g)
			ch := c.conv.auto[convKey{convFwd, g}]
			if ch == nil {
				t.Fatal("no choice recorded")
			}
			// One launch of a 15-to-20-letter kernel beats two (im2col) or
			// four (Winograd's transforms around the GEMM).
			if ch.algo != ConvImplicit {
				t.Errorf("chose %v, times %v", ch.algo, ch.times)
			}
			for a, d := range ch.times {
				if d <= 0 {
					t.Errorf("%v: not timed", ConvAlgo(a))
				}
				if d < ch.times[ch.algo] {
					t.Errorf("%v took %v, less than the chosen %v's %v", ConvAlgo(a), d, ch.algo, ch.times[ch.algo])
				}
			}
			before := fd.launches
			c.Conv2d(x, w, y, g)
			if n := fd.launches - before; n != 1 {
				t.Errorf("the second call launched %d kernels, want the implicit GEMM's 1", n)
			}
			// A stride-2 layer: Winograd does not apply and is not timed.
			g2 := backend.ConvGeom{N: 4, Cin: 16, H: 8, W: 8, Cout: 16, K: 3, Stride: 2, Pad: 1}
			c.Conv2d(x, w, c.Alloc(4*16*16), g2)
			if ch := c.conv.auto[convKey{convFwd, g2}]; ch.times[ConvWinograd] != 0 || ch.times[ConvWinograd4] != 0 {
				t.Errorf("Winograd timed on a stride-2 layer: %v", ch.times)
			}
			if tc.ed != nil && (fd.syncs != 0 || tc.ed.out != 0) {
				t.Errorf("%d waits for the device, %d events unread: events need neither", fd.syncs, tc.ed.out)
			}
		})
	}
}

// TestConvAlgoFits pins where the implicit GEMM and Winograd apply.
func TestConvAlgoFits(t *testing.T) {
	base := backend.ConvGeom{N: 8, Cin: 64, H: 32, W: 32, Cout: 64, K: 3, Stride: 1, Pad: 1}
	with := func(f func(*backend.ConvGeom)) backend.ConvGeom { g := base; f(&g); return g }
	for _, c := range []struct {
		name                    string
		g                       backend.ConvGeom
		fwd, data, filter, wino bool
	}{
		{"resnet 3×3/1", base, true, true, true, true},
		{"stride 2", with(func(g *backend.ConvGeom) { g.Stride = 2 }), true, false, true, false},
		{"7-wide output", with(func(g *backend.ConvGeom) { g.H, g.W, g.Stride = 14, 14, 2 }), false, false, false, false},
		{"14-wide input, stride 1", with(func(g *backend.ConvGeom) { g.H, g.W = 14, 14 }), false, false, false, true},
		{"1×1", with(func(g *backend.ConvGeom) { g.K, g.Pad = 1, 0 }), true, true, true, false},
		{"RGB stem", with(func(g *backend.ConvGeom) { g.Cin = 3 }), true, true, true, false},
		{"no images", with(func(g *backend.ConvGeom) { g.N = 0 }), false, false, false, false},
		{"offsets past int32", with(func(g *backend.ConvGeom) { g.N = 1 << 15 }), false, false, false, true},
	} {
		got := [4]bool{implicitFits(convFwd, c.g), implicitFits(convBwdData, c.g), implicitFits(convBwdFilter, c.g), winogradFits(c.g)}
		if want := [4]bool{c.fwd, c.data, c.filter, c.wino}; got != want {
			t.Errorf("%s: implicit forward, data, filter and Winograd fit %v, want %v", c.name, got, want)
		}
	}
	for _, a := range convAlgos {
		if b, err := ParseConvAlgo(a.String()); err != nil || b != a {
			t.Errorf("ParseConvAlgo(%q) = %v, %v", a, b, err)
		}
	}
	if _, err := ParseConvAlgo("fft"); err == nil || !strings.Contains(err.Error(), "im2col, implicit, winograd, winograd4, auto") {
		t.Errorf("ParseConvAlgo(fft): %v", err)
	}
}
