//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

// Blocking for the assembly kernels: the KC×NR micro-panel of B (32 KiB for
// the AVX-512 kernel) is reused from L1/L2 across a column of A panels, the
// MC×KC block of A (192 KiB) stays in L2, and NC bounds the packed B block.
// On Zen 4, sweeping KC over 128–512 and MC over 48–384 moved the model
// shapes and 1024³ by less than the run-to-run noise (±3%).
var (
	avx2Kernel = kernel{
		name: "avx2-6x16", mr: 6, nr: 16, partial: true,
		mc: 144, kc: 256, nc: 4096,
		fn: avx2Tile,
	}
	avx512Kernel = kernel{
		name: "avx512-8x32", mr: 8, nr: 32, partial: true,
		mc: 192, kc: 256, nc: 4096,
		fn: avx512Tile,
	}
)

// kernelAVX2x6x16 computes the first mr rows of a 6×16 tile (kernels_amd64.s),
// storing only the columns whose int32 in mask[0:16] is -1 when mask is not
// nil.
//
//go:noescape
func kernelAVX2x6x16(k int, a, b, c *float32, ldc int, alpha, beta float32, mr int, mask *int32)

// kernelAVX512x8x32 computes the first mr rows of an 8×32 tile, storing the
// columns set in mask (bit j for column j) with masked moves.
//
//go:noescape
func kernelAVX512x8x32(k int, a, b, c *float32, ldc int, alpha, beta float32, mr int, mask uint64)

// avx2Masks[16-nr:][:16] selects the first nr of 16 columns.
var avx2Masks = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

func avx2Tile(k int, a, b, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	var mask *int32
	if nr < 16 {
		mask = &avx2Masks[16-nr]
	}
	kernelAVX2x6x16(k, &a[0], &b[0], &c[0], ldc, alpha, beta, mr, mask)
}

func avx512Tile(k int, a, b, c []float32, ldc int, alpha, beta float32, mr, nr int) {
	kernelAVX512x8x32(k, &a[0], &b[0], &c[0], ldc, alpha, beta, mr, 1<<nr-1)
}

// kernels lists every kernel this CPU can run, best first.
func kernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return append(ks, goKernel)
}

func bestKernel() kernel { return kernels()[0] }

// narrowKernel is the AVX2 kernel when the best one is AVX-512.
func narrowKernel() kernel {
	if ks := kernels(); len(ks) > 2 {
		return ks[1]
	}
	return bestKernel()
}
