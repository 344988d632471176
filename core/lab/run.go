package lab

import (
	"fmt"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/eval"
)

// run is one training run. Its fields are guarded by the lab's work lock,
// except info (the lab's mu).
type run struct {
	id, name string
	parent   string
	forkStep int
	t        *byol.Trainer
	state    State
	// remaining > 0: the steps left of a Step request, after which the run
	// pauses; 0: it runs until paused.
	remaining int
	gen       int     // incremented by Reset: embeddings of an older gen are stale
	perImg    float64 // smoothed seconds of training per image
	pacer     byol.Pacer
	results   [byol.MaxStepsPerSync]byol.StepResult // of the last turn

	pca                 eval.PCA2
	emb                 byol.Embeddings
	projN, predN, targN []float32 // normalised rows of the last snapshot
	snapAt, evalAt      time.Time // last snapshot and evaluation (zero: never)
	snapStep, snapGen   int       // step and gen of the last snapshot (-1: none)
	eval                *evalJob  // the kNN evaluation following the last snapshot, in progress
	collapsed, spread   bool      // collapse detector (see checkCollapse)

	info RunInfo
}

func newRun(id, name string, t *byol.Trainer, state State) *run {
	return &run{id: id, name: name, t: t, state: state, snapStep: -1}
}

// reset replaces the trainer by a fresh one and forgets the picture.
func (r *run) reset(t *byol.Trainer) {
	r.t = t
	r.gen++
	r.perImg, r.pacer = 0, byol.Pacer{}
	r.pca.Reset()
	r.snapStep, r.eval, r.collapsed, r.spread = -1, nil, false, false
	r.snapAt, r.evalAt = time.Time{}, time.Time{}
	r.parent, r.forkStep = "", 0
}

// label names a run in notices: `r2 "no predictor"`.
func (r *run) label() string { return fmt.Sprintf("%s %q", r.id, r.name) }

// refreshInfo recomputes r.info from the trainer; call with the work lock
// and mu held.
func (r *run) refreshInfo() {
	cfg := r.t.Config()
	r.info = RunInfo{
		ID: r.id, Name: r.name, State: r.state, Step: r.t.StepCount(), Loss: r.t.LastLoss(),
		Knobs: knobValues(&cfg), Arch: cfg.Arch, Dataset: cfg.Dataset, ProjDim: cfg.ProjOut,
		Parent: r.parent, ForkStep: r.forkStep, Config: cfg,
	}
	r.info = r.info.clone()
}

// clone deep-copies the slices and maps, so callers may keep or change it.
func (i RunInfo) clone() RunInfo {
	aug := make(map[string]bool, len(i.Knobs.Augment))
	for k, v := range i.Knobs.Augment {
		aug[k] = v
	}
	i.Knobs.Augment = aug
	n := &i.Config.Augment.Normalize
	n.Mean = append([]float64(nil), n.Mean...)
	n.Std = append([]float64(nil), n.Std...)
	return i
}
