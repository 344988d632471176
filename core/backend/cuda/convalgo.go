package cuda

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/byol-lab/byol-lab/core/backend"
)

// ConvAlgo chooses how the CUDA backend runs convolutions (conv.go,
// winograd.go).
type ConvAlgo int

const (
	ConvIm2col    ConvAlgo = iota // unfolded columns + GEMM
	ConvImplicit                  // implicit GEMM where the geometry allows, im2col elsewhere
	ConvWinograd                  // Winograd F(2×2, 3×3) for 3×3 stride 1, then as ConvImplicit
	ConvWinograd4                 // Winograd F(4×4, 3×3) for 3×3 stride 1, then as ConvImplicit
	ConvAuto                      // per layer and pass, the fastest of the others, timed on first use
)

var convAlgoNames = [...]string{ConvIm2col: "im2col", ConvImplicit: "implicit", ConvWinograd: "winograd",
	ConvWinograd4: "winograd4", ConvAuto: "auto"}

// convAlgos are the algorithms ConvAuto chooses from.
var convAlgos = [...]ConvAlgo{ConvIm2col, ConvImplicit, ConvWinograd, ConvWinograd4}

// winoFor returns the Winograd transforms a runs g with, or nil.
func winoFor(a ConvAlgo, g backend.ConvGeom) *winoKernels {
	switch {
	case a == ConvWinograd && winogradFits(g):
		return &wino2
	case a == ConvWinograd4 && winogradFits(g):
		return &wino4
	}
	return nil
}

// convApplies says whether a runs g differently from the algorithms before
// it in convAlgos (it is not a fallback to one of them).
func convApplies(a ConvAlgo, op int, g backend.ConvGeom) bool {
	switch a {
	case ConvImplicit:
		return implicitFits(op, g)
	case ConvWinograd, ConvWinograd4:
		return winogradFits(g)
	}
	return true
}

func (a ConvAlgo) String() string { return convAlgoNames[a] }

// ParseConvAlgo reads an algorithm's name.
func ParseConvAlgo(s string) (ConvAlgo, error) {
	for a, name := range convAlgoNames {
		if s == name {
			return ConvAlgo(a), nil
		}
	}
	return 0, fmt.Errorf("convolution algorithm %q: want one of %s", s, strings.Join(convAlgoNames[:], ", "))
}

// SetConvAlgo switches the convolution algorithm from the next call on.
func (c *CUDA) SetConvAlgo(a ConvAlgo) { c.conv.algo = a }

// ConvAlgo reports the convolution algorithm.
func (c *CUDA) ConvAlgo() ConvAlgo { return c.conv.algo }

// convKey is one pass of one layer geometry: what ConvAuto chooses for.
type convKey struct {
	op int
	g  backend.ConvGeom
}

// convChoice is ConvAuto's choice for a key, with the times that made it
// (0 for an algorithm that does not apply).
type convChoice struct {
	algo  ConvAlgo
	times [len(convAlgos)]time.Duration // by ConvAlgo
}

// algoFor returns the algorithm to run op on g with: the one set, or under
// ConvAuto the choice for this pass and geometry, made on first use by
// timing each algorithm that applies on these very buffers (like
// cudnn.benchmark): one untimed run (workspaces, first launch), then the
// faster of two timed ones. Choices are per backend and process: a replay
// in another process may choose differently where two algorithms time
// alike.
func (c *CUDA) algoFor(op int, g backend.ConvGeom, b1, b2, b3 backend.Buffer) ConvAlgo {
	if c.conv.algo != ConvAuto {
		return c.conv.algo
	}
	key := convKey{op, g}
	if ch, ok := c.conv.auto[key]; ok {
		return ch.algo
	}
	ch := &convChoice{algo: ConvIm2col}
	best := time.Duration(-1)
	for _, a := range convAlgos {
		if !convApplies(a, op, g) {
			continue
		}
		run := func() { c.runConv(op, a, b1, b2, b3, g) }
		_, err0 := c.timeOnDevice(run) // warm-up: workspaces, first launch
		t1, err1 := c.timeOnDevice(run)
		t2, err2 := c.timeOnDevice(run)
		if err0 != nil || err1 != nil || err2 != nil {
			break // the error stays sticky for the caller's next check
		}
		ch.times[a] = max(min(t1, t2), 1)
		if best < 0 || ch.times[a] < best {
			best, ch.algo = ch.times[a], a
		}
	}
	if c.conv.auto == nil {
		c.conv.auto = map[convKey]*convChoice{}
	}
	c.conv.auto[key] = ch
	return ch.algo
}

// timeOnDevice returns how long the work f queues takes on the device:
// between two events where the driver has them (a GPU, the emulator), so
// neither launch latency nor a wait for the device is counted; otherwise
// the wall time from an idle device to the end of the work.
func (c *CUDA) timeOnDevice(f func()) (time.Duration, error) {
	if et := eventTimer(c.d); et != nil {
		from := et.Mark()
		f()
		d := et.Elapsed(from, et.Mark())
		return d, c.d.Err()
	}
	now := c.conv.clock
	if now == nil {
		now = time.Now
	}
	if err := c.Sync(); err != nil {
		return 0, err
	}
	start := now()
	f()
	err := c.Sync()
	return now().Sub(start), err
}

// eventTimer returns d's events, looking through a profiler, or nil.
func eventTimer(d Driver) EventTimer {
	if p, ok := d.(*Profiler); ok {
		return p.events
	}
	et, _ := d.(EventTimer)
	return et
}

// runConv runs pass op with algorithm a; the buffers are in the order of
// the pass's Backend method.
func (c *CUDA) runConv(op int, a ConvAlgo, b1, b2, b3 backend.Buffer, g backend.ConvGeom) {
	switch op {
	case convFwd:
		c.conv2d(a, b1, b2, b3, g)
	case convBwdData:
		c.conv2dBackwardData(a, b1, b2, b3, g)
	case convBwdFilter:
		c.conv2dBackwardFilter(a, b1, b2, b3, g)
	}
}

// ConvChoices describes ConvAuto's choices so far, one line per pass and
// layer geometry with each algorithm's time, sorted.
func (c *CUDA) ConvChoices() []string {
	opNames := [...]string{convFwd: "forward", convBwdFilter: "backward filter", convBwdData: "backward data"}
	var out []string
	for k, ch := range c.conv.auto {
		g := k.g
		line := fmt.Sprintf("%-26s %-15s %-9s", fmt.Sprintf("%d × %d×%d×%d → %d, %d×%d/%d", g.N, g.Cin, g.H, g.W, g.Cout,
			g.K, g.K, g.Stride), opNames[k.op], ch.algo)
		for a, t := range ch.times {
			if t > 0 {
				line += fmt.Sprintf("  %s %.3f ms", ConvAlgo(a), float64(t.Microseconds())/1000)
			}
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}
