//go:build linux

package cpu

import (
	"runtime"
	"testing"

	"github.com/byol-lab/byol-lab/core/internal/cputime"
)

// BenchmarkIm2col times the unfolding of one image of each encoder layer on
// one thread, as thread CPU time per image (cpu-ns/op).
func BenchmarkIm2col(b *testing.B) {
	for _, l := range convLayers {
		g := l.g
		g.N = 1
		x := make([]float32, g.Cin*g.H*g.W)
		col := make([]float32, g.Cin*g.K*g.K*g.OutH()*g.OutW())
		for i := range x {
			x[i] = float32(i)
		}
		var ct convTask
		tab := ct.table(g)
		plane := make([]float32, g.H*g.W+1)
		b.Run(l.name+"/im2col", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := cputime.Thread()
			for b.Loop() {
				im2col(x, col, g.OutH()*g.OutW(), tab.tap, g)
			}
			b.ReportMetric(float64(cputime.Thread()-t0)/float64(b.N), "cpu-ns/op")
		})
		b.Run(l.name+"/col2im", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := cputime.Thread()
			for b.Loop() {
				col2im(col, g.OutH()*g.OutW(), x, plane, tab.add, g)
			}
			b.ReportMetric(float64(cputime.Thread()-t0)/float64(b.N), "cpu-ns/op")
		})
	}
}
