package cpu

import (
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
)

// AdamW follows torch.optim.AdamW: decoupled decay p ← p·(1 − lr·wd), then
// the bias-corrected Adam step.
func (c *CPU) AdamW(p, g, m, v backend.Buffer, segs []backend.Segment, h backend.AdamHyper) {
	pd, gd, md, vd := f(p), f(g), f(m), f(v)
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(h.Step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(h.Step))
	for _, s := range segs {
		lr := float64(h.LR * s.LRScale)
		decay := float32(1)
		if s.Decay {
			decay = float32(1 - lr*float64(h.WeightDecay))
		}
		step := float32(lr / bc1)
		sq := float32(1 / math.Sqrt(bc2))
		for i := s.Off; i < s.Off+s.Len; i++ {
			gi := gd[i]
			md[i] = h.Beta1*md[i] + (1-h.Beta1)*gi
			vd[i] = h.Beta2*vd[i] + (1-h.Beta2)*gi*gi
			denom := float32(math.Sqrt(float64(vd[i])))*sq + h.Eps
			pd[i] = pd[i]*decay - step*md[i]/denom
		}
	}
}

// SGD follows torch.optim.SGD with momentum (dampening 0): coupled weight
// decay d = g + wd·p, buf ← μ·buf + d, p ← p − lr·buf.
func (c *CPU) SGD(p, g, mom backend.Buffer, segs []backend.Segment, h backend.SGDHyper) {
	pd, gd, bd := f(p), f(g), f(mom)
	for _, s := range segs {
		lr := h.LR * s.LRScale
		wd := float32(0)
		if s.Decay {
			wd = h.WeightDecay
		}
		for i := s.Off; i < s.Off+s.Len; i++ {
			bd[i] = h.Momentum*bd[i] + gd[i] + wd*pd[i]
			pd[i] -= lr * bd[i]
		}
	}
}

// LARS (You et al. 2017) as used by BYOL: d = g + wd·p, then for adapted
// tensors d ← d·η‖p‖/‖d‖, buf ← μ·buf + d, p ← p − lr·buf. Biases and
// BatchNorm parameters have Adapt and Decay false, as in the paper.
func (c *CPU) LARS(p, g, mom backend.Buffer, segs []backend.Segment, h backend.SGDHyper) {
	pd, gd, bd := f(p), f(g), f(mom)
	for _, s := range segs {
		lr := h.LR * s.LRScale
		wd := float32(0)
		if s.Decay {
			wd = h.WeightDecay
		}
		trust := float32(1)
		if s.Adapt {
			var pn, dn float64
			for i := s.Off; i < s.Off+s.Len; i++ {
				d := float64(gd[i] + wd*pd[i])
				pn += float64(pd[i]) * float64(pd[i])
				dn += d * d
			}
			if pn > 0 && dn > 0 {
				trust = float32(float64(h.Trust) * math.Sqrt(pn) / math.Sqrt(dn))
			}
		}
		for i := s.Off; i < s.Off+s.Len; i++ {
			bd[i] = h.Momentum*bd[i] + trust*(gd[i]+wd*pd[i])
			pd[i] -= lr * bd[i]
		}
	}
}
