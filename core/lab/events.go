package lab

import (
	"sync/atomic"
	"time"

	"github.com/byol-lab/byol-lab/core/data"
)

// Sink receives everything the lab reports.
//
// Publish is called synchronously while the lab holds its work lock, from
// the scheduler goroutine or from the goroutine whose operation caused the
// event (Create, Pause, ...): calls never overlap and arrive in the order
// the changes happened. Publish must therefore return at once: it must not
// block on a network write, a slow client or a full channel (a websocket
// hub queues and coalesces per client; ChanSink drops), and it must not call
// the Lab's operations (Runs and Probe are fine). Training waits for
// Publish, so a blocking sink stalls every run. The event's slices belong to
// the sink: the lab never touches them again.
type Sink interface {
	Publish(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Publish calls f.
func (f SinkFunc) Publish(e Event) { f(e) }

// Event is one of Metrics, Snapshot, Eval, Notice, RunList or ProbeChanged.
type Event interface{ event() }

// Metrics are the cheap numbers published after every training step.
type Metrics struct {
	Run       string
	Step      int // completed steps
	Time      time.Time
	Loss      float64 // L + L̃ of the step, in [0, 8]
	LR        float64 // learning rate the step used (after batch scaling)
	Tau       float64 // EMA coefficient the step used
	Batch     int
	ImgPerSec float64 // training throughput of this run: step time only, smoothed
}

// Snapshot is the picture of a run's embeddings of the probe set.
//
// The three clouds are the ℓ2-normalised online projection z, online
// prediction q(z) and target projection z', all projected on the same two
// axes: the top principal axes of the normalised online projections (kept
// stable from frame to frame), relative to their mean. Normalising first
// puts the three on the sphere the loss compares them on, so a prediction
// that sits on its target is visibly on it. Spectrum, DimStd, Std and Rank
// describe the normalised online projections.
type Snapshot struct {
	Run  string
	Step int
	Time time.Time
	N, D int // probe points, projection dimension

	Proj    []float32  // 2N: x, y of probe point i at [2i], [2i+1]
	Pred    []float32  // 2N, on the axes of Proj
	Target  []float32  // 2N, on the axes of Proj
	AxisVar [2]float64 // variance of Proj along the two axes

	Spectrum []float32 // singular values, descending (min(N, D) of them)
	DimStd   []float32 // D: std of each dimension across the probe
	Std      float64   // mean of DimStd: about 1/√D when healthy, 0 when collapsed
	Rank     float64   // effective rank of Spectrum (RankMe)
	MeanCos  float64   // mean cosine of online prediction and target projection
}

// Eval is a kNN evaluation of a run's representation (the encoder output):
// the probe points classified by their neighbours in a fixed bank of
// labelled training images, one accuracy per label set. It is published
// right after the snapshot of the same step, at a slower rate.
type Eval struct {
	Run      string
	Step     int
	Time     time.Time
	KNN      map[string]float64 // label set name → top-1 accuracy in [0, 1]
	BankSize int
	K        int
}

// Notice kinds.
const (
	NoticeCreated   = "created"
	NoticeDeleted   = "deleted"
	NoticeForked    = "forked"
	NoticeReset     = "reset"
	NoticePaused    = "paused"
	NoticeResumed   = "resumed"
	NoticeSet       = "set"      // knobs changed
	NoticeFinished  = "finished" // reached the configured steps; paused
	NoticeCollapse  = "collapse" // std fell below the collapse threshold
	NoticeRecovered = "recovered"
	NoticeNaN       = "nan" // training diverged; the run paused itself
	NoticeError     = "error"
	NoticePreset    = "preset" // a preset replaced all runs
)

// Notice is something a person should read: a run changed state, collapsed,
// diverged, or an operation failed inside the scheduler.
type Notice struct {
	Run     string // empty for the whole lab
	Step    int
	Time    time.Time
	Kind    string
	Message string
}

// RunList is the list of runs after any change of the list or of a run's
// state, name or knobs (not after every step: Metrics carry the step).
type RunList struct {
	Time time.Time
	Runs []RunInfo
}

// ProbeChanged says that the dataset, and so the probe set, changed (a
// preset for another dataset was loaded). Snapshots before it index another
// probe.
type ProbeChanged struct {
	Probe *Probe
}

func (Metrics) event()      {}
func (Snapshot) event()     {}
func (Eval) event()         {}
func (Notice) event()       {}
func (RunList) event()      {}
func (ProbeChanged) event() {}

// Probe is the fixed set of test images every snapshot embeds, the same for
// all runs of a dataset. It is immutable: do not modify its slices.
type Probe struct {
	Dataset    string
	N, C, H, W int
	Index      []int   // indices into the test split
	Pix        []uint8 // N images of C×H×W bytes (channel-major), for thumbnails
	// Labels has one entry per label set of the dataset: its name, its
	// class names and the class of every probe point.
	Labels []data.LabelSet
}

// Image returns the bytes of probe point i.
func (p *Probe) Image(i int) []uint8 {
	n := p.C * p.H * p.W
	return p.Pix[i*n : (i+1)*n]
}

// ChanSink is a Sink that never blocks: it offers each event to a buffered
// channel and drops it when the channel is full. It suits headless
// consumers and tests; a server should queue per client and coalesce
// snapshots instead of dropping at random.
type ChanSink struct {
	C       chan Event
	dropped atomic.Uint64
}

// NewChanSink returns a ChanSink with a buffer of n events.
func NewChanSink(n int) *ChanSink { return &ChanSink{C: make(chan Event, n)} }

// Publish offers e to the channel without waiting.
func (s *ChanSink) Publish(e Event) {
	select {
	case s.C <- e:
	default:
		s.dropped.Add(1)
	}
}

// Dropped is the number of events that found the channel full.
func (s *ChanSink) Dropped() uint64 { return s.dropped.Load() }
