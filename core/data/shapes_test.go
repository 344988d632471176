package data

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

func TestShapesDeterministic(t *testing.T) {
	cfg := ShapesConfig{TrainN: 300, TestN: 50, Seed: 7}
	a, err := Shapes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Shapes(cfg)
	if !bytes.Equal(a.Train.Pix, b.Train.Pix) || !bytes.Equal(a.Test.Pix, b.Test.Pix) {
		t.Fatal("same seed gave different pixels")
	}
	for i := range a.Train.Labels {
		for j, y := range a.Train.Labels[i].Y {
			if b.Train.Labels[i].Y[j] != y {
				t.Fatalf("same seed gave different %s label at %d", a.Train.Labels[i].Name, j)
			}
		}
	}
	cfg.Seed = 8
	c, _ := Shapes(cfg)
	if bytes.Equal(a.Train.Pix, c.Train.Pix) {
		t.Fatal("different seeds gave identical pixels")
	}
	// Train and test come from different streams: no test image repeats a
	// train image with the same index.
	if bytes.Equal(a.Train.Image(0), a.Test.Image(0)) {
		t.Fatal("train and test share images")
	}
}

func TestShapesDefaultsAndBalance(t *testing.T) {
	ds, err := Load("shapes", Options{TrainN: 4000, TestN: 400})
	if err != nil {
		t.Fatal(err)
	}
	tr := ds.Train
	if tr.N != 4000 || ds.Test.N != 400 || tr.C != 3 || tr.H != 32 || tr.W != 32 {
		t.Fatalf("got %d/%d images of %dx%dx%d", tr.N, ds.Test.N, tr.C, tr.H, tr.W)
	}
	if len(ShapeClasses) < 8 {
		t.Fatalf("only %d shape classes", len(ShapeClasses))
	}
	shape, colour := tr.Label("shape"), tr.Label("colour")
	if shape == nil || colour == nil {
		t.Fatal("missing shape or colour label set")
	}
	counts := make([]int, len(shape.Classes))
	for _, y := range shape.Y {
		counts[y]++
	}
	for c, n := range counts {
		if n != tr.N/len(counts) {
			t.Errorf("shape %q: %d images, want exactly %d", shape.Classes[c], n, tr.N/len(counts))
		}
	}
	counts = make([]int, len(colour.Classes))
	for _, y := range colour.Y {
		counts[y]++
	}
	want := float64(tr.N) / float64(len(counts))
	for c, n := range counts {
		if math.Abs(float64(n)-want) > 0.2*want {
			t.Errorf("colour %q: %d images, want about %.0f", colour.Classes[c], n, want)
		}
	}
	if _, err := Shapes(ShapesConfig{TrainN: -1}); err == nil {
		t.Error("negative TrainN accepted")
	}
}

// TestShapesPlacement checks the layout the design relies on: several
// copies per image, inside the frame, never overlapping.
func TestShapesPlacement(t *testing.T) {
	var r shapeRenderer
	total := 0
	const n = 2000
	for i := range n {
		copies := r.place(rand.New(rand.NewPCG(1, uint64(i))))
		if len(copies) < 1 || len(copies) > maxCopies {
			t.Fatalf("image %d: %d copies", i, len(copies))
		}
		total += len(copies)
		for j, a := range copies {
			ra := max(a.ax, a.ay)
			if a.cx < 0.85*ra-1e-9 || a.cx > ShapesSize-0.85*ra+1e-9 || a.cy < 0.85*ra-1e-9 || a.cy > ShapesSize-0.85*ra+1e-9 {
				t.Errorf("image %d: copy %d (centre %.1f,%.1f radius %.1f) leaves the frame", i, j, a.cx, a.cy, ra)
			}
			for _, b := range copies[:j] {
				if math.Hypot(a.cx-b.cx, a.cy-b.cy) < ra+max(b.ax, b.ay) {
					t.Errorf("image %d: copies overlap", i)
				}
			}
		}
	}
	if mean := float64(total) / n; mean < 3 {
		t.Errorf("%.2f copies per image on average, want at least 3", mean)
	}
}

// TestShapesEqualLuma checks that every colour class comes out at the luma
// asked for, so luma says nothing about the colour.
func TestShapesEqualLuma(t *testing.T) {
	for i, h := range colourHues {
		for _, sv := range [][2]float64{{0.4, 0.8}, {1, 1}} {
			for _, y := range []float64{0.5, 0.6} {
				c := withLuma(hsv(h, sv[0], sv[1]), y)
				if l := 0.299*c[0] + 0.587*c[1] + 0.114*c[2]; math.Abs(l-y) > 1e-9 || min(c[0], c[1], c[2]) < 0 || max(c[0], c[1], c[2]) > 1 {
					t.Errorf("%s (s %v, v %v) at luma %v: got %v, luma %v", ColourClasses[i], sv[0], sv[1], y, c, l)
				}
			}
		}
	}
}

// TestShapesRawPixelKNN checks the dataset's design goal: nearest neighbours
// in pixel space should find the colour but not the shape. The default run
// uses a reduced bank to stay fast; BYOL_SHAPES_FULL_KNN=1 measures the full
// protocol (2000 test queries against the 20000-image train bank).
func TestShapesRawPixelKNN(t *testing.T) {
	cfg := ShapesConfig{TrainN: 4000, TestN: 400}
	if os.Getenv("BYOL_SHAPES_FULL_KNN") != "" {
		cfg = ShapesConfig{}
	}
	start := time.Now()
	ds, err := Shapes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d+%d images in %v", ds.Train.N, ds.Test.N, time.Since(start))

	start = time.Now()
	accs := rawPixelKNN(ds, 20, 0.07, "shape", "colour")
	t.Logf("raw-pixel kNN (k=20, T=0.07, %d queries vs %d bank, %v): shape %.1f%% (chance %.1f%%), colour %.1f%% (chance %.1f%%)",
		ds.Test.N, ds.Train.N, time.Since(start),
		100*accs[0], 100/float64(len(ShapeClasses)), 100*accs[1], 100/float64(len(ColourClasses)))
	if accs[0] > 0.30 {
		t.Errorf("raw-pixel kNN finds the shape %.1f%% of the time; the dataset should defeat it (< 30%%)", 100*accs[0])
	}
	// The colour shortcut lesson needs colour to be what pixels find.
	if accs[1] < 0.5 {
		t.Errorf("raw-pixel kNN finds the colour only %.1f%% of the time; want at least 50%%", 100*accs[1])
	}
}

// rawPixelKNN is the InstDisc-style kNN monitor on raw pixels: features are
// pixels standardised per channel with train statistics, compared by cosine
// similarity; the k nearest train images vote with weight exp(sim/temp).
// It returns the test accuracy for each named label set.
func rawPixelKNN(ds *Dataset, k int, temp float64, labels ...string) []float64 {
	tr, te := ds.Train, ds.Test
	d, hw := tr.ImageSize(), tr.H*tr.W
	var mean, std [3]float64
	for i := range tr.N {
		img := tr.Image(i)
		for p, v := range img {
			c := p / hw
			mean[c] += float64(v)
			std[c] += float64(v) * float64(v)
		}
	}
	for c := range tr.C {
		n := float64(tr.N * hw)
		mean[c] /= n
		std[c] = math.Sqrt(std[c]/n - mean[c]*mean[c])
	}
	features := func(s *Split) []float32 {
		f := make([]float32, s.N*d)
		for i := range s.N {
			img, row := s.Image(i), f[i*d:(i+1)*d]
			var norm float64
			for p, v := range img {
				c := p / hw
				x := (float64(v) - mean[c]) / std[c]
				row[p] = float32(x)
				norm += x * x
			}
			inv := float32(1 / math.Sqrt(norm+1e-12))
			for p := range row {
				row[p] *= inv
			}
		}
		return f
	}
	bank, query := features(tr), features(te)

	correct := make([][]int, len(labels))
	for l := range labels {
		correct[l] = make([]int, te.N)
	}
	// Queries go in blocks so each bank row is read from memory once per
	// block rather than once per query: the bank is far larger than cache.
	const block = 16
	nBlocks := (te.N + block - 1) / block
	parallelFor(nBlocks, func(lo, hi int) {
		sims := make([]float32, block*tr.N)
		top := make([]int, 0, k+1)
		for blk := lo; blk < hi; blk++ {
			q0, q1 := blk*block, min((blk+1)*block, te.N)
			for b := range tr.N {
				bv := bank[b*d : (b+1)*d]
				for q := q0; q < q1; q++ {
					sims[(q-q0)*tr.N+b] = dot(query[q*d:(q+1)*d], bv)
				}
			}
			for q := q0; q < q1; q++ {
				qs := sims[(q-q0)*tr.N : (q-q0+1)*tr.N]
				top = topK(top[:0], qs, k)
				for l, name := range labels {
					bl, ql := tr.Label(name), te.Label(name)
					votes := make([]float64, len(bl.Classes))
					for _, b := range top {
						votes[bl.Y[b]] += math.Exp(float64(qs[b]) / temp)
					}
					best := 0
					for c := range votes {
						if votes[c] > votes[best] {
							best = c
						}
					}
					if int32(best) == ql.Y[q] {
						correct[l][q] = 1
					}
				}
			}
		}
	})
	acc := make([]float64, len(labels))
	for l := range labels {
		n := 0
		for _, c := range correct[l] {
			n += c
		}
		acc[l] = float64(n) / float64(te.N)
	}
	return acc
}

// topK appends to top the indices of the k largest sims, largest first.
// Insertion into a short sorted list beats sorting the whole bank.
func topK(top []int, sims []float32, k int) []int {
	for b, s := range sims {
		if len(top) == k && s <= sims[top[k-1]] {
			continue
		}
		j := len(top)
		if j < k {
			top = append(top, b)
		} else {
			j = k - 1
		}
		for j > 0 && sims[top[j-1]] < s {
			top[j] = top[j-1]
			j--
		}
		top[j] = b
	}
	return top
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		// Re-slicing to length 8 lets the compiler drop the bounds checks;
		// eight sums hide the latency of the adds.
		x, y := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}

func BenchmarkShapesDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Shapes(ShapesConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}
