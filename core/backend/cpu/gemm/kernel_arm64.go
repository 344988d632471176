//go:build arm64 && !purego

package gemm

// The NEON kernel: an 8×8 tile in sixteen 128-bit registers (every arm64
// CPU has NEON, so no feature check). Its blocking is the portable
// kernel's, scaled to the wider tile.
var neonKernel = kernel{
	name: "neon-8x8", mr: 8, nr: 8,
	mc: 128, kc: 256, nc: 2048,
	fn: neonTile,
}

// kernelNEON8x8 computes a full 8×8 tile (kernels_arm64.s).
//
//go:noescape
func kernelNEON8x8(k int, a, b, c *float32, ldc int, alpha, beta float32)

func neonTile(k int, a, b, c []float32, ldc int, alpha, beta float32, _, _ int) {
	// The assembly trusts its arguments: check the panels and the tile.
	_, _, _ = a[:8*k], b[:8*k], c[7*ldc+7]
	kernelNEON8x8(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

// kernels lists every kernel this build can run, best first.
func kernels() []kernel { return []kernel{neonKernel, goKernel} }

func bestKernel() kernel { return neonKernel }

// narrowKernel is the NEON kernel too: its 8×8 tile is already narrow, and
// the Go kernel is several times slower whatever its tile fill.
func narrowKernel() kernel { return neonKernel }
