//go:build !js

package e2e

import (
	"context"
	"image"
	"image/color"
	"net"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/server"
	"github.com/byol-lab/byol-lab/viz/ui"
)

// TestBrowserRealServer runs the page against the real viz/server and a
// real (small, fast) lab: the collapse lesson, BYOL beside BYOL without its
// predictor. The predictor toggle must reach the lab's run, and hovering
// a point shows its probe image, served by the server.
func TestBrowserRealServer(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	ds, err := data.Shapes(data.ShapesConfig{TrainN: 1024, TestN: 256})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := lab.Defaults("shapes")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Arch, cfg.Batch, cfg.Steps = "mlp", 32, 1_000_000
	cfg.ProjHidden, cfg.ProjOut, cfg.PredHidden = 64, 32, 64
	noPred := cfg
	noPred.Predictor = false
	srv, err := server.New(server.Options{
		Lab: lab.Options{Threads: 2, Data: ds, ProbeSize: 256, BankSize: 256, SnapshotRate: 4, EvalInterval: 2 * time.Second},
		Preset: &lab.Preset{Name: "collapse", Dataset: "shapes", Runs: []lab.PresetRun{
			{Name: "BYOL", Config: cfg}, {Name: "no predictor", Config: noPred}}},
		Frontend:   frontend(t, ctx),
		ServerName: "byol-lab (e2e)",
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()

	b := open(t, ctx, "http://"+ln.Addr().String()+"/", winW, winH, 1, artifacts(t))
	st := b.waitState("both panels with points from the lab", 2*time.Minute, func(d ui.Debug) bool {
		return len(d.Panels) == 2 && d.Panels[0].Points > 0 && d.Panels[1].Points > 0 && d.Panels[0].Step > 50
	})
	b.frames(6)
	img := b.screenshot("real-1-two-runs.png")
	st = b.state()
	probe := srv.Lab().Probe()
	var shape []string
	for _, ls := range probe.Labels {
		if ls.Name == "shape" {
			shape = ls.Classes
		}
	}
	for _, p := range st.Panels {
		n, spread := labelColours(img, p.Plot, ui.Palette(shape))
		t.Logf("panel %s at step %d: %d label colours over %.0f%% of the plot", p.Name, p.Step, n, 100*spread)
		if n < 3 || spread < 0.1 {
			t.Errorf("panel %s: %d label colours over %.0f%% of the plot, want several, scattered", p.Name, n, 100*spread)
		}
	}

	id := st.Panels[0].Run
	w, ok := widget(st, "predictor/"+id)
	if !ok || !w.On {
		t.Fatalf("predictor button of %s: %+v (found %v)", id, w, ok)
	}
	x, y := centre(w)
	b.click(x, y)
	deadline := time.Now().Add(20 * time.Second)
	for {
		off := false
		for _, r := range srv.Lab().Runs() {
			if r.ID == id && !r.Knobs.Predictor {
				off = true
			}
		}
		if off {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lab's run %s still has its predictor after the click\nconsole:\n%s", id, b.consoleText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.waitState("the panel showing the predictor off", 20*time.Second, func(d ui.Debug) bool {
		w, _ := widget(d, "predictor/"+id)
		return len(d.Panels) > 0 && !d.Panels[0].Predictor && w.Label == "predictor OFF"
	})
	b.frames(4)
	b.screenshot("real-2-predictor-off.png")

	// Hover a point: a tooltip with the probe image, fetched from the
	// server, and its labels. The runs are paused first, so the point
	// stays under the mouse.
	for _, r := range srv.Lab().Runs() {
		if err := srv.Lab().Pause(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	b.waitState("both runs paused", 20*time.Second, func(d ui.Debug) bool {
		return len(d.Panels) == 2 && d.Panels[0].State == "paused" && d.Panels[1].State == "paused"
	})
	b.frames(8) // the last snapshot drawn, the zoom settled
	img = b.screenshot("real-3-before-hover.png")
	st = b.state()
	px, py, ok := findPoint(img, st.Panels[0].Plot, ui.Palette(shape))
	if !ok {
		t.Fatalf("no point of a label colour found in the plot %v", st.Panels[0].Plot)
	}
	if err := chromedp.Do(b.ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, px, py)); err != nil {
		t.Fatal(err)
	}
	st = b.waitState("a tooltip with the probe image", 30*time.Second, func(d ui.Debug) bool {
		return d.Hover != nil && d.Hover.Image == ui.ThumbShown
	})
	b.frames(3)
	img = b.screenshot("real-3-hover.png")
	st = b.state()
	h := st.Hover
	if h == nil || h.Image != ui.ThumbShown {
		t.Fatalf("hover after the screenshot: %+v", h)
	}
	t.Logf("mouse at (%.0f, %.0f): probe image #%d of the %s cloud of %s; tooltip %v, picture %v", px, py, h.Point, h.Cloud, h.Run, h.Tip, h.Thumb)
	// The picture: many colours (a shape on a noisy background), where
	// the rest of the tooltip is one dark colour with text.
	if n := distinctColours(img, h.Thumb); n < 16 {
		t.Errorf("the tooltip's picture %v has %d distinct colours, want an image", h.Thumb, n)
	}
	if c := meanColour(img, [4]float64{h.Tip[0], h.Tip[1], 8, h.Tip[3]}); c.R > 80 || c.G > 80 || c.B > 80 {
		t.Errorf("the tooltip's left edge is %v, want the dark tooltip", c)
	}
	b.checkConsole()
}

// findPoint looks in the plot (CSS pixels = screenshot pixels at scale 1)
// for the centre of a dot of a label colour: the pixel whose 7×7
// neighbourhood has the most pixels of one label colour.
func findPoint(img image.Image, plot [4]float64, pal []color.RGBA) (float64, float64, bool) {
	bg := color.RGBA{0xfb, 0xfb, 0xfc, 0xff}
	class := func(x, y int) int {
		r, g, b, _ := img.At(x, y).RGBA()
		for i, c := range pal {
			// dots are drawn at alpha 0.85 over the plot background
			w := [3]float64{0.85*float64(c.R) + 0.15*float64(bg.R), 0.85*float64(c.G) + 0.15*float64(bg.G), 0.85*float64(c.B) + 0.15*float64(bg.B)}
			if max(abs(float64(r>>8)-w[0]), abs(float64(g>>8)-w[1]), abs(float64(b>>8)-w[2])) <= 14 {
				return i
			}
		}
		return -1
	}
	best, bx, by := 0, 0, 0
	x0, y0, x1, y1 := int(plot[0])+6, int(plot[1])+6, int(plot[0]+plot[2])-6, int(plot[1]+plot[3])-6
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			c := class(x, y)
			if c < 0 {
				continue
			}
			n := 0
			for dy := -3; dy <= 3; dy++ {
				for dx := -3; dx <= 3; dx++ {
					if class(x+dx, y+dy) == c {
						n++
					}
				}
			}
			if n > best {
				best, bx, by = n, x, y
			}
		}
	}
	return float64(bx), float64(by), best >= 15
}

// distinctColours counts the colours in a rectangle (CSS pixels).
func distinctColours(img image.Image, r [4]float64) int {
	seen := map[color.RGBA]bool{}
	for y := int(r[1]); y < int(r[1]+r[3]); y++ {
		for x := int(r[0]); x < int(r[0]+r[2]); x++ {
			c, g, b, _ := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(c >> 8), uint8(g >> 8), uint8(b >> 8), 0xff}] = true
		}
	}
	return len(seen)
}
