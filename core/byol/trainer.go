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

	// Steps: one loss per unchecked step (views of losses), and the state
	// before those steps, restored when one of them diverges.
	losses     backend.Buffer
	lossRing   []backend.Buffer
	lossesHost []float32
	before     state

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

// StepResult is what one training step reports: its loss and the learning
// rate and τ it used.
type StepResult struct{ Loss, LR, Tau float64 }

// MaxStepsPerSync is the most steps Steps runs before it reads their losses
// back from the device.
const MaxStepsPerSync = 32

// Step runs one training step of the configured method. It reads the loss
// back before changing any weight, so it waits for the device every step;
// Steps does not.
func (t *Trainer) Step() error {
	var r StepResult
	return t.checkedStep(&r)
}

// Steps runs len(out) training steps and fills out[i] with the result of the
// i-th. It reads the losses back from the device once every
// MaxStepsPerSync steps rather than once per step, so the host queues work
// without waiting for the device. When a loss is not finite, the trainer
// goes back to its state before those unchecked steps and replays them one
// by one with Step, so it stops, as Step does, with the weights of the last
// good step and ErrDiverged. It returns how many steps completed; out[:n]
// holds their results.
func (t *Trainer) Steps(out []StepResult) (int, error) {
	n := 0
	for n < len(out) {
		done, err := t.uncheckedSteps(out[n:min(len(out), n+MaxStepsPerSync)])
		n += done
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// checkedStep runs one step, checking the loss before the backward pass.
func (t *Trainer) checkedStep(r *StepResult) error {
	*r = StepResult{LR: t.LR(), Tau: t.Tau()}
	// The forward pass folds this batch into the BatchNorm running
	// statistics; keep them to undo that if the loss is not finite.
	t.b.Copy(t.onlineS, t.online.Params.S)
	t.b.Copy(t.targetS, t.target.Params.S)
	dp := t.forward(t.loss)
	t.b.Download(t.lossHost[:], t.loss)
	loss := float64(t.lossHost[0])
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.b.Copy(t.online.Params.S, t.onlineS)
		t.b.Copy(t.target.Params.S, t.targetS)
		return ErrDiverged
	}
	t.update(dp, r.LR, r.Tau)
	r.Loss, t.lastLoss = loss, loss
	return nil
}

// uncheckedSteps runs len(out) ≤ MaxStepsPerSync steps, then reads their
// losses; see Steps.
func (t *Trainer) uncheckedSteps(out []StepResult) (int, error) {
	if len(out) == 1 {
		if err := t.checkedStep(&out[0]); err != nil {
			return 0, err
		}
		return 1, nil
	}
	t.ensureSync()
	t.save(&t.before)
	for i := range out {
		out[i] = StepResult{LR: t.LR(), Tau: t.Tau()}
		t.update(t.forward(t.lossRing[i]), out[i].LR, out[i].Tau)
	}
	t.b.Download(t.lossesHost, t.losses)
	for i := range out {
		loss := float64(t.lossesHost[i])
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			t.restore(t.before)
			for j := range out {
				if err := t.checkedStep(&out[j]); err != nil {
					return j, err
				}
			}
			return len(out), nil // the replay did not diverge (a nondeterministic device)
		}
		out[i].Loss = loss
	}
	t.lastLoss = out[len(out)-1].Loss
	return len(out), nil
}

// ensureSync allocates the buffers of uncheckedSteps on first use.
func (t *Trainer) ensureSync() {
	if t.losses != nil {
		return
	}
	t.losses = t.b.Alloc(MaxStepsPerSync)
	t.lossesHost = make([]float32, MaxStepsPerSync)
	t.lossRing = make([]backend.Buffer, MaxStepsPerSync)
	for i := range t.lossRing {
		t.lossRing[i] = t.losses.Slice(i, 1)
	}
	t.before = t.newState()
}

// forward draws the next batch, makes its two views and runs the forward
// passes up to the loss, which it writes to loss[0]; it returns the
// gradient of the loss with respect to the last online output.
func (t *Trainer) forward(loss backend.Buffer) nn.Tensor {
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
	x := nn.Tensor{Buf: t.input, N: 2 * B, Groups: 2, Shape: t.shape}

	// Online network on both views at once: rows [0,B) are v, [B,2B) are v'.
	p := t.online.Projector.Forward(t.online.Encoder.Forward(x, true), true)
	if t.cfg.Method == MethodSimCLR {
		// Row i's positive is the other view of its image, B rows away; the
		// other 2B−2 rows are its negatives. Scaling the sum by 1/(2B) gives
		// SimCLR's mean over all 2B anchors. BatchNorm keeps BYOL's per-view
		// groups, so the two methods differ only in their objective.
		t.b.InfoNCELoss(p.Buf, t.dp, loss, 2*B, t.cfg.ProjOut, B, float32(t.cfg.Temperature), 1/float32(2*B))
	} else {
		if t.cfg.UsesPredictor() {
			p = t.online.Predictor.Forward(p, true)
		}
		// Target network (stop-gradient: no backward) on the same batch.
		z := t.target.Projector.Forward(t.target.Encoder.Forward(x, true), true)
		// Pair p(v) with z'(v') and p(v') with z'(v): a shift of B rows. The
		// sum over 2B rows divided by B is L + L̃ averaged over the batch.
		t.b.BYOLLoss(p.Buf, z.Buf, t.dp, loss, 2*B, t.cfg.ProjOut, B, 1/float32(B))
	}
	return nn.Tensor{Buf: t.dp, N: 2 * B, Groups: 2, Shape: p.Shape}
}

// update runs the backward pass from dp, the optimiser and the target's
// update, and counts the step.
func (t *Trainer) update(dp nn.Tensor, lr, tau float64) {
	segs := t.segsNoPred
	if t.cfg.UsesPredictor() {
		dp = t.online.Predictor.Backward(dp, true)
		segs = t.segsWithPred
	}
	t.online.Encoder.Backward(t.online.Projector.Backward(dp, true), false)

	t.opt.Step(lr, segs)
	if t.cfg.Method == MethodSimCLR {
		t.b.Copy(t.target.Params.W, t.onlineShared)
		t.b.Copy(t.target.Params.S, t.onlineSharedS)
	} else {
		t.b.EMA(t.target.Params.W, t.onlineShared, float32(tau))
	}
	t.step++
}

// state is everything a step changes: weights, BatchNorm statistics and
// optimiser state on the device, the step, sampler position and last loss.
type state struct {
	onlineW, onlineS, targetW, targetS, opt1, opt2 backend.Buffer
	optSteps, step                                 int
	seen                                           uint64
	lastLoss                                       float64
}

// live returns t's own state: views of its buffers and its counters.
func (t *Trainer) live() state {
	s1, s2, optSteps := t.opt.State()
	return state{t.online.Params.W, t.online.Params.S, t.target.Params.W, t.target.Params.S, s1, s2,
		optSteps, t.step, t.seen, t.lastLoss}
}

// newState allocates device buffers for a copy of t's state.
func (t *Trainer) newState() state {
	s := t.live()
	alloc := func(b backend.Buffer) backend.Buffer {
		if b == nil {
			return nil
		}
		return t.b.Alloc(b.Len())
	}
	return state{onlineW: alloc(s.onlineW), onlineS: alloc(s.onlineS), targetW: alloc(s.targetW),
		targetS: alloc(s.targetS), opt1: alloc(s.opt1), opt2: alloc(s.opt2)}
}

// copyState copies src into dst on b.
func copyState(b backend.Backend, dst *state, src state) {
	b.Copy(dst.onlineW, src.onlineW)
	b.Copy(dst.onlineS, src.onlineS)
	b.Copy(dst.targetW, src.targetW)
	b.Copy(dst.targetS, src.targetS)
	b.Copy(dst.opt1, src.opt1)
	if src.opt2 != nil {
		b.Copy(dst.opt2, src.opt2)
	}
	dst.optSteps, dst.step, dst.seen, dst.lastLoss = src.optSteps, src.step, src.seen, src.lastLoss
}

// save copies t's state into s.
func (t *Trainer) save(s *state) { copyState(t.b, s, t.live()) }

// restore sets t's state to s.
func (t *Trainer) restore(s state) {
	live := t.live()
	copyState(t.b, &live, s)
	t.opt.SetSteps(live.optSteps)
	t.step, t.seen, t.lastLoss = live.step, live.seen, live.lastLoss
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
	c.restore(t.live())
	return c, nil
}
