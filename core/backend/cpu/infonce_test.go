package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refInfoNCE is NT-Xent written from the definition in float64, without the
// op's max-subtraction or its g + gᵀ factorisation: row i's positive is
// (i+shift) mod rows and its negatives are every other row but itself.
func refInfoNCE(z []float64, rows, d, shift int, temp, scale float64) float64 {
	u := make([]float64, len(z))
	for i := 0; i < rows; i++ {
		n := 0.0
		for k := 0; k < d; k++ {
			n += z[i*d+k] * z[i*d+k]
		}
		for k := 0; k < d; k++ {
			u[i*d+k] = z[i*d+k] / math.Sqrt(n)
		}
	}
	sim := func(i, k int) float64 {
		s := 0.0
		for j := 0; j < d; j++ {
			s += u[i*d+j] * u[k*d+j]
		}
		return s / temp
	}
	total := 0.0
	for i := 0; i < rows; i++ {
		den := 0.0
		for k := 0; k < rows; k++ {
			if k != i {
				den += math.Exp(sim(i, k))
			}
		}
		total -= math.Log(math.Exp(sim(i, (i+shift)%rows)) / den)
	}
	return total * scale
}

func TestInfoNCELossGradient(t *testing.T) {
	cases := []struct {
		rows, d, shift int
		temp           float64
	}{
		{6, 5, 3, 0.5}, {8, 7, 4, 0.1}, {5, 4, 2, 1}, {2, 3, 1, 0.2}, {7, 6, -2, 0.3},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d_shift%d_T%v", tc.rows, tc.d, tc.shift, tc.temp), func(t *testing.T) {
			c := New(nil)
			r := rand.New(rand.NewPCG(uint64(tc.rows), uint64(tc.d)))
			z, z64 := randBuf(c, r, tc.rows*tc.d)
			dz, loss := c.Alloc(tc.rows*tc.d), c.Alloc(1)
			scale := 1 / float64(tc.rows)
			shift := ((tc.shift % tc.rows) + tc.rows) % tc.rows
			c.InfoNCELoss(z, dz, loss, tc.rows, tc.d, tc.shift, float32(tc.temp), float32(scale))
			want := refInfoNCE(z64, tc.rows, tc.d, shift, tc.temp, scale)
			if got := float64(Data(loss)[0]); math.Abs(got-want) > 1e-5*max(1, math.Abs(want)) {
				t.Fatalf("loss %v, want %v", got, want)
			}
			const h = 1e-6
			for i := range z64 {
				old := z64[i]
				z64[i] = old + h
				lp := refInfoNCE(z64, tc.rows, tc.d, shift, tc.temp, scale)
				z64[i] = old - h
				lm := refInfoNCE(z64, tc.rows, tc.d, shift, tc.temp, scale)
				z64[i] = old
				num := (lp - lm) / (2 * h)
				if got := float64(Data(dz)[i]); math.Abs(got-num) > 1e-4*max(1, math.Abs(num)) {
					t.Fatalf("dz[%d] = %v, finite difference %v", i, got, num)
				}
			}
		})
	}
}

func TestInfoNCELossProperties(t *testing.T) {
	c := New(nil)
	// Two rows: the positive is the only other row, so the loss is 0 and
	// so is the gradient.
	z := &Buf{[]float32{1, 2, -3, 0.5}}
	dz, loss := c.Alloc(4), c.Alloc(1)
	c.InfoNCELoss(z, dz, loss, 2, 2, 1, 0.2, 1)
	if Data(loss)[0] != 0 || Data(dz)[0] != 0 {
		t.Errorf("two rows: loss %v, dz %v, want 0", Data(loss)[0], Data(dz))
	}
	// Scaling a row changes neither loss nor (beyond 1/‖z‖) the direction
	// of the gradient: the op normalises internally.
	r := rand.New(rand.NewPCG(3, 4))
	const rows, d = 8, 6
	a, _ := randBuf(c, r, rows*d)
	b := c.Alloc(rows * d)
	for i, v := range Data(a) {
		Data(b)[i] = 3 * v
	}
	la, lb := c.Alloc(1), c.Alloc(1)
	c.InfoNCELoss(a, c.Alloc(rows*d), la, rows, d, rows/2, 0.2, 1)
	c.InfoNCELoss(b, c.Alloc(rows*d), lb, rows, d, rows/2, 0.2, 1)
	if math.Abs(float64(Data(la)[0]-Data(lb)[0])) > 1e-5 {
		t.Errorf("loss depends on the norm: %v vs %v", Data(la)[0], Data(lb)[0])
	}
	// Each pair identical and far from the others: the loss is near 0 at
	// a low temperature, and large when the positives are swapped for negatives.
	e := c.Alloc(rows * d)
	for i := 0; i < rows; i++ {
		Data(e)[i*d+i%(rows/2)] = 1 // rows i and i+rows/2 share axis i mod 4
	}
	c.InfoNCELoss(e, c.Alloc(rows*d), la, rows, d, rows/2, 0.1, 1.0/rows)
	if l := Data(la)[0]; l > 1e-3 {
		t.Errorf("aligned pairs: loss %v, want ≈ 0", l)
	}
	c.InfoNCELoss(e, c.Alloc(rows*d), la, rows, d, 1, 0.1, 1.0/rows)
	if l := Data(la)[0]; l < 5 {
		t.Errorf("positives orthogonal to the anchor: loss %v, want ≫ 1", l)
	}
	defer func() {
		if recover() == nil {
			t.Error("shift 0 (every row its own positive) did not panic")
		}
	}()
	c.InfoNCELoss(e, c.Alloc(rows*d), la, rows, d, rows, 0.1, 1)
}
