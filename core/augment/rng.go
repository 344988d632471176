package augment

// Randomness is counter-based: every draw is a pure function of
// (seed, step, dataset index, view, transform, draw number). No state is
// carried between samples, so the output does not depend on how samples are
// split over threads, and a GPU kernel can regenerate any draw from the same
// numbers with 64-bit integer arithmetic.
//
// The generator is SplitMix64 used as a hash: draw n of a stream with key k
// is mix64(k + n·γ), n = 1, 2, …. Each transform has its own stream, so
// switching one transform off leaves the others' randomness unchanged (an
// ablation changes one thing).
//
// Draw layout per stream (Params.Draw makes every draw but noise's; a GPU
// port regenerates noise's from Params.NoiseKey; u = float()):
//
//	crop      1: coin; then per attempt (≤10) two: area, log-aspect; then two: top, left
//	rotate    1: coin; 2: angle
//	flip      1: coin
//	jitter    1: coin; 2–4: permutation (Fisher–Yates, i = 3,2,1); 5–8: b, c, s, h factors
//	grayscale 1: coin
//	blur      1: coin; 2: sigma
//	solarize  1: coin
//	noise     1: coin; 2+k: pixel pair k (2k, 2k+1) by Box–Muller

const gamma = 0x9e3779b97f4a7c15 // SplitMix64's increment, 2^64/φ

// mix64 is SplitMix64's finaliser, a bijection with good avalanche.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// SampleKey is the root key of one view of one image at one step.
// The image is named by its dataset index, so the views the trainer used for
// image i at step s can be regenerated later from (seed, s, i, view) alone.
func SampleKey(seed, step uint64, index, view int) uint64 {
	k := mix64(seed + gamma)
	k = mix64(k ^ (step + gamma))
	k = mix64(k ^ (uint64(index) + gamma))
	return mix64(k ^ (uint64(view) + gamma))
}

// Stream ids, one per transform. Part of the reproducible format: do not
// renumber.
const (
	streamCrop = 1 + iota
	streamFlip
	streamJitter
	streamGray
	streamBlur
	streamSolarize
	streamNoise
	streamRotate
)

// stream is one transform's sequence of draws for one sample.
type stream struct{ key, n uint64 }

func newStream(sample uint64, id uint64) stream {
	return stream{key: mix64(sample ^ (id * gamma))}
}

func (s *stream) next() uint64 {
	s.n++
	return mix64(s.key + s.n*gamma)
}

// float returns a uniform value in [0, 1) from the top 53 bits.
func (s *stream) float() float64 { return float64(s.next()>>11) * 0x1p-53 }

func (s *stream) uniform(lo, hi float64) float64 { return lo + (hi-lo)*s.float() }

// coin is true with probability p (never for p=0, always for p=1).
func (s *stream) coin(p float64) bool { return s.float() < p }

// intn returns an integer in [0, n).
func (s *stream) intn(n int) int { return min(int(s.float()*float64(n)), n-1) }
