package report

import (
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// outDir is where test PNGs go; set REPORT_PNG_DIR to keep them for a look.
func outDir(t *testing.T) string {
	if d := os.Getenv("REPORT_PNG_DIR"); d != "" {
		os.MkdirAll(d, 0o755)
		return d
	}
	return t.TempDir()
}

// checkPNG decodes path and checks its size and that it is not blank.
func checkPNG(t *testing.T, path string, w, h int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 10 {
		t.Errorf("%s has only %d colours; looks blank", path, len(colours))
	}
	return img
}

// countColour counts pixels close to c, to check a series was drawn.
func countColour(img image.Image, c [3]uint8) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r>>8, c[0]) < 8 && absDiff(g>>8, c[1]) < 8 && absDiff(bl>>8, c[2]) < 8 {
				n++
			}
		}
	}
	return n
}

func absDiff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

// fakeRun imitates a healthy BYOL run's metrics.
func fakeRun(n int) []Record {
	var recs []Record
	for i := range n {
		step := float64(i * 500)
		f := float64(i) / float64(n-1)
		r := Record{
			"step":       step,
			"loss":       3.8*math.Exp(-4*f) + 0.25 + 0.03*math.Sin(float64(i)),
			"lr":         0.002 * math.Min(1, 5*f) * (0.5 + 0.5*math.Cos(math.Pi*f)),
			"tau":        1 - 0.004*(math.Cos(math.Pi*f)+1)/2,
			"std":        0.088 * (1 - 0.7*math.Exp(-6*f)),
			"rank":       12 + 90*(1-math.Exp(-3*f)),
			"knn":        0.1 + 0.75*(1-math.Exp(-3*f)),
			"knn_colour": 0.2 + 0.5*(1-math.Exp(-2*f)),
			"imgs_per_s": 2400 + 50*math.Sin(float64(i)),
		}
		if i == 0 {
			r["knn_pixels"] = 0.41
			r["knn_random"] = 0.27
		}
		if i == n/2 {
			r["loss"] = math.NaN() // a bad evaluation must not break the plot
		}
		recs = append(recs, r)
	}
	return recs
}

func TestPlotCurves(t *testing.T) {
	dir := outDir(t)
	path := filepath.Join(dir, "curves.png")
	if err := PlotCurves(path, fakeRun(25), nil, CurveOptions{Dim: 128, Title: "shapes · resnet-tiny · seed 1"}); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path, 1200, 800)
	if n := countColour(img, [3]uint8{0x33, 0x22, 0x88}); n < 500 {
		t.Errorf("only %d indigo pixels: are the curves drawn?", n)
	}
	assertNoTemps(t, dir)

	// Custom keys and size, one record, unknown metric, no title.
	path = filepath.Join(dir, "curves-small.png")
	if err := PlotCurves(path, []Record{{"step": 0, "loss": 4, "grad_norm": 1.5}}, []string{"loss", "grad_norm", "missing"}, CurveOptions{Width: 600, Height: 300}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, 600, 300)

	if err := PlotCurves(filepath.Join(dir, "none.png"), nil, nil, CurveOptions{}); err == nil {
		t.Error("plotting no records succeeded")
	}
}

func TestPlotScatter(t *testing.T) {
	dir := outDir(t)
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"circle", "square", "triangle", "star", "cross", "ring", "heart", "moon", "hexagon", "diamond", "arrow", "bolt"}
	n := 3000
	xy := make([]float32, 0, 2*n)
	labels := make([]int32, 0, n)
	for i := range n {
		l := int32(i % len(names))
		a := 2 * math.Pi * float64(l) / float64(len(names))
		xy = append(xy, float32(3*math.Cos(a)+rng.NormFloat64()*0.6), float32(2*math.Sin(a)+rng.NormFloat64()*0.6))
		labels = append(labels, l)
	}
	xy[0] = float32(math.NaN()) // skipped, not fatal
	path := filepath.Join(dir, "pca.png")
	if err := PlotScatter(path, xy, labels, names, "PCA of test embeddings, step 12000"); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path, 1000, 800)
	for i := range 10 {
		c := Palette[i]
		// Scatter points are translucent; the legend markers are opaque.
		if countColour(img, [3]uint8{c.R, c.G, c.B}) < 20 {
			t.Errorf("palette colour %d missing from the scatter", i)
		}
	}

	if err := PlotScatter(filepath.Join(dir, "pca-nolabels.png"), xy[:200], nil, nil, "unlabelled"); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "pca-nolabels.png"), 1000, 800)

	if err := PlotScatter(filepath.Join(dir, "bad.png"), xy[:3], nil, nil, ""); err == nil {
		t.Error("odd xy accepted")
	}
	if err := PlotScatter(filepath.Join(dir, "bad.png"), xy[:4], labels[:1], nil, ""); err == nil {
		t.Error("label count mismatch accepted")
	}
	assertNoTemps(t, dir)
}
