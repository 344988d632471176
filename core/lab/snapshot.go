package lab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/eval"
)

// Seeds of the probe and bank choices: fixed, so every lab on a dataset
// shows the same points.
const (
	probeSeed = 0x9e0be
	bankSeed  = 0xba4c
)

// newProbe picks the probe set (a seeded random subset of the test split,
// in index order: folder datasets are stored class by class, so a prefix
// would not do) and the kNN bank (the same from the training split).
func newProbe(ds *data.Dataset, probeSize, bankSize int) (*Probe, []int, map[string][]int32) {
	te, tr := ds.Test, ds.Train
	idx := pick(te.N, probeSize, probeSeed)
	p := &Probe{Dataset: ds.Name, N: len(idx), C: te.C, H: te.H, W: te.W, Index: idx,
		Pix: make([]uint8, 0, len(idx)*te.ImageSize())}
	for _, i := range idx {
		p.Pix = append(p.Pix, te.Image(i)...)
	}
	for _, ls := range te.Labels {
		y := make([]int32, len(idx))
		for k, i := range idx {
			y[k] = ls.Y[i]
		}
		p.Labels = append(p.Labels, data.LabelSet{Name: ls.Name, Classes: slices.Clone(ls.Classes), Y: y})
	}
	bank := pick(tr.N, bankSize, bankSeed)
	bankY := map[string][]int32{}
	for _, ls := range tr.Labels {
		y := make([]int32, len(bank))
		for k, i := range bank {
			y[k] = ls.Y[i]
		}
		bankY[ls.Name] = y
	}
	return p, bank, bankY
}

func pick(n, k int, seed uint64) []int {
	idx := rand.New(rand.NewPCG(seed, 0x1ab)).Perm(n)[:min(k, n)]
	slices.Sort(idx)
	return idx
}

// snapshotDue says how long until run r may take its next snapshot (≤ 0:
// now): at most SnapshotRate a second. (The scheduler also keeps all
// snapshots and evaluations within SnapshotShare of its time.)
func (l *Lab) snapshotDue(r *run, now time.Time) time.Duration {
	if l.opt.SnapshotRate < 0 {
		return math.MaxInt64
	}
	if r.snapAt.IsZero() {
		return 0
	}
	interval := time.Duration(float64(time.Second) / l.opt.SnapshotRate)
	return r.snapAt.Add(interval).Sub(now)
}

// evalDue reports whether a kNN evaluation should follow the snapshot
// taken at now.
func (l *Lab) evalDue(r *run, now time.Time) bool {
	if l.opt.EvalInterval < 0 {
		return false
	}
	return r.evalAt.IsZero() || now.Sub(r.evalAt) >= l.opt.EvalInterval
}

// budget splits the scheduler's recent time between training and overhead
// (snapshots and evaluations), each sum decaying with a time constant of a
// few seconds, so "recent" means the last few seconds.
type budget struct {
	train, over float64 // decayed seconds
	at          time.Time
}

const budgetTau = 5 * time.Second

func (b *budget) decay() {
	now := time.Now()
	if !b.at.IsZero() {
		f := math.Exp(-now.Sub(b.at).Seconds() / budgetTau.Seconds())
		b.train *= f
		b.over *= f
	}
	b.at = now
}

// add counts d as training or as overhead.
func (b *budget) add(d time.Duration, overhead bool) {
	b.decay()
	if overhead {
		b.over += d.Seconds()
	} else {
		b.train += d.Seconds()
	}
}

// overhead is the recent fraction of time spent on overhead.
func (b *budget) overhead() float64 {
	b.decay()
	if b.over == 0 {
		return 0
	}
	return b.over / (b.over + b.train)
}

// snapshot embeds the probe with r's networks and publishes a Snapshot. It
// reports false when the embeddings are not finite (the caller pauses r).
func (l *Lab) snapshot(r *run) (ok bool, err error) {
	now := l.now()
	e := &r.emb
	r.t.Embed(l.ds.Test, l.probe.Index, e)
	n, d := e.N, e.ProjDim
	if !allFinite(e.Proj) || !allFinite(e.Pred) || !allFinite(e.Target) || !allFinite(e.Repr) {
		return false, nil
	}
	r.projN = normaliseRows(r.projN, e.Proj, d)
	r.predN = normaliseRows(r.predN, e.Pred, d)
	r.targN = normaliseRows(r.targN, e.Target, d)

	s := Snapshot{Run: r.id, Step: r.t.StepCount(), Time: now, N: n, D: d,
		Proj: make([]float32, 2*n), Pred: make([]float32, 2*n), Target: make([]float32, 2*n)}
	if err := r.pca.Project(r.projN, n, d, s.Proj); err != nil {
		return false, fmt.Errorf("pca: %w", err)
	}
	// The prediction and the target projection go on the same axes and
	// around the same centre, so the three clouds share one picture.
	a0, a1, v0, v1 := r.pca.Axes()
	s.AxisVar = [2]float64{v0, v1}
	mean := colMeans(r.projN, n, d)
	projectOn(s.Pred, r.predN, mean, a0, a1)
	projectOn(s.Target, r.targN, mean, a0, a1)

	spec, err := eval.Spectrum(r.projN, d)
	if err != nil {
		return false, fmt.Errorf("spectrum: %w", err)
	}
	s.Spectrum = make([]float32, len(spec))
	for i, v := range spec {
		s.Spectrum[i] = float32(v)
	}
	s.Rank = eval.EffectiveRank(spec)
	s.DimStd, s.Std = dimStd(r.projN, mean, n, d)
	// What the loss compares: the prediction, or the projection itself when
	// the predictor is off.
	online := e.Pred
	if !r.t.Config().UsesPredictor() {
		online = e.Proj
	}
	if s.MeanCos, err = eval.MeanCosine(online, e.Target, d); err != nil {
		return false, fmt.Errorf("mean cosine: %w", err)
	}

	r.snapAt, r.snapStep, r.snapGen = now, s.Step, r.gen
	l.publish(s)
	l.checkCollapse(r, &s)
	return true, nil
}

// collapseWarmup is the step after which a run that never spread out
// counts as collapsed.
const collapseWarmup = 200

// checkCollapse publishes a notice when the std of the normalised
// projections falls below threshold/√d (complete collapse: every image maps
// to about the same point) and when it climbs back above 1.5 times that; the
// gap keeps a run near the line from flickering.
//
// A freshly initialised network is below the line too (its outputs point
// about the same way: std ≈ 0.005 for the tiny ConvNet at d = 64), and
// training first spreads them out, so the detector arms only once the std
// has been above the upper line, or after collapseWarmup steps.
func (l *Lab) checkCollapse(r *run, s *Snapshot) {
	line := l.opt.CollapseThreshold / math.Sqrt(float64(s.D))
	if s.Std > 1.5*line {
		r.spread = true
	}
	switch {
	case !r.collapsed && s.Std < line && (r.spread || s.Step >= collapseWarmup):
		r.collapsed = true
		l.notice(r, NoticeCollapse, fmt.Sprintf(
			"collapse: std of the normalised projections %.4f < %.2f/√d = %.4f (healthy ≈ 1/√d = %.4f), effective rank %.1f of %d",
			s.Std, l.opt.CollapseThreshold, line, 1/math.Sqrt(float64(s.D)), s.Rank, s.D))
	case r.collapsed && s.Std > 1.5*line:
		r.collapsed = false
		l.notice(r, NoticeRecovered, fmt.Sprintf("recovered: std %.4f > %.4f, effective rank %.1f", s.Std, 1.5*line, s.Rank))
	}
}

// evalChunk is how many bank images an evaluation embeds per scheduler
// unit, so that an operation waits for a chunk rather than for the bank.
const evalChunk = 256

// evalJob is a kNN evaluation in progress: the bank embedded so far.
type evalJob struct {
	done int
	repr []float32
	part byol.Embeddings
}

// evaluateChunk embeds the next chunk of the kNN bank with r's networks
// (unchanged since the snapshot: nothing steps meanwhile) and, after the
// last one, classifies the probe by its neighbours in the bank, using the
// representation the snapshot computed, and publishes an Eval.
func (l *Lab) evaluateChunk(r *run) error {
	job := r.eval
	if job.done < len(l.bank) {
		hi := min(job.done+l.evalChunk, len(l.bank))
		r.t.Embed(l.ds.Train, l.bank[job.done:hi], &job.part)
		job.repr = append(job.repr, job.part.Repr...)
		job.done = hi
		if hi < len(l.bank) {
			return nil
		}
	}
	r.eval = nil
	cfg := r.t.Config()
	ev := Eval{Run: r.id, Step: r.snapStep, Time: l.now(), KNN: map[string]float64{}, BankSize: len(l.bank), K: cfg.Eval.K}
	for _, ls := range l.probe.Labels {
		by := l.bankY[ls.Name]
		if by == nil {
			continue
		}
		acc, err := eval.KNN(job.repr, by, r.emb.Repr, ls.Y, r.emb.ReprDim, len(ls.Classes), cfg.Eval.K, cfg.Eval.Temp)
		if err != nil {
			return fmt.Errorf("knn %s: %w", ls.Name, err)
		}
		ev.KNN[ls.Name] = acc
	}
	r.evalAt = ev.Time
	l.publish(ev)
	return nil
}

func allFinite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// normaliseRows writes the rows of z divided by their ℓ2 norms into dst
// (grown as needed); a zero row stays zero.
func normaliseRows(dst, z []float32, d int) []float32 {
	if cap(dst) < len(z) {
		dst = make([]float32, len(z))
	}
	dst = dst[:len(z)]
	for i := 0; i < len(z); i += d {
		var s float64
		for _, v := range z[i : i+d] {
			s += float64(v) * float64(v)
		}
		inv := 0.0
		if s > 0 {
			inv = 1 / math.Sqrt(s)
		}
		for j, v := range z[i : i+d] {
			dst[i+j] = float32(float64(v) * inv)
		}
	}
	return dst
}

func colMeans(z []float32, n, d int) []float64 {
	m := make([]float64, d)
	for i := range n {
		for j, v := range z[i*d : i*d+d] {
			m[j] += float64(v)
		}
	}
	for j := range m {
		m[j] /= float64(n)
	}
	return m
}

// projectOn writes the coordinates of the rows of z, relative to mean, on
// the axes a0 and a1 into out (2 per row).
func projectOn(out, z []float32, mean, a0, a1 []float64) {
	d := len(mean)
	for i := range len(z) / d {
		var c0, c1 float64
		for j, v := range z[i*d : i*d+d] {
			x := float64(v) - mean[j]
			c0 += x * a0[j]
			c1 += x * a1[j]
		}
		out[2*i], out[2*i+1] = float32(c0), float32(c1)
	}
}

// dimStd returns the population std of every column of z and their mean
// (what eval.Std computes for the rows before normalisation).
func dimStd(z []float32, mean []float64, n, d int) ([]float32, float64) {
	ss := make([]float64, d)
	for i := range n {
		for j, v := range z[i*d : i*d+d] {
			e := float64(v) - mean[j]
			ss[j] += e * e
		}
	}
	out := make([]float32, d)
	var sum float64
	for j, s := range ss {
		sd := math.Sqrt(s / float64(n))
		out[j] = float32(sd)
		sum += sd
	}
	return out, sum / float64(d)
}
