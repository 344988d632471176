package eval

import (
	"errors"
	"fmt"
	"math"
)

// ErrNonFinite reports a NaN or infinite value in a feature matrix.
var ErrNonFinite = errors.New("eval: non-finite feature value")

// rows returns the number of rows of the row-major matrix x with d columns.
func rows(name string, x []float32, d int) (int, error) {
	if d <= 0 {
		return 0, fmt.Errorf("eval: dimension d = %d, want > 0", d)
	}
	if len(x)%d != 0 {
		return 0, fmt.Errorf("eval: %s has %d values, not a multiple of d = %d", name, len(x), d)
	}
	return len(x) / d, nil
}

// checkLabels verifies that y has n entries, all in [0, numClasses).
func checkLabels(name string, y []int32, n, numClasses int) error {
	if len(y) != n {
		return fmt.Errorf("eval: %s has %d labels for %d rows", name, len(y), n)
	}
	for i, c := range y {
		if c < 0 || int(c) >= numClasses {
			return fmt.Errorf("eval: %s[%d] = %d outside [0, %d)", name, i, c, numClasses)
		}
	}
	return nil
}

// checkFinite returns an error wrapping ErrNonFinite naming the first
// non-finite entry of x.
func checkFinite(name string, x []float32, d int) error {
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: %s row %d column %d is %v", ErrNonFinite, name, i/d, i%d, v)
		}
	}
	return nil
}

// norm2 returns the Euclidean norm of v, accumulated in float64 so that
// float32 rows of any realistic width lose nothing.
func norm2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// normaliseInto writes v/‖v‖₂ to dst. A zero row stays zero: it then has
// cosine similarity 0 with everything, which is the least surprising choice
// for a dead unit.
func normaliseInto(dst, v []float32) {
	n := norm2(v)
	if n == 0 {
		clear(dst[:len(v)])
		return
	}
	inv := 1 / n
	for i, x := range v {
		dst[i] = float32(float64(x) * inv)
	}
}
