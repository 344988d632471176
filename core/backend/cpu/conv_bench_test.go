package cpu

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/internal/cputime"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// convLayers are the convolutions of the tiny and small encoders on MNIST,
// at the trainer's batch of 2×256 views.
var convLayers = []struct {
	name string
	g    backend.ConvGeom
}{
	{"tiny1", backend.ConvGeom{N: 512, Cin: 1, H: 28, W: 28, Cout: 16, K: 3, Stride: 1, Pad: 1}},
	{"tiny2", backend.ConvGeom{N: 512, Cin: 16, H: 28, W: 28, Cout: 32, K: 3, Stride: 2, Pad: 1}},
	{"tiny3", backend.ConvGeom{N: 512, Cin: 32, H: 14, W: 14, Cout: 64, K: 3, Stride: 2, Pad: 1}},
	{"small1", backend.ConvGeom{N: 512, Cin: 1, H: 28, W: 28, Cout: 32, K: 3, Stride: 1, Pad: 1}},
	{"small2", backend.ConvGeom{N: 512, Cin: 32, H: 28, W: 28, Cout: 64, K: 3, Stride: 2, Pad: 1}},
	{"small3", backend.ConvGeom{N: 512, Cin: 64, H: 14, W: 14, Cout: 128, K: 3, Stride: 2, Pad: 1}},
}

// BenchmarkConv times each pass of the encoders' convolutions over one and
// two threads and reports GFLOP/s (2·Cout·Cin·K²·Ho·Wo per image and pass):
//
//	go test -run '^$' -bench Conv ./core/backend/cpu/
func BenchmarkConv(b *testing.B) {
	for _, threads := range []int{1, 2} {
		p := parallel.New(threads)
		benchConv(b, New(p), fmt.Sprintf("threads=%d/", threads))
		p.Close()
	}
}

func benchConv(b *testing.B, c *CPU, prefix string) {
	for _, l := range convLayers {
		g := l.g
		x := c.Alloc(g.N * g.Cin * g.H * g.W)
		w := c.Alloc(g.Cout * g.Cin * g.K * g.K)
		y := c.Alloc(g.N * g.Cout * g.OutH() * g.OutW())
		for i, d := range Data(x) {
			_ = d
			Data(x)[i] = float32(i%13) - 6
		}
		flop := 2 * float64(g.N*g.Cout*g.Cin*g.K*g.K*g.OutH()*g.OutW())
		for _, pass := range []string{"fwd", "bwd_data", "bwd_filter"} {
			b.Run(fmt.Sprintf("%s%s/%s", prefix, l.name, pass), func(b *testing.B) {
				if cputime.ThreadAvailable {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				t0 := cputime.Thread()
				for b.Loop() {
					switch pass {
					case "fwd":
						c.Conv2d(x, w, y, g)
					case "bwd_data":
						c.Conv2dBackwardData(y, w, x, g)
					case "bwd_filter":
						c.Conv2dBackwardFilter(x, y, w, g)
					}
				}
				b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if c.pool.Threads() == 1 && cputime.ThreadAvailable {
					// One thread: its CPU time is the kernel's, whatever
					// else the machine runs.
					b.ReportMetric(flop*float64(b.N)/(cputime.Thread()-t0).Seconds()/1e9, "cpu-GFLOP/s")
				}
			})
		}
	}
}
