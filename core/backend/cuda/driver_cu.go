//go:build cuda

package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/byol-lab/byol-lab/kernels"
)

// gpu is the Driver for a real GPU, over gorgonia.org/cu: one context, the
// kernels module loaded from the embedded fatbin, and one non-blocking
// stream that every copy and launch goes to in order.
//
// A CUDA context is current per OS thread, while goroutines move between
// threads; every call therefore pins its goroutine to its thread and makes
// the context current for the call's duration (cheap: no syscall).
type gpu struct {
	mu     sync.Mutex // one call at a time: shared args and staging state
	dev    cu.Device
	name   string
	sms    int
	ctx    cu.CUContext
	mod    cu.Module
	stream cu.Stream
	fns    []cu.Function
	err    error

	args [32]uint64
	ptrs [32]unsafe.Pointer // ptrs[i] = &args[i], what cuLaunchKernel reads

	// Uploads go through pinned staging memory: an async copy from Go's
	// pageable memory would synchronise the stream first, a host round
	// trip per step. The ring wraps after a stream synchronisation.
	stage     unsafe.Pointer
	stageCap  int
	stageNext int
	down      unsafe.Pointer // pinned landing area of downloads, stageCap bytes

	events     []cu.Event // the profiler's timing events, by Event
	freeEvents []Event
}

// OpenGPU creates a context on GPU ordinal and loads the kernels.
func OpenGPU(ordinal int) (Driver, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting GPUs: %w", err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: GPU %d requested, %d present", ordinal, n)
	}
	g := &gpu{}
	for i := range g.ptrs {
		g.ptrs[i] = unsafe.Pointer(&g.args[i])
	}
	if g.dev, err = cu.GetDevice(ordinal); err != nil {
		return nil, err
	}
	if g.name, err = g.dev.Name(); err != nil {
		return nil, err
	}
	if g.sms, err = g.dev.Attribute(cu.MultiprocessorCount); err != nil {
		return nil, fmt.Errorf("cuda: counting the SMs of %s: %w", g.name, err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// MakeContext makes the new context current on this thread.
	if g.ctx, err = g.dev.MakeContext(cu.SchedAuto); err != nil {
		return nil, fmt.Errorf("cuda: creating a context on %s: %w", g.name, err)
	}
	if g.mod, err = cu.LoadData(string(kernels.Fatbin)); err != nil {
		return nil, fmt.Errorf("cuda: loading the kernels on %s: %w", g.name, err)
	}
	if g.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return nil, err
	}
	g.stageCap = 8 << 20
	if g.stage, err = allocHost(g.stageCap); err != nil {
		return nil, fmt.Errorf("cuda: pinned staging memory: %w", err)
	}
	if g.down, err = allocHost(g.stageCap); err != nil {
		return nil, fmt.Errorf("cuda: pinned staging memory: %w", err)
	}
	return g, nil
}

// enter pins the goroutine and makes the context current; leave undoes it.
func (g *gpu) enter() {
	g.mu.Lock()
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(g.ctx); err != nil {
		g.setErr(err)
	}
}

func (g *gpu) leave() {
	runtime.UnlockOSThread()
	g.mu.Unlock()
}

func (g *gpu) setErr(err error) {
	if err != nil && g.err == nil {
		g.err = err
	}
}

// SMs is the GPU's number of streaming multiprocessors.
var _ EventTimer = (*gpu)(nil)

func (g *gpu) SMs() int { return g.sms }

func (g *gpu) Device() string {
	major, minor, _ := g.dev.ComputeCapability()
	return fmt.Sprintf("%s, sm_%d%d", g.name, major, minor)
}

func (g *gpu) Kernel(name string) (Kernel, error) {
	g.enter()
	defer g.leave()
	fn, err := g.mod.Function(name)
	if err != nil {
		return 0, err
	}
	g.fns = append(g.fns, fn)
	return Kernel(len(g.fns) - 1), nil
}

func (g *gpu) Malloc(bytes int) (Ptr, error) {
	g.enter()
	defer g.leave()
	p, err := cu.MemAlloc(int64(bytes))
	return Ptr(p), err
}

func (g *gpu) Free(p Ptr) {
	g.enter()
	defer g.leave()
	g.setErr(cu.MemFree(cu.DevicePtr(p)))
}

func (g *gpu) HtoD(dst Ptr, src unsafe.Pointer, bytes int) {
	g.enter()
	defer g.leave()
	// Go memory never goes to cgo: the caller's buffer may sit inside a
	// struct holding Go pointers, which cgo's checks reject. Everything
	// passes through the pinned ring, in chunks if large.
	for done := 0; done < bytes; {
		n := min(bytes-done, g.stageCap)
		if g.stageNext+n > g.stageCap {
			g.setErr(g.stream.Synchronize()) // every earlier upload has left the ring
			g.stageNext = 0
		}
		slot := unsafe.Add(g.stage, g.stageNext)
		copy(unsafe.Slice((*byte)(slot), n), unsafe.Slice((*byte)(unsafe.Add(src, done)), n))
		g.setErr(cu.MemcpyHtoDAsync(cu.DevicePtr(dst)+cu.DevicePtr(done), slot, int64(n), g.stream))
		g.stageNext += (n + 255) &^ 255
		done += n
	}
}

func (g *gpu) DtoH(dst unsafe.Pointer, src Ptr, bytes int) {
	g.enter()
	defer g.leave()
	for done := 0; done < bytes; {
		n := min(bytes-done, g.stageCap)
		g.setErr(cu.MemcpyDtoHAsync(g.down, cu.DevicePtr(src)+cu.DevicePtr(done), int64(n), g.stream))
		g.setErr(g.stream.Synchronize())
		copy(unsafe.Slice((*byte)(unsafe.Add(dst, done)), n), unsafe.Slice((*byte)(g.down), n))
		done += n
	}
}

func (g *gpu) DtoD(dst, src Ptr, bytes int) {
	g.enter()
	defer g.leave()
	g.setErr(cu.MemcpyDtoDAsync(cu.DevicePtr(dst), cu.DevicePtr(src), int64(bytes), g.stream))
}

func (g *gpu) Launch(k Kernel, grid, block Dim3, args []uint64) {
	g.enter()
	defer g.leave()
	n := copy(g.args[:], args)
	err := g.fns[k].Launch(grid.X, max(grid.Y, 1), max(grid.Z, 1), block.X, max(block.Y, 1), max(block.Z, 1), 0, g.stream, g.ptrs[:n])
	if err != nil {
		g.setErr(fmt.Errorf("launching kernel %d (grid %v, block %v): %w", k, grid, block, err))
	}
}

func (g *gpu) Sync() error {
	g.enter()
	defer g.leave()
	g.setErr(g.stream.Synchronize())
	return g.err
}

func (g *gpu) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Mark records an event on the stream, creating events as needed; -1
// after an error.
func (g *gpu) Mark() Event {
	g.enter()
	defer g.leave()
	var e Event
	if n := len(g.freeEvents); n > 0 {
		e, g.freeEvents = g.freeEvents[n-1], g.freeEvents[:n-1]
	} else {
		ev, err := cu.MakeEvent(cu.DefaultEvent)
		if err != nil {
			g.setErr(fmt.Errorf("cuda: creating an event: %w", err))
			return -1
		}
		g.events = append(g.events, ev)
		e = Event(len(g.events) - 1)
	}
	g.setErr(g.events[e].Record(g.stream))
	return e
}

// Elapsed waits for to and returns the time between the events.
func (g *gpu) Elapsed(from, to Event) time.Duration {
	g.enter()
	defer g.leave()
	if from < 0 || to < 0 {
		return 0
	}
	g.freeEvents = append(g.freeEvents, from, to)
	if err := g.events[to].Synchronize(); err != nil {
		g.setErr(err)
		return 0
	}
	ms, err := g.events[from].Elapsed(g.events[to])
	if err != nil {
		g.setErr(fmt.Errorf("cuda: reading an event's time: %w", err))
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}
