package byol

import (
	"fmt"
	"math/rand/v2"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/eval"
)

// Metrics is one evaluation of a trainer.
type Metrics struct {
	Step     int
	Std      float64            // mean per-dimension std of ℓ2-normalised online projections
	Rank     float64            // effective rank of the online projections
	Spectrum []float64          // their singular values, descending
	MeanCos  float64            // mean cosine of online prediction (projection without predictor) and target projection
	KNN      map[string]float64 // kNN top-1 on the representation, per label set
}

// Evaluator holds the fixed image sets an evaluation uses, so that every
// evaluation of a run (and of runs compared side by side) sees the same ones.
type Evaluator struct {
	cfg         EvalConfig
	train, test *data.Split
	bank, query []int     // kNN bank (training images) and queries (test images)
	metric      []int     // test images for std, rank and spectrum
	bankR, qR   []float32 // representations of bank and queries
	rdim        int
	metricE     Embeddings
}

// NewEvaluator picks the evaluation sets: a seeded random subset of the
// training split as the kNN bank (folder datasets are stored class by class,
// so a prefix would not do), and the first images of the test split.
func NewEvaluator(cfg EvalConfig, train, test *data.Split, seed uint64) *Evaluator {
	e := &Evaluator{cfg: cfg, train: train, test: test}
	perm := rand.New(rand.NewPCG(seed, 0xe7a1)).Perm(train.N)
	e.bank = perm[:min(cfg.BankSize, train.N)]
	e.query = seq(min(cfg.QuerySize, test.N))
	e.metric = seq(min(cfg.MetricSize, test.N))
	return e
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// Evaluate embeds the evaluation sets with t's current networks and computes
// the metrics.
func (e *Evaluator) Evaluate(t *Trainer) (Metrics, error) {
	m := Metrics{Step: t.StepCount(), KNN: map[string]float64{}}
	e.bankR = t.EmbedRepr(e.train, e.bank, e.bankR)
	e.qR = t.EmbedRepr(e.test, e.query, e.qR)
	e.rdim = len(e.bankR) / max(len(e.bank), 1)
	t.Embed(e.test, e.metric, &e.metricE)
	me := e.metricE
	var err error
	n, d := len(e.metric), me.ProjDim
	proj := me.Proj[:n*d]
	if m.Std, err = eval.Std(proj, d); err != nil {
		return m, fmt.Errorf("std: %w", err)
	}
	if m.Spectrum, err = eval.Spectrum(proj, d); err != nil {
		return m, fmt.Errorf("spectrum: %w", err)
	}
	m.Rank = eval.EffectiveRank(m.Spectrum)
	// The loss compares the prediction with the target projection, or the
	// online projection itself when the predictor is off (SimCLR: 1, as its
	// target is a copy of the online network).
	online := me.Pred
	if !t.Config().UsesPredictor() {
		online = me.Proj
	}
	if m.MeanCos, err = eval.MeanCosine(online[:n*d], me.Target[:n*d], d); err != nil {
		return m, fmt.Errorf("mean cosine: %w", err)
	}
	for _, ls := range e.test.Labels {
		acc, err := e.knn(e.bankR, e.qR, e.rdim, ls.Name)
		if err != nil {
			return m, err
		}
		m.KNN[ls.Name] = acc
	}
	return m, nil
}

func (e *Evaluator) knn(bank, query []float32, d int, label string) (float64, error) {
	bl, ql := e.train.Label(label), e.test.Label(label)
	if bl == nil || ql == nil {
		return 0, fmt.Errorf("knn: label set %q missing from a split", label)
	}
	by := make([]int32, len(e.bank))
	for i, j := range e.bank {
		by[i] = bl.Y[j]
	}
	acc, err := eval.KNN(bank, by, query, ql.Y[:len(e.query)], d, len(ql.Classes), e.cfg.K, e.cfg.Temp)
	if err != nil {
		return 0, fmt.Errorf("knn %s: %w", label, err)
	}
	return acc, nil
}

// PixelKNN is the raw-pixel baseline: kNN on the normalised, un-augmented
// pixels of the same bank and queries, per label set.
func (e *Evaluator) PixelKNN(t *Trainer) (map[string]float64, error) {
	size := e.train.ImageSize()
	bank := make([]float32, len(e.bank)*size)
	query := make([]float32, len(e.query)*size)
	t.aug.Plain(bank, e.train, e.bank)
	t.aug.Plain(query, e.test, e.query)
	out := map[string]float64{}
	for _, ls := range e.test.Labels {
		acc, err := e.knn(bank, query, size, ls.Name)
		if err != nil {
			return nil, err
		}
		out[ls.Name] = acc
	}
	return out, nil
}

// LinearProbe trains a softmax classifier on the bank's representations from
// the last Evaluate and returns its accuracy on the queries (the field's
// linear evaluation, at lab scale).
func (e *Evaluator) LinearProbe(label string) (float64, error) {
	if len(e.bankR) == 0 {
		return 0, fmt.Errorf("linear probe: call Evaluate first")
	}
	bl, ql := e.train.Label(label), e.test.Label(label)
	if bl == nil || ql == nil {
		return 0, fmt.Errorf("linear probe: label set %q missing from a split", label)
	}
	by := make([]int32, len(e.bank))
	for i, j := range e.bank {
		by[i] = bl.Y[j]
	}
	acc, err := eval.LinearProbe(e.bankR, by, e.qR, ql.Y[:len(e.query)], e.rdim, len(ql.Classes), eval.ProbeOptions{})
	if err != nil {
		return 0, fmt.Errorf("linear probe %s: %w", label, err)
	}
	return acc, nil
}
