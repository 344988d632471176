package optim

import "math"

// LR is the learning rate at step k of total: linear warm-up over warmup
// steps, then cosine decay to zero (or constant when cosine is false).
// base is already scaled by batch/256.
func LR(base float64, k, total, warmup int, cosine bool) float64 {
	if k < warmup {
		return base * float64(k+1) / float64(warmup)
	}
	if !cosine || total <= warmup {
		return base
	}
	p := float64(k-warmup) / float64(total-warmup)
	p = min(max(p, 0), 1)
	return base * 0.5 * (1 + math.Cos(math.Pi*p))
}

// ScaledLR applies the linear scaling rule lr = base × batch / 256.
func ScaledLR(base float64, batch int) float64 { return base * float64(batch) / 256 }

// Tau is BYOL's EMA coefficient at step k of total:
// τ_k = 1 − (1 − τ_base)·(cos(πk/K) + 1)/2, rising from τ_base to 1.
func Tau(base float64, k, total int) float64 {
	if total <= 0 {
		return base
	}
	p := min(max(float64(k)/float64(total), 0), 1)
	return 1 - (1-base)*(math.Cos(math.Pi*p)+1)/2
}
