package gemm

// goKernel is the portable kernel. Its tile is small on purpose: eight
// accumulators plus the A and B values of a step fit in the sixteen float
// registers of amd64 (and stay in registers in wasm engines); a 4×4 tile
// spills and runs at half the speed. The k loop is unrolled twice and
// re-slices instead of indexing, which removes the bounds checks.
var goKernel = kernel{
	name: "go-2x4", mr: 2, nr: 4,
	mc: 128, kc: 256, nc: 2048,
	fn: kernelGo2x4,
}

func kernelGo2x4(k int, a, b, c []float32, ldc int, alpha, beta float32, _, _ int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	a = a[:2*k]
	b = b[:4*k]
	for len(a) >= 4 && len(b) >= 8 {
		a0, a1 := a[0], a[1]
		c00 += a0 * b[0]
		c01 += a0 * b[1]
		c02 += a0 * b[2]
		c03 += a0 * b[3]
		c10 += a1 * b[0]
		c11 += a1 * b[1]
		c12 += a1 * b[2]
		c13 += a1 * b[3]
		a0, a1 = a[2], a[3]
		c00 += a0 * b[4]
		c01 += a0 * b[5]
		c02 += a0 * b[6]
		c03 += a0 * b[7]
		c10 += a1 * b[4]
		c11 += a1 * b[5]
		c12 += a1 * b[6]
		c13 += a1 * b[7]
		a = a[4:]
		b = b[8:]
	}
	if len(a) >= 2 && len(b) >= 4 {
		a0, a1 := a[0], a[1]
		c00 += a0 * b[0]
		c01 += a0 * b[1]
		c02 += a0 * b[2]
		c03 += a0 * b[3]
		c10 += a1 * b[0]
		c11 += a1 * b[1]
		c12 += a1 * b[2]
		c13 += a1 * b[3]
	}
	store4(c[0:4], c00, c01, c02, c03, alpha, beta)
	store4(c[ldc:ldc+4], c10, c11, c12, c13, alpha, beta)
}

// store4 sets c[0:4] = alpha·x + beta·c, not reading c when beta == 0.
func store4(c []float32, x0, x1, x2, x3, alpha, beta float32) {
	c = c[:4]
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	c[0] = alpha*x0 + beta*c[0]
	c[1] = alpha*x1 + beta*c[1]
	c[2] = alpha*x2 + beta*c[2]
	c[3] = alpha*x3 + beta*c[3]
}
