package eval

import (
	"math"
	"math/rand/v2"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// gaussian returns an n×d matrix of standard normal values.
func gaussian(r *rand.Rand, n, d int) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// clustered returns n rows around numClasses random centres (spread 1,
// noise sigma) and their labels.
func clustered(r *rand.Rand, n, d, numClasses int, sigma float64) ([]float32, []int32) {
	centres := make([]float64, numClasses*d)
	for i := range centres {
		centres[i] = r.NormFloat64()
	}
	x := make([]float32, n*d)
	y := make([]int32, n)
	for i := range n {
		c := r.IntN(numClasses)
		y[i] = int32(c)
		for l := range d {
			x[i*d+l] = float32(centres[c*d+l] + sigma*r.NormFloat64())
		}
	}
	return x, y
}

func normalised64(x []float32, d int) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < len(x); i += d {
		var s float64
		for _, v := range x[i : i+d] {
			s += float64(v) * float64(v)
		}
		s = math.Sqrt(s)
		for l, v := range x[i : i+d] {
			if s > 0 {
				out[i+l] = float64(v) / s
			}
		}
	}
	return out
}
