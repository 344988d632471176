package cpu

import (
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/backend/cpu/gemm"
)

func (c *CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b backend.Buffer, beta float32, cc backend.Buffer) {
	gemm.Sgemm(c.pool, transA, transB, m, n, k, alpha, f(a), lda(transA, m, k), f(b), lda(transB, k, n), beta, f(cc), n)
}

// lda is the leading dimension of a packed row-major operand that is rows×cols
// after op(): stored transposed it has rows columns.
func lda(trans bool, rows, cols int) int {
	if trans {
		return rows
	}
	return cols
}

// sgemm runs a single-threaded GEMM: convolutions call it from every worker
// at once, each on its own images.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm.Sgemm(nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
