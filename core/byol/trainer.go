package byol

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/model"
	"github.com/byol-lab/byol-lab/core/nn"
	"github.com/byol-lab/byol-lab/core/optim"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// ErrDiverged is returned by Step when the loss is not finite. The step is
// undone: weights and BatchNorm statistics are those of the last good step.
var ErrDiverged = errors.New("byol: loss is not finite (training diverged)")

// Network is an encoder followed by heads, all sharing one Params.
type Network struct {
	Params    *nn.Params
	Encoder   *nn.Sequential
	Projector *nn.Sequential
	Predictor *nn.Sequential // nil in the target network
}

// Trainer runs BYOL steps, or SimCLR steps with method simclr. It is not
// safe for concurrent use: the lab calls it from one goroutine and applies
// knob changes between steps. Trainers sharing a backend (a fork shares its
// parent's) must not step concurrently.
//
// SimCLR has no target network, but the trainer keeps one so that
// checkpoints, forks and embeddings work unchanged: after every SimCLR step
// it is an exact copy of the online encoder and projector, weights and
// BatchNorm statistics (τ = 0), so the target's embeddings equal the online
// ones. The predictor is built too and left untrained.
type Trainer struct {
	cfg    Config
	b      backend.Backend
	pool   *parallel.Pool
	train  *data.Split
	shape  nn.Shape
	online Network
	target Network
	opt    *optim.Optimizer
	aug    *augment.Augmenter      // host views (evaluation; steps on the CPU)
	daug   augment.DeviceAugmenter // device views, when the backend makes them

	segsWithPred, segsNoPred []backend.Segment

	step int    // completed steps
	seen uint64 // training images drawn so far: the sampler's position

	// Sampler: a fresh permutation of the training set per epoch, seeded by
	// (seed, epoch), so the stream of batches depends only on seen.
	perm      []int
	permEpoch uint64
	pcg       rand.PCG
	rng       *rand.Rand

	idx      []int
	host     []float32 // both views, 2B images, on the host
	input    backend.Buffer
	views    [2]backend.Buffer // the halves of input: v and v'
	dp, loss backend.Buffer
	lossHost [1]float32
	lastLoss float64

	onlineShared  backend.Buffer // the online parameters the target mirrors
	onlineSharedS backend.Buffer // and the BatchNorm statistics (SimCLR copies them)
	// BatchNorm running statistics as they were before the current step's
	// forward pass, restored when the step diverges.
	onlineS, targetS backend.Buffer
	emb              embedder
}

// NewTrainer builds the networks for cfg on backend b and the given training
// split, initialised from cfg.Seed.
func NewTrainer(cfg Config, b backend.Backend, pool *parallel.Pool, train *data.Split) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Augment.Validate(train.C); err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, b: b, pool: pool, train: train, shape: nn.Shape{C: train.C, H: train.H, W: train.W}}
	var err error
	if t.online, err = buildNetwork(b, cfg, t.shape, true); err != nil {
		return nil, err
	}
	if t.target, err = buildNetwork(b, cfg, t.shape, false); err != nil {
		return nil, err
	}
	if err := t.online.Params.SameLayout(t.target.Params); err != nil {
		return nil, err
	}
	// The online network is initialised from the seed; the target starts as
	// an exact copy (the paper initialises ξ = θ).
	t.online.Params.Alloc(b, rand.New(rand.NewPCG(cfg.Seed, 0x5eed)))
	t.target.Params.Alloc(b, rand.New(rand.NewPCG(cfg.Seed, 0x5eed)))
	b.Copy(t.target.Params.W, t.online.Params.W.Slice(0, t.target.Params.Len()))

	if t.opt, err = optim.New(b, cfg.Optimizer, t.online.Params); err != nil {
		return nil, err
	}
	t.buildSegments()
	if t.aug, err = augment.New(cfg.Augment, train.C, train.H, train.W, pool); err != nil {
		return nil, err
	}
	if db, ok := b.(augment.DeviceBackend); ok {
		// The dataset moves to the device once; a step uploads only indices.
		if t.daug, err = db.NewAugmenter(train, cfg.Augment, train.C, train.H, train.W); err != nil {
			return nil, err
		}
	}
	t.rng = rand.New(&t.pcg)
	t.permEpoch = math.MaxUint64
	t.loss = b.Alloc(1)
	t.onlineShared = t.online.Params.W.Slice(0, t.target.Params.Len())
	t.onlineSharedS = t.online.Params.S.Slice(0, t.target.Params.S.Len())
	t.onlineS, t.targetS = b.Alloc(t.online.Params.S.Len()), b.Alloc(t.target.Params.S.Len())
	return t, nil
}

func buildNetwork(b backend.Backend, cfg Config, in nn.Shape, online bool) (Network, error) {
	ps := &nn.Params{}
	enc, err := model.NewEncoder(b, ps, "encoder", cfg.Arch, in, cfg.Width)
	if err != nil {
		return Network{}, err
	}
	n := Network{Params: ps, Encoder: enc}
	n.Projector = model.NewHead(b, ps, "projector", enc.OutShape().C, cfg.ProjHidden, cfg.ProjOut, cfg.HeadBN)
	if online {
		// The predictor's parameters come last, so the target's layout is a
		// prefix of the online one and the EMA is one pass.
		n.Predictor = model.NewHead(b, ps, "predictor", cfg.ProjOut, cfg.PredHidden, cfg.ProjOut, cfg.HeadBN)
	}
	return n, nil
}

func isPredictor(p *nn.Param) bool { return len(p.Name) >= 9 && p.Name[:9] == "predictor" }

func (t *Trainer) buildSegments() {
	scale := func(p *nn.Param) float64 {
		if isPredictor(p) {
			return t.cfg.PredLRMult
		}
		return 1
	}
	t.segsWithPred = optim.Segments(t.online.Params, nil, scale)
	t.segsNoPred = optim.Segments(t.online.Params, func(p *nn.Param) bool { return !isPredictor(p) }, scale)
}

// Config returns the current configuration (including live changes).
func (t *Trainer) Config() Config { return t.cfg }

// StepCount is the number of completed steps.
func (t *Trainer) StepCount() int { return t.step }

// Online and Target expose the networks (for checkpoints and export).
func (t *Trainer) Online() *Network { return &t.online }
func (t *Trainer) Target() *Network { return &t.target }

// LR is the learning rate the next step will use.
func (t *Trainer) LR() float64 {
	return optim.LR(t.cfg.TotalLR(), t.step, t.cfg.Steps, t.cfg.WarmupSteps, t.cfg.LRSchedule == "cosine")
}

// Tau is the EMA coefficient the next step will use: 0 for SimCLR, whose
// target is a copy of the online network.
func (t *Trainer) Tau() float64 {
	if t.cfg.Method == MethodSimCLR {
		return 0
	}
	if t.cfg.TauSchedule == "constant" {
		return t.cfg.TauBase
	}
	return optim.Tau(t.cfg.TauBase, t.step, t.cfg.Steps)
}

// LastLoss is the loss of the last completed step.
func (t *Trainer) LastLoss() float64 { return t.lastLoss }

// nextBatch fills t.idx with the next B training indices.
func (t *Trainer) nextBatch() {
	n := uint64(t.train.N)
	for i := range t.idx {
		epoch, pos := t.seen/n, t.seen%n
		if epoch != t.permEpoch {
			t.shuffle(epoch)
		}
		t.idx[i] = t.perm[pos]
		t.seen++
	}
}

func (t *Trainer) shuffle(epoch uint64) {
	if len(t.perm) != t.train.N {
		t.perm = make([]int, t.train.N)
	}
	for i := range t.perm {
		t.perm[i] = i
	}
	t.pcg.Seed(t.cfg.Seed^0x9e3779b97f4a7c15, epoch)
	t.rng.Shuffle(len(t.perm), func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
	t.permEpoch = epoch
}

// ensureBuffers sizes the per-step buffers for the current batch size.
func (t *Trainer) ensureBuffers() {
	B := t.cfg.Batch
	size := t.shape.Size()
	if len(t.idx) != B {
		t.idx = make([]int, B)
		t.host = make([]float32, 2*B*size)
		t.input = t.b.Alloc(2 * B * size)
		t.views = [2]backend.Buffer{t.input.Slice(0, B*size), t.input.Slice(B*size, B*size)}
		t.dp = t.b.Alloc(2 * B * t.cfg.ProjOut)
	}
}

// Step runs one training step of the configured method.
func (t *Trainer) Step() error {
	t.ensureBuffers()
	B := t.cfg.Batch
	size := t.shape.Size()
	t.nextBatch()
	// Views are keyed by the step, so a resumed run draws the same ones.
	if t.daug != nil {
		t.daug.Views(t.views[0], t.idx, 0, t.cfg.Seed, uint64(t.step))
		t.daug.Views(t.views[1], t.idx, 1, t.cfg.Seed, uint64(t.step))
	} else {
		t.aug.Views(t.host[:B*size], t.train, t.idx, 0, t.cfg.Seed, uint64(t.step))
		t.aug.Views(t.host[B*size:], t.train, t.idx, 1, t.cfg.Seed, uint64(t.step))
		t.b.Upload(t.input, t.host)
	}
	t.b.Copy(t.onlineS, t.online.Params.S)
	t.b.Copy(t.targetS, t.target.Params.S)
	x := nn.Tensor{Buf: t.input, N: 2 * B, Groups: 2, Shape: t.shape}

	// Online network on both views at once: rows [0,B) are v, [B,2B) are v'.
	simclr := t.cfg.Method == MethodSimCLR
	usePred := t.cfg.UsesPredictor()
	p := t.online.Projector.Forward(t.online.Encoder.Forward(x, true), true)
	if simclr {
		// Row i's positive is the other view of its image, B rows away; the
		// other 2B−2 rows are its negatives. Scaling the sum by 1/(2B) gives
		// SimCLR's mean over all 2B anchors. BatchNorm keeps BYOL's per-view
		// groups, so the two methods differ only in their objective.
		t.b.InfoNCELoss(p.Buf, t.dp, t.loss, 2*B, t.cfg.ProjOut, B, float32(t.cfg.Temperature), 1/float32(2*B))
	} else {
		if usePred {
			p = t.online.Predictor.Forward(p, true)
		}
		// Target network (stop-gradient: no backward) on the same batch.
		z := t.target.Projector.Forward(t.target.Encoder.Forward(x, true), true)
		// Pair p(v) with z'(v') and p(v') with z'(v): a shift of B rows. The
		// sum over 2B rows divided by B is L + L̃ averaged over the batch.
		t.b.BYOLLoss(p.Buf, z.Buf, t.dp, t.loss, 2*B, t.cfg.ProjOut, B, 1/float32(B))
	}
	t.b.Download(t.lossHost[:], t.loss)
	loss := float64(t.lossHost[0])
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		// The forward pass already folded this batch into the running
		// statistics; undo that so the trainer is exactly as before.
		t.b.Copy(t.online.Params.S, t.onlineS)
		t.b.Copy(t.target.Params.S, t.targetS)
		return ErrDiverged
	}

	dp := nn.Tensor{Buf: t.dp, N: 2 * B, Groups: 2, Shape: p.Shape}
	segs := t.segsNoPred
	if usePred {
		dp = t.online.Predictor.Backward(dp, true)
		segs = t.segsWithPred
	}
	t.online.Encoder.Backward(t.online.Projector.Backward(dp, true), false)

	t.opt.Step(t.LR(), segs)
	if simclr {
		t.b.Copy(t.target.Params.W, t.onlineShared)
		t.b.Copy(t.target.Params.S, t.onlineSharedS)
	} else {
		t.b.EMA(t.target.Params.W, t.onlineShared, float32(t.Tau()))
	}
	t.step++
	t.lastLoss = loss
	return nil
}

// Apply changes the live knobs to those of c, effective from the next step:
// predictor on/off and its lr multiplier, τ and its schedule, SimCLR's
// temperature, learning rate and its schedule, batch size, total steps,
// augmentations. Structural options (method, dataset, arch, head widths,
// optimiser kind) cannot change in a running trainer; Apply reports an
// error and changes nothing.
func (t *Trainer) Apply(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	old := t.cfg
	if c.Method != old.Method {
		return fmt.Errorf("byol: the method (%s) cannot change during a run: start a new run for %s", old.Method, c.Method)
	}
	if c.Dataset != old.Dataset || c.DataDir != old.DataDir || c.Arch != old.Arch || c.Width != old.Width ||
		c.ProjHidden != old.ProjHidden || c.ProjOut != old.ProjOut || c.PredHidden != old.PredHidden ||
		c.HeadBN != old.HeadBN || c.Optimizer != old.Optimizer || c.Seed != old.Seed || c.Device != old.Device {
		return fmt.Errorf("byol: only predictor, pred_lr_mult, tau, temperature, lr, batch, steps, schedules and augmentations can change during a run")
	}
	if err := c.Augment.Validate(t.shape.C); err != nil {
		return err
	}
	if err := t.aug.SetConfig(c.Augment); err != nil {
		return err
	}
	if t.daug != nil {
		if err := t.daug.SetConfig(c.Augment); err != nil {
			return err
		}
	}
	t.cfg = c
	t.buildSegments()
	return nil
}

// Clone returns an independent trainer in exactly t's state: weights,
// BatchNorm statistics, optimiser state, step and sampler position, config.
// Stepping either afterwards does not affect the other (the lab's "fork").
func (t *Trainer) Clone() (*Trainer, error) {
	c, err := NewTrainer(t.cfg, t.b, t.pool, t.train)
	if err != nil {
		return nil, err
	}
	c.b.Copy(c.online.Params.W, t.online.Params.W)
	c.b.Copy(c.online.Params.S, t.online.Params.S)
	c.b.Copy(c.target.Params.W, t.target.Params.W)
	c.b.Copy(c.target.Params.S, t.target.Params.S)
	s1, s2, steps := t.opt.State()
	d1, d2, _ := c.opt.State()
	c.b.Copy(d1, s1)
	if s2 != nil {
		c.b.Copy(d2, s2)
	}
	c.opt.SetSteps(steps)
	c.step, c.seen, c.lastLoss = t.step, t.seen, t.lastLoss
	return c, nil
}
