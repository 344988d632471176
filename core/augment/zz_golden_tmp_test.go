package augment

import (
	"crypto/sha256"
	"fmt"
	"math"
	"testing"

	"github.com/byol-lab/byol-lab/core/parallel"
)

func TestZZGolden(t *testing.T) {
	h := sha256.New()
	add := func(x []float32) {
		for _, v := range x {
			b := math.Float32bits(v)
			h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
		}
	}
	cfgs := []Config{allOn(t), mustPreset(t, "shapes"), mustPreset(t, "mnist"), mustPreset(t, "cifar10")}
	for _, name := range Transforms {
		c := allOff(allOn(t))
		c.Enable(name, allOn(t))
		cfgs = append(cfgs, c)
	}
	m := mustPreset(t, "mnist")
	for v := range m.Views {
		m.Views[v].Noise.P, m.Views[v].Jitter.P, m.Views[v].Blur.P = 1, 1, 1
	}
	cfgs = append(cfgs, m)
	for _, sz := range [][5]int{{1, 28, 28, 28, 28}, {3, 32, 32, 32, 32}, {3, 40, 24, 32, 32}, {1, 20, 20, 28, 28}, {3, 32, 32, 17, 23}} {
		s := shapesSplit(40, sz[0], sz[1], sz[2])
		for ci, cfg := range cfgs {
			a, err := New(cfg, sz[0], sz[3], sz[4], parallel.New(3))
			if err != nil {
				continue
			}
			dst := make([]float32, 40*sz[0]*sz[3]*sz[4])
			for step := uint64(0); step < 3; step++ {
				for v := 0; v < 2; v++ {
					a.Views(dst, s, seq(40), v, 7, step)
					add(dst)
				}
			}
			a.Plain(dst, s, seq(40))
			add(dst)
			_ = ci
		}
	}
	fmt.Printf("GOLDEN %x\n", h.Sum(nil))
}
