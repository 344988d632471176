//go:build !amd64 || purego

package gemm

// packFast has no vector version here: packPanel does all the work.
func packFast(dst, src []float32, ld int, byLane bool, l0, np, p0, kb, w int) int {
	return 0
}

// packLanes has no vector version here: it packs no lanes.
func packLanes(dst, src []float32, ld, l0, n, p0, kb, w int) int { return 0 }

// setAsmPack is a no-op without vector packers; it reports false.
func setAsmPack(bool) bool { return false }
