//go:build amd64 && !purego

package gemm

import (
	"runtime"
	"testing"

	"github.com/byol-lab/byol-lab/core/internal/cputime"
)

// BenchmarkClock measures the core clock (GHz) with a chain of dependent
// additions, over thread CPU time where the OS offers it. Peak fp32
// throughput is 32 FLOP/cycle/core on Zen 4 (two 256-bit FMA pipes; AVX-512
// is double-pumped) and 64 on Intel cores with two 512-bit FMA units.
func BenchmarkClock(b *testing.B) {
	const n = 1 << 20 // 10⁸ cycles a call
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := cputime.Thread()
	for b.Loop() {
		addChain(n)
	}
	cycles := float64(b.N) * 100 * n
	b.ReportMetric(cycles/b.Elapsed().Seconds()/1e9, "GHz")
	if cputime.ThreadAvailable {
		b.ReportMetric(cycles/(cputime.Thread()-t0).Seconds()/1e9, "cpu-GHz")
	}
}
