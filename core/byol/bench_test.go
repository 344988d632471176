package byol

import (
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// BenchmarkStep measures full training steps of the MNIST reference
// configuration (tiny encoder, batch 256) on the CPU backend:
//
//	go test -run X -bench Step -benchmem ./core/byol/
func BenchmarkStep(b *testing.B) {
	ds, err := data.Load("mnist", data.Options{})
	if err != nil {
		b.Skip("MNIST not available: ", err)
	}
	cfg, err := Defaults("mnist")
	if err != nil {
		b.Fatal(err)
	}
	pool := parallel.New(0)
	defer pool.Close()
	t, err := NewTrainer(cfg, cpu.New(pool), pool, ds.Train)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 2; i++ { // warm up: buffers are allocated on first use
		if err := t.Step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := t.Step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.Batch)/b.Elapsed().Seconds(), "img/s")
}
