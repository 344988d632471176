package ui

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPanelGrid(t *testing.T) {
	// A scatter as large as the smaller side of its cell, less 100 px.
	side := func(w, h float64) float64 { return min(w, h) - 100 }
	for _, c := range []struct {
		w, h             float64
		n                int
		rows, cols, fits int
	}{
		{1280, 600, 2, 1, 2, 2},  // side by side
		{1600, 700, 4, 1, 4, 4},  // 4 columns of 400×700 beat 2×2 of 800×350
		{1000, 1000, 4, 2, 2, 4}, // square window: 2×2
		{500, 1000, 2, 2, 1, 2},  // portrait: stacked
		{500, 500, 3, 2, 2, 3},   // 2×2, one cell empty
		{400, 400, 3, 1, 1, 1},   // too small for more than one
		{100, 100, 2, 1, 1, 1},   // always one panel, however small
		{800, 600, 0, 0, 0, 0},
	} {
		rows, cols, fit := PanelGrid(c.w, c.h, c.n, 0, side)
		if rows != c.rows || cols != c.cols || fit != c.fits {
			t.Errorf("PanelGrid(%g×%g, %d) = %d×%d showing %d, want %d×%d showing %d", c.w, c.h, c.n, rows, cols, fit, c.rows, c.cols, c.fits)
		}
	}
}

// TestLayouts builds scenes for 1–4 runs in windows from a small laptop to
// a 4K projector and checks what a broken layout would show: panels that
// overlap or leave the window, buttons on top of each other or cut off,
// runs that have no room.
func TestLayouts(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		for _, win := range []struct{ w, h, s float64 }{
			{1280, 720, 1}, {1920, 1080, 1}, {1600, 900, 1}, {1440, 900, 2}, {1024, 768, 1}, {800, 600, 1}, {560, 900, 1}, {1920, 1080, 2},
		} {
			name := fmt.Sprintf("%d runs at %g×%g@%g", n, win.w, win.h, win.s)
			a := connected(t, "", nRuns(n)...)
			sc := a.Scene(win.w*win.s, win.h*win.s, win.s, t0)
			d := a.Debug()
			if len(d.Panels) < 1 || len(d.Panels) > n {
				t.Errorf("%s: %d panels", name, len(d.Panels))
				continue
			}
			if win.w >= 1280 && win.h >= 720 && n <= 2 && len(d.Panels) != n {
				t.Errorf("%s: only %d panels fit", name, len(d.Panels))
			}
			if win.w >= 1600 && n <= 4 && len(d.Panels) != n {
				t.Errorf("%s: only %d panels fit", name, len(d.Panels))
			}
			if len(d.Panels) < n && !sceneHas(sc, "too small") {
				t.Errorf("%s: runs left out without saying so", name)
			}
			for i, p := range d.Panels {
				if p.Plot[2] < 100 && win.w >= 800 {
					t.Errorf("%s: panel %d scatter only %.0f px", name, i, p.Plot[2])
				}
				if !inside(p.Plot, win.w, win.h) {
					t.Errorf("%s: panel %d plot %v outside the window", name, i, p.Plot)
				}
				for j := range i {
					if overlap(p.Plot, d.Panels[j].Plot) {
						t.Errorf("%s: plots %d and %d overlap", name, i, j)
					}
				}
			}
			for i, w := range d.Widgets {
				if !inside(w.Rect, win.w, win.h) {
					t.Errorf("%s: widget %s %v outside the window", name, w.ID, w.Rect)
				}
				for _, o := range d.Widgets[:i] {
					if overlap(w.Rect, o.Rect) {
						t.Errorf("%s: widgets %s %v and %s %v overlap", name, w.ID, w.Rect, o.ID, o.Rect)
					}
				}
				for _, p := range d.Panels {
					if overlap(w.Rect, p.Plot) {
						t.Errorf("%s: widget %s covers the plot of %s", name, w.ID, p.Name)
					}
				}
			}
			for _, p := range sc.Prims {
				if p.Kind == Text && (p.X < -1 || p.X > sc.W+1 || p.Y < 0 || p.Y > sc.H) {
					t.Errorf("%s: text %q at (%.0f, %.0f) outside the window", name, p.Text, p.X, p.Y)
				}
			}
		}
	}
}

func inside(r [4]float64, w, h float64) bool {
	const eps = 0.5
	return r[0] >= -eps && r[1] >= -eps && r[0]+r[2] <= w+eps && r[1]+r[3] <= h+eps
}

func overlap(a, b [4]float64) bool {
	const eps = 0.5
	return a[0]+eps < b[0]+b[2] && b[0]+eps < a[0]+a[2] && a[1]+eps < b[1]+b[3] && b[1]+eps < a[1]+a[3]
}

// TestHiDPI: at device scale 2 the scene is the same layout at twice the
// pixels, so nothing is blurred by scaling a small canvas up.
func TestHiDPI(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	b := connected(t, "", nRuns(2)...)
	s1 := a.Scene(1280, 720, 1, t0)
	s2 := b.Scene(2560, 1440, 2, t0)
	if len(s1.Prims) != len(s2.Prims) || len(s1.Widgets) != len(s2.Widgets) {
		t.Fatalf("prims %d vs %d, widgets %d vs %d", len(s1.Prims), len(s2.Prims), len(s1.Widgets), len(s2.Widgets))
	}
	for i := range s1.Widgets {
		w1, w2 := s1.Widgets[i].R, s2.Widgets[i].R
		if math.Abs(w2.X-2*w1.X) > 1e-6 || math.Abs(w2.W-2*w1.W) > 1e-6 || math.Abs(w2.Y-2*w1.Y) > 1e-6 {
			t.Fatalf("widget %s: %v at scale 1, %v at scale 2", s1.Widgets[i].ID, w1, w2)
		}
	}
	for i := range s1.Prims {
		p1, p2 := s1.Prims[i], s2.Prims[i]
		if p1.Kind == Text && math.Abs(p2.Size-2*p1.Size) > 1e-9 {
			t.Fatalf("text %q: size %g at scale 1, %g at scale 2", p1.Text, p1.Size, p2.Size)
		}
	}
}

// TestSceneExplains checks that the words a student needs are on screen:
// titles, legends, axis names, the status line.
func TestSceneExplains(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	for _, step := range []uint64{110, 120, 130} {
		for _, id := range []string{"byol", "no-pred"} {
			a.HandleText(encode(t, protoMetrics(id, step)), t0)
		}
	}
	sc := a.Scene(1600, 900, 1, t0)
	for _, want := range []string{
		"probe images (2-D PCA)", "online z", "target z′", "colour = shape label", "circle", "hourglass",
		"singular values", "std per dimension", "1/√d healthy", "collapse", "loss", "std (mean)", "effective rank", "kNN accuracy", "shape 50%",
		"step 130", "img/s", "τ 0.99", "lr 0.0020", "predictor ", "ON", "OFF", "running",
		"predictor ON", "cosine τ→1", "augment", "jitter", "? help", "lesson", "collapse",
	} {
		if !sceneHas(sc, want) {
			t.Errorf("the scene does not say %q", want)
		}
	}
	var texts []string
	for _, p := range sc.Prims {
		if p.Kind == Text {
			texts = append(texts, p.Text)
		}
	}
	if t.Failed() {
		t.Logf("texts: %s", strings.Join(texts, " | "))
	}
}

// BenchmarkScene is the per-frame cost of building the scene of two
// panels of 512 points (the browser runs it every frame).
func BenchmarkScene(b *testing.B) {
	t := &testing.T{}
	a := connected(t, "#links=1", nRuns(2)...)
	for _, id := range []string{"byol", "no-pred"} {
		for s := range 2000 {
			a.HandleText(encode(t, protoMetrics(id, uint64(s+1))), t0)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.Scene(1920, 1080, 1, t0.Add(time.Duration(i)*16*time.Millisecond))
	}
}
