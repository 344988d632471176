//go:build !purego

package eval

func init() {
	if hasAVX2FMA() {
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

// cpuid and xgetbv are implemented in knn_kernel_amd64.s.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU has AVX2 and FMA and the OS saves the
// YMM registers across context switches.
func hasAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	xcr0, _ := xgetbv()
	if xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}
