package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randBuf(c *CPU, r *rand.Rand, n int) (*Buf, []float64) {
	b := c.Alloc(n).(*Buf)
	v := make([]float64, n)
	for i := range b.data {
		b.data[i] = float32(r.NormFloat64())
		v[i] = float64(b.data[i])
	}
	return b, v
}

// refBYOL is the loss in float64: Σ_i (2 − 2·cos(p_i, z_{(i+shift) mod rows}))·scale.
func refBYOL(p, z []float64, rows, d, shift int, scale float64) float64 {
	total := 0.0
	for i := 0; i < rows; i++ {
		j := (i + shift) % rows
		var dot, np, nz float64
		for k := 0; k < d; k++ {
			dot += p[i*d+k] * z[j*d+k]
			np += p[i*d+k] * p[i*d+k]
			nz += z[j*d+k] * z[j*d+k]
		}
		total += 2 - 2*dot/math.Sqrt(np*nz)
	}
	return total * scale
}

func TestBYOLLossGradient(t *testing.T) {
	c := New(nil)
	r := rand.New(rand.NewPCG(7, 8))
	const rows, d, shift = 6, 5, 3
	p, p64 := randBuf(c, r, rows*d)
	z, z64 := randBuf(c, r, rows*d)
	dp, loss := c.Alloc(rows*d), c.Alloc(1)
	scale := 1.0 / 3
	c.BYOLLoss(p, z, dp, loss, rows, d, shift, float32(scale))
	want := refBYOL(p64, z64, rows, d, shift, scale)
	if got := float64(Data(loss)[0]); math.Abs(got-want) > 1e-5 {
		t.Fatalf("loss %v, want %v", got, want)
	}
	const h = 1e-6
	for i := range p64 {
		old := p64[i]
		p64[i] = old + h
		lp := refBYOL(p64, z64, rows, d, shift, scale)
		p64[i] = old - h
		lm := refBYOL(p64, z64, rows, d, shift, scale)
		p64[i] = old
		num := (lp - lm) / (2 * h)
		if got := float64(Data(dp)[i]); math.Abs(got-num) > 1e-4 {
			t.Fatalf("dp[%d] = %v, finite difference %v", i, got, num)
		}
	}
	// Identical directions give zero loss; opposite give 4 per row.
	c.BYOLLoss(p, p, dp, loss, rows, d, 0, 1)
	if got := Data(loss)[0]; math.Abs(float64(got)) > 1e-5 {
		t.Errorf("loss of identical vectors %v, want 0", got)
	}
}

func TestL2NormalizeAndEMA(t *testing.T) {
	c := New(nil)
	x := &Buf{[]float32{3, 4, 0, 0, 0, 0}}
	y := c.Alloc(6)
	c.L2Normalize(x, y, 3, 2)
	want := []float32{0.6, 0.8, 0, 0, 0, 0} // a zero row stays zero (eps), never NaN
	for i, v := range Data(y) {
		if math.Abs(float64(v-want[i])) > 1e-7 {
			t.Fatalf("normalised %v, want %v", Data(y), want)
		}
	}
	tgt, onl := &Buf{[]float32{1, 2}}, &Buf{[]float32{3, 6}}
	c.EMA(tgt, onl, 0.75)
	if Data(tgt)[0] != 1.5 || Data(tgt)[1] != 3 {
		t.Errorf("EMA gave %v, want [1.5 3]", Data(tgt))
	}
	c.EMA(tgt, onl, 1) // τ = 1 freezes the target
	if Data(tgt)[0] != 1.5 {
		t.Errorf("τ=1 changed the target: %v", Data(tgt))
	}
	c.EMA(tgt, onl, 0) // τ = 0 copies the online network
	if Data(tgt)[0] != 3 || Data(tgt)[1] != 6 {
		t.Errorf("τ=0 gave %v, want a copy", Data(tgt))
	}
}

func TestGemmTransposes(t *testing.T) {
	c := New(nil)
	r := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 5, 7, 3
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			a, a64 := randBuf(c, r, m*k)
			b, b64 := randBuf(c, r, k*n)
			cc, c64 := randBuf(c, r, m*n)
			c.Gemm(ta, tb, m, n, k, 2, a, b, 0.5, cc)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s := 0.0
					for p := 0; p < k; p++ {
						av, bv := a64[i*k+p], b64[p*n+j]
						if ta {
							av = a64[p*m+i]
						}
						if tb {
							bv = b64[j*k+p]
						}
						s += av * bv
					}
					want := 2*s + 0.5*c64[i*n+j]
					if got := float64(Data(cc)[i*n+j]); math.Abs(got-want) > 1e-4 {
						t.Fatalf("ta=%v tb=%v C[%d,%d] = %v, want %v", ta, tb, i, j, got, want)
					}
				}
			}
		}
	}
}
