package eval

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Collapse shows up two ways (see docs/byol.md, "Why it does not collapse").
// Complete collapse: every output is the same vector, so the per-dimension
// spread of the normalised outputs (Std) drops from about 1/√d to 0.
// Dimensional collapse: the outputs differ but span few directions, so the
// singular-value spectrum (Spectrum) decays and the effective rank
// (EffectiveRank, RankMe) falls towards 1.

// Std returns the mean over the d dimensions of the standard deviation of
// each dimension across the ℓ2-normalised rows of z:
//
//	(1/d) Σ_j sqrt( (1/N) Σ_i (ẑ_ij − mean_j)² ),  ẑ_i = z_i/‖z_i‖₂.
//
// It is the population standard deviation (divided by N, not N−1), so a
// single row gives 0. Healthy embeddings spread over the sphere give about
// 1/√d; collapsed ones give 0. A zero row counts as the zero vector.
// A NaN or infinite entry makes the result NaN (not an error) so a diverged
// run plots as NaN. z must hold at least one row.
func Std(z []float32, d int) (float64, error) {
	n, err := rows("z", z, d)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errors.New("eval: Std of an empty matrix")
	}
	inv := invNorms(z, n, d)
	mean := make([]float64, d)
	for i := range n {
		for j, v := range z[i*d : i*d+d] {
			mean[j] += float64(v) * inv[i]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	ss := make([]float64, d)
	for i := range n {
		for j, v := range z[i*d : i*d+d] {
			e := float64(v)*inv[i] - mean[j]
			ss[j] += e * e
		}
	}
	var sum float64
	for _, s := range ss {
		sum += math.Sqrt(s / float64(n))
	}
	return sum / float64(d), nil
}

// invNorms returns 1/‖row‖₂ for each row, 0 for a zero row.
func invNorms(z []float32, n, d int) []float64 {
	inv := make([]float64, n)
	for i := range n {
		if s := norm2(z[i*d : i*d+d]); s != 0 {
			inv[i] = 1 / s
		}
	}
	return inv
}

// MeanCosine returns the mean over rows of the cosine similarity between
// row i of a and row i of b (for BYOL: prediction and target projection of
// the same image). A zero row has cosine 0 with anything. NaN or infinite
// entries make the result NaN. a and b must have the same, non-zero number
// of rows.
func MeanCosine(a, b []float32, d int) (float64, error) {
	n, err := rows("a", a, d)
	if err != nil {
		return 0, err
	}
	if len(b) != len(a) {
		return 0, fmt.Errorf("eval: MeanCosine of %d and %d values", len(a), len(b))
	}
	if n == 0 {
		return 0, errors.New("eval: MeanCosine of empty matrices")
	}
	var sum float64
	for i := range n {
		ra, rb := a[i*d:i*d+d], b[i*d:i*d+d]
		na, nb := norm2(ra), norm2(rb)
		if na == 0 || nb == 0 {
			continue
		}
		var dot float64
		for j, v := range ra {
			dot += float64(v) * float64(rb[j])
		}
		sum += dot / (na * nb)
	}
	return sum / float64(n), nil
}

// Spectrum returns the singular values of z (N×d), in descending order,
// min(N, d) of them. z is not centred: this is the spectrum RankMe is
// defined on (Garrido et al. 2023), and a collapsed output that is constant
// but non-zero keeps one singular value. CentredSpectrum gives the spectrum
// of the centred data instead (the principal components' scales).
// Non-finite entries are an error.
func Spectrum(z []float32, d int) ([]float64, error) {
	return spectrum(z, d, false)
}

// CentredSpectrum returns the singular values of z with its column means
// subtracted, in descending order, min(N, d) of them. σ_i²/N is the variance
// along the i-th principal axis. Non-finite entries are an error.
func CentredSpectrum(z []float32, d int) ([]float64, error) {
	return spectrum(z, d, true)
}

func spectrum(z []float32, d int, centre bool) ([]float64, error) {
	n, err := rows("z", z, d)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("eval: spectrum of an empty matrix")
	}
	if err := checkFinite("z", z, d); err != nil {
		return nil, err
	}
	a := toDense(z, n, d, centre)
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDNone) {
		return nil, errors.New("eval: SVD did not converge")
	}
	return svd.Values(nil), nil
}

// toDense copies z into a float64 matrix, optionally centring its columns.
func toDense(z []float32, n, d int, centre bool) *mat.Dense {
	data := make([]float64, n*d)
	for i, v := range z {
		data[i] = float64(v)
	}
	if centre {
		mean := make([]float64, d)
		for i := range n {
			for j := range d {
				mean[j] += data[i*d+j]
			}
		}
		for i := range n {
			for j := range d {
				data[i*d+j] -= mean[j] / float64(n)
			}
		}
	}
	return mat.NewDense(n, d, data)
}

// EffectiveRank returns exp(H(p)), the exponential of the Shannon entropy of
// p_i = σ_i / Σσ (RankMe, Garrido et al. 2023; Roy & Vetterli 2007). It is 1
// when one singular value carries everything and k for k equal ones, and so
// counts the directions the embeddings really use.
//
// Zero values are left out of the entropy (0·log 0 = 0) instead of adding
// RankMe's ε = 1e-7 to every p_i, so the extremes are exact; values below
// 1e-12·Σσ, rounding noise of a rank-deficient SVD, are treated as zero.
// An empty or all-zero spectrum has rank 0. A negative or NaN value gives
// NaN, as does +Inf.
func EffectiveRank(singular []float64) float64 {
	var total float64
	for _, s := range singular {
		if !(s >= 0) || math.IsInf(s, 1) {
			return math.NaN()
		}
		total += s
	}
	if total == 0 {
		return 0
	}
	var h float64
	for _, s := range singular {
		p := s / total
		if p > 1e-12 {
			h -= p * math.Log(p)
		}
	}
	return math.Exp(h)
}

// RankMe returns the effective rank of the (uncentred) embeddings z:
// EffectiveRank(Spectrum(z, d)).
func RankMe(z []float32, d int) (float64, error) {
	s, err := Spectrum(z, d)
	if err != nil {
		return 0, err
	}
	return EffectiveRank(s), nil
}
