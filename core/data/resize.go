package data

import "math"

// tap is one source sample's weight in an output sample.
type tap struct {
	index  int
	weight float32
}

// resampleTaps returns, for each of dn output samples, the source samples
// (of sn) that contribute and their weights, which sum to one. Shrinking
// averages each output pixel's footprint (area averaging, so no aliasing);
// enlarging interpolates linearly between the two nearest pixel centres.
func resampleTaps(sn, dn int) [][]tap {
	taps := make([][]tap, dn)
	scale := float64(sn) / float64(dn)
	for o := range dn {
		if scale >= 1 {
			lo, hi := float64(o)*scale, float64(o+1)*scale
			for i := int(lo); i < sn && float64(i) < hi; i++ {
				w := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i))
				if w > 0 {
					taps[o] = append(taps[o], tap{i, float32(w / scale)})
				}
			}
			continue
		}
		c := (float64(o)+0.5)*scale - 0.5
		c = math.Max(0, math.Min(c, float64(sn-1)))
		i := int(c)
		f := c - float64(i)
		taps[o] = append(taps[o], tap{i, float32(1 - f)})
		if f > 0 && i+1 < sn {
			taps[o] = append(taps[o], tap{i + 1, float32(f)})
		}
	}
	return taps
}

// resizeRGBA resamples an sw×sh RGBA image (4 bytes a pixel, rows stride
// bytes apart) to dw×dh and writes it to dst as CHW RGB bytes. It filters
// rows first, then columns (the filter is separable).
func resizeRGBA(src []uint8, stride, sw, sh int, dst []uint8, dw, dh int) {
	xt, yt := resampleTaps(sw, dw), resampleTaps(sh, dh)
	rows := make([]float32, sh*dw*3) // horizontally resampled, HWC
	for y := range sh {
		line := src[y*stride:]
		for x, taps := range xt {
			var r, g, b float32
			for _, t := range taps {
				p := line[4*t.index:]
				r += t.weight * float32(p[0])
				g += t.weight * float32(p[1])
				b += t.weight * float32(p[2])
			}
			o := (y*dw + x) * 3
			rows[o], rows[o+1], rows[o+2] = r, g, b
		}
	}
	plane := dw * dh
	for y, taps := range yt {
		for x := range dw {
			var r, g, b float32
			for _, t := range taps {
				p := rows[(t.index*dw+x)*3:]
				r += t.weight * p[0]
				g += t.weight * p[1]
				b += t.weight * p[2]
			}
			o := y*dw + x
			dst[o], dst[plane+o], dst[2*plane+o] = roundByte(r), roundByte(g), roundByte(b)
		}
	}
}

func roundByte(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 254.5 {
		return 255
	}
	return uint8(v + 0.5)
}
