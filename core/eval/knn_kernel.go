package eval

// The kNN similarity matrix is a matrix product Q·Bᵀ of normalised rows. It is
// computed the way a BLAS does it: the bank is packed once into panels of
// panelW items stored dimension-major, so that a micro-kernel can hold a
// microQ×panelW block of dot products in registers and stream one panel row
// (panelW floats) per step of the inner loop.

const (
	panelW = 16 // bank items per packed panel: two 8-float AVX registers
	microQ = 6  // query rows per micro-kernel call (12 accumulator registers)
)

// microKernel computes
//
//	out[i*ldo+j] = Σ_{l<d} q[i*d+l] · panel[l*panelW+j],  i < microQ, j < panelW.
//
// q holds microQ rows of d values, panel holds d·panelW values and out must
// reach index (microQ-1)*ldo+panelW-1. It is set at start-up to the fastest
// implementation the CPU supports.
var microKernel = microKernelGo

// firstAbove returns the index of the first value in row greater than thr,
// or len(row). Once a query's top-k list is full almost no similarity beats
// its k-th best, so this scan is the kNN's other inner loop.
var firstAbove = firstAboveGo

func firstAboveGo(row []float32, thr float32) int {
	for i, s := range row {
		if s > thr {
			return i
		}
	}
	return len(row)
}

// kernelName says which micro-kernel microKernel is, for benchmarks and logs.
var kernelName = "go"

// packRow writes row (d values) as bank item i of the packed panels: item j
// of panel p, dimension l, lives at dst[p*d*panelW + l*panelW + j].
func packRow(dst, row []float32, i, d int) {
	base := (i/panelW)*d*panelW + i%panelW
	dst = dst[base : base+(d-1)*panelW+1]
	for l, v := range row[:d] {
		dst[l*panelW] = v
	}
}

// microKernelGo is the portable micro-kernel. Go does not vectorise, so it
// keeps a 2×4 block of sums in registers (more would spill) and walks the
// panel with a stride.
func microKernelGo(d int, q, panel, out []float32, ldo int) {
	panel = panel[:d*panelW]
	for i := 0; i < microQ; i += 2 {
		q0 := q[i*d : i*d+d]
		q1 := q[(i+1)*d : (i+1)*d+d]
		for j := 0; j < panelW; j += 4 {
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			for l := range q0 {
				b := panel[l*panelW+j : l*panelW+j+4 : l*panelW+j+4]
				x0, x1 := q0[l], q1[l]
				s00 += x0 * b[0]
				s01 += x0 * b[1]
				s02 += x0 * b[2]
				s03 += x0 * b[3]
				s10 += x1 * b[0]
				s11 += x1 * b[1]
				s12 += x1 * b[2]
				s13 += x1 * b[3]
			}
			o := out[i*ldo+j : i*ldo+j+4 : i*ldo+j+4]
			o[0], o[1], o[2], o[3] = s00, s01, s02, s03
			o = out[(i+1)*ldo+j : (i+1)*ldo+j+4 : (i+1)*ldo+j+4]
			o[0], o[1], o[2], o[3] = s10, s11, s12, s13
		}
	}
}

// simTile fills out (nq rows, stride ldo) with the similarities between the
// nq query rows in q (nq a multiple of microQ, stride d) and the np panels in
// panels.
func simTile(d int, q []float32, nq int, panels []float32, np int, out []float32, ldo int) {
	ps := d * panelW
	for p := 0; p < np; p++ {
		panel := panels[p*ps : (p+1)*ps]
		for i := 0; i < nq; i += microQ {
			microKernel(d, q[i*d:(i+microQ)*d], panel, out[i*ldo+p*panelW:], ldo)
		}
	}
}
