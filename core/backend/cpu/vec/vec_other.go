//go:build !amd64 || purego

package vec

var useAsm = false

func sumSqAVX2(x *float32, n int, shift float64) (s, ss float64)           { panic("vec: no assembly") }
func normalizeAVX2(dst, x *float32, n int, c, a, b float32)                { panic("vec: no assembly") }
func dotCenteredAVX2(x, dy *float32, n int, c float64) (sdy, sdyx float64) { panic("vec: no assembly") }
func axpyCenteredAVX2(dst, x, dy *float32, n int, a, b, c, d float32)      { panic("vec: no assembly") }
func reluAVX2(dst, x *float32, n int)                                      { panic("vec: no assembly") }
func reluMaskAVX2(dst, y, dy *float32, n int)                              { panic("vec: no assembly") }
func addAVX2(dst, a, b *float32, n int)                                    { panic("vec: no assembly") }
func sumAVX2(x *float32, n int) float32                                    { panic("vec: no assembly") }

func gatherAVX2(dst, src *float32, idx *int32, n int) { panic("vec: no assembly") }

var useAVX512 = false

func unfold3x3s2AVX512(col *float32, ld int, plane *float32, ho, wo int, idx *int32) {
	panic("vec: no assembly")
}

func fold3x3s2AVX512(plane, col *float32, ld, ho, wo int, idx *int32) { panic("vec: no assembly") }
