package eval

import (
	"fmt"
	"math"
)

// Report scores a set of predictions.
type Report struct {
	// Accuracy is the fraction of correct predictions (top-1).
	Accuracy float64
	// PerClass is the recall of each class: correct / samples of that
	// class. It is NaN for a class with no samples.
	PerClass []float64
	// Confusion counts samples by true class (row) and predicted class
	// (column): Confusion[t*numClasses+p].
	Confusion []int
}

// Score compares predictions with the true labels. Both must be in
// [0, numClasses) and of equal, non-zero length.
func Score(pred, truth []int32, numClasses int) (Report, error) {
	if numClasses <= 0 {
		return Report{}, fmt.Errorf("eval: numClasses = %d, want > 0", numClasses)
	}
	if len(truth) == 0 {
		return Report{}, fmt.Errorf("eval: no samples to score")
	}
	if err := checkLabels("predictions", pred, len(truth), numClasses); err != nil {
		return Report{}, err
	}
	if err := checkLabels("labels", truth, len(truth), numClasses); err != nil {
		return Report{}, err
	}
	r := Report{
		PerClass:  make([]float64, numClasses),
		Confusion: make([]int, numClasses*numClasses),
	}
	correct := 0
	for i, t := range truth {
		r.Confusion[int(t)*numClasses+int(pred[i])]++
		if pred[i] == t {
			correct++
		}
	}
	r.Accuracy = float64(correct) / float64(len(truth))
	for c := range numClasses {
		total := 0
		for p := range numClasses {
			total += r.Confusion[c*numClasses+p]
		}
		if total == 0 {
			r.PerClass[c] = math.NaN()
		} else {
			r.PerClass[c] = float64(r.Confusion[c*numClasses+c]) / float64(total)
		}
	}
	return r, nil
}
