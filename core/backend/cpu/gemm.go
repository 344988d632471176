package cpu

import "github.com/byol-lab/byol-lab/core/backend"

func (c *CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b backend.Buffer, beta float32, cc backend.Buffer) {
	sgemm(transA, transB, m, n, k, alpha, f(a), lda(transA, m, k), f(b), lda(transB, k, n), beta, f(cc), n)
}

// lda is the leading dimension of a packed row-major operand that is rows×cols
// after op(): stored transposed it has rows columns.
func lda(trans bool, rows, cols int) int {
	if trans {
		return rows
	}
	return cols
}

// sgemm is a straightforward row-major GEMM (i-k-j loop order, so the inner
// loop streams rows of B and C).
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			if !transB {
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += av * bv
				}
			} else {
				for j := range ci {
					ci[j] += av * b[j*ldb+p]
				}
			}
		}
	}
}
