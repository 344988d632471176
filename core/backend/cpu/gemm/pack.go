package gemm

// Packing copies a block of op(A) or op(B) into the order the micro-kernel
// reads it: one panel after another, each panel kb steps of w values (w is
// MR for A, NR for B). Lanes past the matrix edge are zero-filled, so
// kernels always run over whole panels.
//
// Both operands reduce to one shape: a panel has w lanes (rows of op(A),
// columns of op(B)) and kb steps along the shared dimension. In storage, a
// lane is either contiguous (A not transposed, B transposed: packing is a
// transpose) or a step is (A transposed, B not: packing is a strided copy).

// packA packs op(A)[ic:ic+mb, pc:pc+kb] into MR-tall panels: element (i, p)
// of panel r goes to dst[r*MR*kb + p*MR + i].
func packA(dst []float32, trans bool, a []float32, lda, ic, mb, pc, kb, mr int) {
	packPanels(dst, a, lda, !trans, ic, mb, pc, kb, mr)
}

// packB packs op(B)[pc:pc+kb, jc:jc+nb] into NR-wide panels: element (p, j)
// of panel r goes to dst[r*NR*kb + p*NR + j].
func packB(dst []float32, trans bool, b []float32, ldb, pc, kb, jc, nb, nr int) {
	packPanels(dst, b, ldb, trans, jc, nb, pc, kb, nr)
}

// packPanels packs lanes l0..l0+n-1, steps p0..p0+kb-1 of src into w-lane
// panels. Lane l, step q is src[l*ld+q] when byLane (lanes contiguous),
// else src[q*ld+l]. The vector packers take the full panels where they can;
// the rest go through packPanel.
func packPanels(dst, src []float32, ld int, byLane bool, l0, n, p0, kb, w int) {
	for l := packFast(dst, src, ld, byLane, l0, n/w, p0, kb, w) * w; l < n; l += w {
		pan := dst[l*kb : l*kb+w*kb]
		m := min(w, n-l)
		if m < w && byLane {
			// A partial panel is mostly zeros: clear it in one sweep, then
			// transpose in what lanes there are (eight at a time where the
			// vector packer can).
			clear(pan)
			done := packLanes(pan, src, ld, l0+l, m, p0, kb, w)
			packPanel(pan[done:], src, ld, true, l0+l+done, m-done, p0, kb, w, false)
			continue
		}
		packPanel(pan, src, ld, byLane, l0+l, m, p0, kb, w, true)
	}
}

// packPanel packs one panel: dst[p*w+i] = lane l0+i, step p0+p for i < n,
// and, when zero is set, zero for n <= i < w.
func packPanel(dst, src []float32, ld int, byLane bool, l0, n, p0, kb, w int, zero bool) {
	if byLane {
		for i := range n {
			lane := src[(l0+i)*ld+p0:]
			lane = lane[:kb]
			for p, v := range lane {
				dst[p*w+i] = v
			}
		}
		if !zero {
			return
		}
		for i := n; i < w; i++ {
			for p := range kb {
				dst[p*w+i] = 0
			}
		}
		return
	}
	for p := range kb {
		d := dst[p*w : p*w+w]
		copy(d, src[(p0+p)*ld+l0:][:n])
		clear(d[n:])
	}
}
