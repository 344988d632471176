// Package lab runs several BYOL trainings side by side for the live lab: one
// scheduler goroutine steps the running runs round-robin on one shared CPU
// backend and worker pool, applies the operations other goroutines ask for
// (create, pause, step N, fork, live knobs, ...) between steps, and reports
// metrics, snapshots of the embeddings and notices to a Sink.
//
// The package knows nothing of networks or wire formats: a server turns
// Sink events into messages and client commands into Lab calls.
package lab

import (
	"errors"
	"github.com/byol-lab/byol-lab/core/backend"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// Options configure a Lab. Zero values take the defaults given.
type Options struct {
	Threads int  // threads of the shared worker pool (0: all cores)
	Sink    Sink // where events go (nil: discarded); see Sink for its contract

	SnapshotRate float64 // snapshots per second per run, at most (0: 5; < 0: none)
	// SnapshotShare bounds the fraction of the scheduler's recent time that
	// snapshots and evaluations take while runs train (0: 0.5): embedding
	// the probe costs about two steps of the default config, so on a small
	// machine snapshots slow down rather than training.
	SnapshotShare float64
	EvalInterval  time.Duration // kNN evaluation per run at most this often (0: 5 s; < 0: none)
	ProbeSize     int           // test images in the probe set (0: 512)
	BankSize      int           // labelled training images of the kNN bank (0: 2000)
	// CollapseThreshold: a collapse notice when the std of the normalised
	// projections falls below CollapseThreshold/√d (0: 0.2).
	CollapseThreshold float64
	MaxRuns           int // runs at once (0: 8)
	MaxBatch          int // largest batch a run may use (0: 1024), bounds memory

	// Data is used for runs on the dataset it names (tests, datasets built
	// in memory); other datasets are loaded with data.Load and DataOptions
	// (a config's data_dir, when set, wins over DataOptions.DataDir).
	Data        *data.Dataset
	DataOptions data.Options

	Now func() time.Time // the clock of timestamps and rate limits (nil: time.Now)

	// Device names the backend every run trains on ("" or "cpu": the CPU;
	// "cuda": Backend, which the caller opened with core/device).
	Device  string
	Backend backend.Backend
}

func (o *Options) fill() {
	if o.SnapshotRate == 0 {
		o.SnapshotRate = 5
	}
	if !(o.SnapshotShare > 0 && o.SnapshotShare <= 1) {
		o.SnapshotShare = 0.5
	}
	if o.EvalInterval == 0 {
		o.EvalInterval = 5 * time.Second
	}
	if o.ProbeSize <= 0 {
		o.ProbeSize = 512
	}
	if o.BankSize <= 0 {
		o.BankSize = 2000
	}
	if !(o.CollapseThreshold > 0) {
		o.CollapseThreshold = 0.2
	}
	if o.MaxRuns <= 0 {
		o.MaxRuns = 8
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Defaults is the configuration of a lab run on dataset: byol.Defaults made
// light enough to watch live on a laptop (two runs on two cores step a few
// times a second each): the tiny ConvNet, batch 64, heads 256 → 64, and a
// schedule of 20000 steps, at whose end a run pauses. Presets start from it.
func Defaults(dataset string) (byol.Config, error) {
	c, err := byol.Defaults(dataset)
	if err != nil {
		return c, err
	}
	c.Arch = "tiny"
	c.Batch = 64
	c.ProjHidden, c.ProjOut, c.PredHidden = 256, 64, 256
	c.Steps = 20000
	c.EvalEvery, c.CheckpointEvery = 0, 0
	return c, nil
}

// State is what a run is doing.
type State string

const (
	Running  State = "running"
	Paused   State = "paused"
	Diverged State = "diverged" // paused by a non-finite loss; Reset (or lower lr and Resume)
)

// RunInfo describes a run.
type RunInfo struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	State    State       `json:"state"`
	Step     int         `json:"step"`
	Loss     float64     `json:"loss"` // of the last step (0 before the first)
	Knobs    KnobValues  `json:"knobs"`
	Arch     string      `json:"arch"`
	Dataset  string      `json:"dataset"`
	ProjDim  int         `json:"proj_dim"`
	Parent   string      `json:"parent,omitempty"` // the run this one was forked from
	ForkStep int         `json:"fork_step,omitempty"`
	Config   byol.Config `json:"config"` // the full current configuration
}

// ErrClosed is returned by operations on a closed Lab.
var ErrClosed = errors.New("lab: closed")

// Lab holds the runs. All its methods are safe for concurrent use; changes
// take effect at the next step boundary (an operation waits for at most one
// step, snapshot or evaluation to finish).
type Lab struct {
	opt  Options
	pool *parallel.Pool
	b    backend.Backend

	// work is held while a trainer steps, embeds or changes, and by every
	// operation: it serialises all use of the backend and of the fields
	// below. Sink calls are made with it held.
	work      sync.Mutex
	runs      []*run // display and round-robin order; written with mu held too
	nextID    int
	last      *run // the run stepped last
	ds        *data.Dataset
	probe     *Probe // written with mu held too
	bank      []int  // training indices of the kNN bank
	bankY     map[string][]int32
	closed    bool
	budget    budget // the scheduler's split of time between training and snapshots
	evalChunk int    // bank images embedded per unit of an evaluation

	// mu guards what readers that must not wait for a step read: the runs
	// slice, each run's info, the probe.
	mu sync.Mutex

	wake    chan struct{}
	running atomic.Bool

	testStepHook func(r *run)  // tests: called before every turn of steps
	testTurn     time.Duration // tests: the length of a turn, if not 0
}

// New returns an empty lab; Create or LoadPreset adds runs, Run steps them.
func New(opt Options) *Lab {
	opt.fill()
	pool := parallel.New(opt.Threads)
	var b backend.Backend = cpu.New(pool)
	if opt.Backend != nil {
		b = opt.Backend
	}
	if opt.Device == "" {
		opt.Device = "cpu"
	}
	return &Lab{opt: opt, pool: pool, b: b, wake: make(chan struct{}, 1), evalChunk: evalChunk}
}

// Close stops the lab: Run returns, later operations fail with ErrClosed,
// and the worker pool is released.
func (l *Lab) Close() {
	l.work.Lock()
	defer l.work.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.signal()
	l.pool.Close()
}

func (l *Lab) now() time.Time { return l.opt.Now() }

// signal wakes the scheduler if it waits for work.
func (l *Lab) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// publish hands e to the sink; a panicking sink costs the event, not the lab.
func (l *Lab) publish(e Event) {
	if l.opt.Sink == nil {
		return
	}
	defer func() { _ = recover() }()
	l.opt.Sink.Publish(e)
}

func (l *Lab) notice(r *run, kind, msg string) {
	n := Notice{Time: l.now(), Kind: kind, Message: msg}
	if r != nil {
		n.Run = r.id
		if r.t != nil {
			n.Step = r.t.StepCount()
		}
	}
	l.publish(n)
}

// publishRuns refreshes the published info of every run and sends the list.
func (l *Lab) publishRuns() {
	l.mu.Lock()
	for _, r := range l.runs {
		r.refreshInfo()
	}
	l.mu.Unlock()
	l.publish(RunList{Time: l.now(), Runs: l.Runs()})
}

// Runs lists the runs in display order. It does not wait for a step.
func (l *Lab) Runs() []RunInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RunInfo, len(l.runs))
	for i, r := range l.runs {
		out[i] = r.info.clone()
	}
	return out
}

// Probe returns the probe set of the current dataset (nil before the first
// run). It does not wait for a step.
func (l *Lab) Probe() *Probe {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.probe
}
