//go:build !purego

package eval

import "golang.org/x/sys/cpu"

func init() {
	// x/sys/cpu reports AVX2 only when the OS also saves the YMM registers.
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		microKernel = microKernelAVX2
		firstAbove = firstAboveAVX2
		kernelName = "avx2"
	}
}

// microKernelAVX2 is microKernel in AVX2/FMA assembly: a 6×16 block of sums
// in twelve YMM registers, one broadcast per query row and two panel loads
// per step. The checks keep a wrong caller from writing past its slices.
func microKernelAVX2(d int, q, panel, out []float32, ldo int) {
	if d <= 0 || len(q) < microQ*d || len(panel) < d*panelW || ldo < panelW || len(out) < (microQ-1)*ldo+panelW {
		panic("eval: micro-kernel bounds")
	}
	micro6x16(d, &q[0], d, &panel[0], &out[0], ldo)
}

// firstAboveAVX2 is firstAbove comparing eight values at a time.
func firstAboveAVX2(row []float32, thr float32) int {
	n8 := len(row) &^ 7
	if n8 > 0 {
		if i := firstAbove8(&row[0], n8, thr); i < n8 {
			return i
		}
	}
	return n8 + firstAboveGo(row[n8:], thr)
}

// firstAbove8 is implemented in knn_kernel_amd64.s.
//
//go:noescape
func firstAbove8(x *float32, n int, thr float32) int

// micro6x16 is implemented in knn_kernel_amd64.s.
//
//go:noescape
func micro6x16(d int, q *float32, ldq int, panel *float32, out *float32, ldo int)
