//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// AVX2 packing routines (kernels_amd64.s). packCopyN fills np panels of N
// lanes whose steps are contiguous runs ld floats apart; packTransN
// transposes N rows ld floats apart, 8×8 blocks at a time, writing step p
// at dst[p*dstStride:].
//
//go:noescape
func packCopy6(dst, src *float32, ld, kb, np int)

//go:noescape
func packCopy8(dst, src *float32, ld, kb, np int)

//go:noescape
func packCopy16(dst, src *float32, ld, kb, np int)

//go:noescape
func packCopy32(dst, src *float32, ld, kb, np int)

//go:noescape
func packTrans6(dst, src *float32, ld, kb, dstStride int)

//go:noescape
func packTrans8(dst, src *float32, ld, kb, dstStride int)

// asmPack enables the vector packers (tests turn it off to check the Go loops).
var asmPack = cpu.X86.HasAVX2

// setAsmPack turns the vector packers on or off where the CPU has them and
// returns the previous setting.
func setAsmPack(on bool) bool {
	old := asmPack
	asmPack = on && cpu.X86.HasAVX2
	return old
}

// packFast packs the first np full panels with vector code when w is one of
// the assembly kernels' tile sizes, and returns how many panels it packed.
// Every address it touches is inside the lanes and steps packPanels names,
// which checkArgs has put inside src.
func packFast(dst, src []float32, ld int, byLane bool, l0, np, p0, kb, w int) int {
	if !asmPack || np == 0 || kb == 0 || (w != 6 && w%8 != 0) || w > 32 {
		return 0
	}
	_ = dst[np*w*kb-1]
	if !byLane {
		s := &src[p0*ld+l0]
		switch w {
		case 6:
			packCopy6(&dst[0], s, ld, kb, np)
		case 8:
			packCopy8(&dst[0], s, ld, kb, np)
		case 16:
			packCopy16(&dst[0], s, ld, kb, np)
		case 32:
			packCopy32(&dst[0], s, ld, kb, np)
		default:
			return 0
		}
		return np
	}
	// Whole blocks of 8 steps in assembly, the remaining steps here.
	kb8 := kb &^ 7
	for r := range np {
		pan := dst[r*w*kb : (r+1)*w*kb]
		l := l0 + r*w
		if kb8 > 0 {
			if w == 6 {
				packTrans6(&pan[0], &src[l*ld+p0], ld, kb8, w)
			} else {
				for q := 0; q < w; q += 8 {
					packTrans8(&pan[q], &src[(l+q)*ld+p0], ld, kb8, w)
				}
			}
		}
		for i := range w {
			lane := src[(l+i)*ld+p0+kb8:]
			lane = lane[:kb-kb8]
			for p, v := range lane {
				pan[(kb8+p)*w+i] = v
			}
		}
	}
	return np
}

// packLanes transposes the first n&^7 lanes of a byLane panel into dst,
// eight at a time, and returns how many it packed. dst's other lanes are
// left alone.
func packLanes(dst, src []float32, ld, l0, n, p0, kb, w int) int {
	if !asmPack || w%8 != 0 || n < 8 || kb == 0 {
		return 0
	}
	_ = dst[w*kb-1]
	kb8 := kb &^ 7
	n8 := n &^ 7
	for q := 0; q < n8; q += 8 {
		if kb8 > 0 {
			packTrans8(&dst[q], &src[(l0+q)*ld+p0], ld, kb8, w)
		}
		for i := q; i < q+8; i++ {
			lane := src[(l0+i)*ld+p0+kb8:]
			lane = lane[:kb-kb8]
			for p, v := range lane {
				dst[(kb8+p)*w+i] = v
			}
		}
	}
	return n8
}
