package eval

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// ProbeOptions configures the linear probe. A zero field takes its default.
type ProbeOptions struct {
	// L2 is λ in the objective mean cross-entropy + (λ/2)·‖W‖² (the bias
	// is not penalised). Default 1e-4: enough to keep separable data from
	// driving the weights to infinity, too little to cost accuracy.
	// Negative is an error.
	L2 float64
	// MaxIter bounds the L-BFGS iterations (default 500).
	MaxIter int
	// GradTol stops training when every gradient component is below it
	// (default 1e-6).
	GradTol float64
}

// Probe is a trained linear classifier on standardised features: the class
// scores of x are W·((x − Mean) ⊙ Scale) + b.
type Probe struct {
	D, NumClasses int
	Mean, Scale   []float64 // per feature, from the training set
	// W holds the weights row by feature, column by class:
	// W[j*NumClasses+c], with the biases in the extra row j = D.
	W []float64
	// Iterations and Loss report how training ended (loss includes the
	// L2 term).
	Iterations int
	Loss       float64
}

// LinearProbe trains a multinomial logistic regression on the frozen
// training features and returns its top-1 accuracy on the test features —
// the linear evaluation protocol of self-supervised learning, on a small
// scale. See TrainProbe.
func LinearProbe(trainX []float32, trainY []int32, testX []float32, testY []int32, d, numClasses int, opt ProbeOptions) (testAcc float64, err error) {
	p, err := TrainProbe(trainX, trainY, d, numClasses, opt)
	if err != nil {
		return 0, err
	}
	pred, err := p.Predict(testX)
	if err != nil {
		return 0, err
	}
	rep, err := Score(pred, testY, numClasses)
	if err != nil {
		return 0, err
	}
	return rep.Accuracy, nil
}

// TrainProbe fits a softmax classifier to the rows of x (d columns) and their
// labels. Features are standardised with the training mean and population
// standard deviation (a constant feature is only centred). The weights start
// at zero and are fitted full-batch by L-BFGS, so the result is
// deterministic. Non-finite features are an error.
func TrainProbe(x []float32, y []int32, d, numClasses int, opt ProbeOptions) (*Probe, error) {
	n, err := rows("train features", x, d)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("eval: probe training set is empty")
	}
	if numClasses <= 0 {
		return nil, fmt.Errorf("eval: numClasses = %d, want > 0", numClasses)
	}
	if err := checkLabels("train labels", y, n, numClasses); err != nil {
		return nil, err
	}
	if err := checkFinite("train features", x, d); err != nil {
		return nil, err
	}
	l2, maxIter, gradTol := opt.L2, opt.MaxIter, opt.GradTol
	switch {
	case l2 == 0:
		l2 = 1e-4
	case !(l2 > 0) || math.IsInf(l2, 1):
		return nil, fmt.Errorf("eval: probe L2 = %v, want finite ≥ 0", l2)
	}
	if maxIter <= 0 {
		maxIter = 500
	}
	if !(gradTol > 0) {
		gradTol = 1e-6
	}

	p := &Probe{D: d, NumClasses: numClasses, Mean: make([]float64, d), Scale: make([]float64, d)}
	for i := range n {
		for j, v := range x[i*d : i*d+d] {
			p.Mean[j] += float64(v)
		}
	}
	for j := range d {
		p.Mean[j] /= float64(n)
	}
	for i := range n {
		for j, v := range x[i*d : i*d+d] {
			e := float64(v) - p.Mean[j]
			p.Scale[j] += e * e
		}
	}
	for j := range d {
		if sd := math.Sqrt(p.Scale[j] / float64(n)); sd > 0 {
			p.Scale[j] = 1 / sd
		} else {
			p.Scale[j] = 1
		}
	}

	obj := &softmaxObjective{x: p.standardise(x, n), y: y, n: n, d: d, c: numClasses, l2: l2}
	theta := make([]float64, (d+1)*numClasses)
	res, err := optimize.Minimize(optimize.Problem{
		Func: obj.fn,
		Grad: obj.grad,
	}, theta, &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 20},
	}, &optimize.LBFGS{})
	if res == nil {
		return nil, fmt.Errorf("eval: probe training: %w", err)
	}
	// A line search that can make no more progress ends with an error but
	// at the best point found, which is what we want.
	if math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		return nil, fmt.Errorf("eval: probe training diverged (loss %v): %v", res.F, err)
	}
	p.W = res.X
	p.Iterations = res.Stats.MajorIterations
	p.Loss = res.F
	return p, nil
}

// standardise returns the rows of x as a float64 matrix with a trailing
// column of ones for the bias.
func (p *Probe) standardise(x []float32, n int) *mat.Dense {
	d := p.D
	data := make([]float64, n*(d+1))
	for i := range n {
		row := data[i*(d+1) : (i+1)*(d+1)]
		for j, v := range x[i*d : i*d+d] {
			row[j] = (float64(v) - p.Mean[j]) * p.Scale[j]
		}
		row[d] = 1
	}
	return mat.NewDense(n, d+1, data)
}

// Predict returns the most probable class of each row of x (ties go to
// the lower class). Non-finite features are an error.
func (p *Probe) Predict(x []float32) ([]int32, error) {
	n, err := rows("features", x, p.D)
	if err != nil {
		return nil, err
	}
	if err := checkFinite("features", x, p.D); err != nil {
		return nil, err
	}
	pred := make([]int32, n)
	if n == 0 {
		return pred, nil
	}
	var logits mat.Dense
	logits.Mul(p.standardise(x, n), mat.NewDense(p.D+1, p.NumClasses, p.W))
	for i := range n {
		pred[i] = int32(floats.MaxIdx(logits.RawRowView(i)))
	}
	return pred, nil
}

// softmaxObjective is the mean cross-entropy of a linear softmax classifier
// plus (l2/2)‖W‖², with its gradient. Loss and gradient come from the same
// pass, so the last point is cached for the optimiser's paired calls.
type softmaxObjective struct {
	x        *mat.Dense // n×(d+1), last column ones
	y        []int32
	n, d, c  int
	l2       float64
	at       []float64 // point of the cached values
	f        float64
	g        []float64
	logits   mat.Dense
	gradView mat.Dense
}

func (o *softmaxObjective) fn(theta []float64) float64 {
	o.eval(theta)
	return o.f
}

func (o *softmaxObjective) grad(g, theta []float64) {
	o.eval(theta)
	copy(g, o.g)
}

func (o *softmaxObjective) eval(theta []float64) {
	if o.at != nil && floats.Equal(o.at, theta) {
		return
	}
	o.at = append(o.at[:0], theta...)
	d, c := o.d, o.c
	w := mat.NewDense(d+1, c, theta)
	o.logits.Mul(o.x, w)

	// Turn logits into (softmax − onehot)/n in place, summing the loss.
	var loss float64
	for i := range o.n {
		row := o.logits.RawRowView(i)
		m := floats.Max(row)
		yi := o.y[i]
		loss -= row[yi] - m // −log p_y = log Σ exp(z − m) − (z_y − m)
		var s float64
		for k, z := range row {
			e := math.Exp(z - m)
			row[k] = e
			s += e
		}
		loss += math.Log(s)
		for k := range row {
			row[k] /= s * float64(o.n)
		}
		row[yi] -= 1 / float64(o.n)
	}
	loss /= float64(o.n)

	if o.g == nil {
		o.g = make([]float64, len(theta))
	}
	o.gradView.Mul(o.x.T(), &o.logits)
	copy(o.g, o.gradView.RawMatrix().Data)
	var reg float64
	for i, t := range theta[:d*c] { // the bias row d is not penalised
		reg += t * t
		o.g[i] += o.l2 * t
	}
	o.f = loss + o.l2/2*reg
}
