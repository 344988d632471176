package vec

// The portable loops. Independent accumulators let the CPU overlap the
// additions instead of waiting on one chain.

func sumSqGo(x []float32, shift float64) (s, ss float64) {
	var s0, s1, q0, q1 float64
	for len(x) >= 2 {
		d0, d1 := float64(x[0])-shift, float64(x[1])-shift
		s0 += d0
		s1 += d1
		q0 += d0 * d0
		q1 += d1 * d1
		x = x[2:]
	}
	if len(x) == 1 {
		d := float64(x[0]) - shift
		s0 += d
		q0 += d * d
	}
	return s0 + s1, q0 + q1
}

func normalizeGo(dst, x []float32, c, a, b float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = (v-c)*a + b
	}
}

func dotCenteredGo(x, dy []float32, c float64) (sdy, sdyx float64) {
	dy = dy[:len(x)]
	var s0, s1, t0, t1 float64
	for len(x) >= 2 && len(dy) >= 2 {
		g0, g1 := float64(dy[0]), float64(dy[1])
		s0 += g0
		s1 += g1
		t0 += g0 * (float64(x[0]) - c)
		t1 += g1 * (float64(x[1]) - c)
		x, dy = x[2:], dy[2:]
	}
	if len(x) == 1 {
		g := float64(dy[0])
		s0 += g
		t0 += g * (float64(x[0]) - c)
	}
	return s0 + s1, t0 + t1
}

func axpyCenteredGo(dst, x, dy []float32, a, b, c, d float32) {
	x, dy = x[:len(dst)], dy[:len(dst)]
	for i := range dst {
		dst[i] = a*dy[i] + (b*(x[i]-c) + d)
	}
}

func reluGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

func reluMaskGo(dst, y, dy []float32) {
	y, dy = y[:len(dst)], dy[:len(dst)]
	for i, v := range y {
		if v > 0 {
			dst[i] = dy[i]
		} else {
			dst[i] = 0
		}
	}
}

func addGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func sumGo(x []float32) float32 {
	var s0, s1 float32
	for len(x) >= 2 {
		s0 += x[0]
		s1 += x[1]
		x = x[2:]
	}
	if len(x) == 1 {
		s0 += x[0]
	}
	return s0 + s1
}

func gatherGo(dst, src []float32, idx []int32) {
	idx = idx[:len(dst)]
	for j, k := range idx {
		if k >= 0 {
			dst[j] = src[k]
		} else {
			dst[j] = 0
		}
	}
}
