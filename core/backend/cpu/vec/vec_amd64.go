//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// useAsm is a variable so that tests can check the Go loops on this CPU too.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The assembly handles n elements, n a multiple of 8 (vec_amd64.s).

//go:noescape
func sumSqAVX2(x *float32, n int, shift float64) (s, ss float64)

//go:noescape
func normalizeAVX2(dst, x *float32, n int, c, a, b float32)

//go:noescape
func dotCenteredAVX2(x, dy *float32, n int, c float64) (sdy, sdyx float64)

//go:noescape
func axpyCenteredAVX2(dst, x, dy *float32, n int, a, b, c, d float32)

//go:noescape
func reluAVX2(dst, x *float32, n int)

//go:noescape
func reluMaskAVX2(dst, y, dy *float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func gatherAVX2(dst, src *float32, idx *int32, n int)

// useAVX512 enables the stride-2 unfold and fold, which need opmasks.
var useAVX512 = useAsm && cpu.X86.HasAVX512F

//go:noescape
func unfold3x3s2AVX512(col *float32, ld int, plane *float32, ho, wo int, idx *int32)

//go:noescape
func fold3x3s2AVX512(plane, col *float32, ld, ho, wo int, idx *int32)
