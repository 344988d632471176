// Package vec holds the vectorised loops behind the CPU backend's
// elementwise and BatchNorm kernels: the activations of a step are tens of
// megabytes, and Go compiles these loops to one scalar operation per
// element.
//
// Every function has a portable Go version (generic.go), which also builds
// for js/wasm and under the purego tag; on amd64 with AVX2 and FMA the bulk
// of each slice goes through assembly (vec_amd64.s) and the last few
// elements through the Go loop. Both orders of summation are fixed by the
// length alone, so results are deterministic for a given CPU. The
// convolution unfold Unfold3x3s2 and its fold need AVX-512 (opmasks) and
// report when they cannot run, so that the caller takes the general path.
package vec

// SumSq returns Σ(x−shift) and Σ(x−shift)², accumulated in float64.
// Shifting by a value near the mean (any element of x will do) keeps the
// variance Σ(x−shift)²/n − (Σ(x−shift)/n)² from cancelling.
func SumSq(x []float32, shift float64) (s, ss float64) {
	n := 0
	if useAsm && len(x) >= 8 {
		n = len(x) &^ 7
		s, ss = sumSqAVX2(&x[0], n, shift)
	}
	s2, ss2 := sumSqGo(x[n:], shift)
	return s + s2, ss + ss2
}

// Normalize sets dst = (x−c)·a + b (BatchNorm's forward pass).
func Normalize(dst, x []float32, c, a, b float32) {
	x = x[:len(dst)]
	n := 0
	if useAsm && len(dst) >= 8 {
		n = len(dst) &^ 7
		normalizeAVX2(&dst[0], &x[0], n, c, a, b)
	}
	normalizeGo(dst[n:], x[n:], c, a, b)
}

// DotCentered returns Σdy and Σdy·(x−c), accumulated in float64
// (BatchNorm's backward reductions).
func DotCentered(x, dy []float32, c float64) (sdy, sdyx float64) {
	dy = dy[:len(x)]
	n := 0
	if useAsm && len(x) >= 8 {
		n = len(x) &^ 7
		sdy, sdyx = dotCenteredAVX2(&x[0], &dy[0], n, c)
	}
	s2, t2 := dotCenteredGo(x[n:], dy[n:], c)
	return sdy + s2, sdyx + t2
}

// AxpyCentered sets dst = a·dy + b·(x−c) + d (BatchNorm's input gradient).
func AxpyCentered(dst, x, dy []float32, a, b, c, d float32) {
	x, dy = x[:len(dst)], dy[:len(dst)]
	n := 0
	if useAsm && len(dst) >= 8 {
		n = len(dst) &^ 7
		axpyCenteredAVX2(&dst[0], &x[0], &dy[0], n, a, b, c, d)
	}
	axpyCenteredGo(dst[n:], x[n:], dy[n:], a, b, c, d)
}

// ReLU sets dst = max(x, 0); a NaN in x stays NaN (the trainer's divergence
// check relies on it). dst may be x.
func ReLU(dst, x []float32) {
	x = x[:len(dst)]
	n := 0
	if useAsm && len(dst) >= 8 {
		n = len(dst) &^ 7
		reluAVX2(&dst[0], &x[0], n)
	}
	reluGo(dst[n:], x[n:])
}

// ReLUMask sets dst = dy where y > 0 and 0 elsewhere. dst may be dy.
func ReLUMask(dst, y, dy []float32) {
	y, dy = y[:len(dst)], dy[:len(dst)]
	n := 0
	if useAsm && len(dst) >= 8 {
		n = len(dst) &^ 7
		reluMaskAVX2(&dst[0], &y[0], &dy[0], n)
	}
	reluMaskGo(dst[n:], y[n:], dy[n:])
}

// Add sets dst = a + b. dst may be a or b.
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	n := 0
	if useAsm && len(dst) >= 8 {
		n = len(dst) &^ 7
		addAVX2(&dst[0], &a[0], &b[0], n)
	}
	addGo(dst[n:], a[n:], b[n:])
}

// Sum returns Σx in float32 with eight interleaved partial sums.
func Sum(x []float32) float32 {
	n := 0
	var s float32
	if useAsm && len(x) >= 8 {
		n = len(x) &^ 7
		s = sumAVX2(&x[0], n)
	}
	return s + sumGo(x[n:])
}

// Gather sets dst[j] = src[idx[j]], or 0 where idx[j] is negative (the
// padding of a convolution). (Sixteen-lane AVX-512 gathers were no faster
// on Zen 4 than these eight-lane ones.) Every other index must lie in [0, len(src)):
// the assembly does not check them (the convolution's tables are built
// that way), the Go loop panics.
func Gather(dst, src []float32, idx []int32) {
	idx = idx[:len(dst)]
	n := 0
	if useAsm && len(dst) >= 8 && len(src) > 0 {
		n = len(dst) &^ 7
		gatherAVX2(&dst[0], &src[0], &idx[0], n)
	}
	gatherGo(dst[n:], src, idx[n:])
}

// Unfold3x3s2 writes im2col's nine rows for one plane of a 3×3 convolution
// with stride 2 and padding 1: the plane is 2·ho × 2·wo, and row ky·3+kx,
// col[(ky·3+kx)·ld:][:ho·wo], holds the input pixel (2·oy+ky−1, 2·ox+kx−1)
// of output pixel (oy, ox), or 0 in the padding. These are the encoders'
// downsampling layers. It reports false, writing nothing, where it has no
// vector version (no AVX-512, or wo > 16); then use Gather.
//
// Each output row of the three taps kx = 0, 1, 2 comes from one input row:
// its odd pixels shifted by one, its even pixels, its odd pixels. Two
// masked loads and three permutes give all three, where Gather loads each
// value on its own (ten times the work).
func Unfold3x3s2(col []float32, ld int, plane []float32, ho, wo int) bool {
	if !useAVX512 || wo < 1 || wo > 16 || ho < 1 || ld < ho*wo {
		return false
	}
	_ = plane[4*ho*wo-1]
	_ = col[8*ld+ho*wo-1]
	unfold3x3s2AVX512(&col[0], ld, &plane[0], ho, wo, &s2idx[0])
	return true
}

// Fold3x3s2 is Unfold3x3s2's adjoint: it overwrites the plane with the sum
// of the entries of the nine rows that came from each pixel (the padding's
// entries are dropped). It reports false, changing nothing, where
// Unfold3x3s2 would.
func Fold3x3s2(plane, col []float32, ld, ho, wo int) bool {
	if !useAVX512 || wo < 1 || wo > 16 || ho < 1 || ld < ho*wo {
		return false
	}
	_ = plane[4*ho*wo-1]
	_ = col[8*ld+ho*wo-1]
	fold3x3s2AVX512(&plane[0], &col[0], ld, ho, wo, &s2idx[0])
	return true
}

// s2idx holds the permutations of Unfold3x3s2 and Fold3x3s2 over 32 input
// values (two registers): the even ones, the odd ones, the odd ones one
// lane later (lane 0 is cleared), and even/odd interleaved back into the
// low and high sixteen.
var s2idx = func() (t [80]int32) {
	for i := range int32(16) {
		t[i] = 2 * i
		t[16+i] = 2*i + 1
		t[32+i] = max(2*i-1, 0)
		t[48+i] = i/2 + 16*(i%2)
		t[64+i] = 8 + i/2 + 16*(i%2)
	}
	return t
}()
