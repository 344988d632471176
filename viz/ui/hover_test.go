package ui

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/viz/proto"
)

const testProbe = "00c0ffee00c0ffee"

// withProbe is connected, with a hello that names a probe set.
func withProbe(t *testing.T, probe string) *App {
	t.Helper()
	a := connected(t, "", nRuns(2)...)
	h := testHello(nRuns(2)...)
	h.Probe = probe
	if err := a.HandleText(encode(t, h), t0); err != nil {
		t.Fatal(err)
	}
	for _, r := range nRuns(2) {
		if err := a.HandleBinary(testSnapshot(t, r.ID, 100, 0.4), t0); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNearestPoint(t *testing.T) {
	nan := float32(math.NaN())
	g := panelGeom{cx: 100, cy: 100, k: 100, hasPoint: true,
		online: []float32{0, 0, 0.5, 0, nan, nan},
		target: []float32{0.05, 0, 0.5, 0.5, 0.2, 0.2}}
	for _, c := range []struct {
		x, y  float64
		point int
		cloud string
	}{
		{100, 100, 0, PointOnline},   // on online 0
		{105, 100, 0, PointTarget},   // on target 0, 5 px from online 0
		{102.5, 100, 0, PointOnline}, // halfway: the dot drawn on top wins
		{150, 52, 1, PointTarget},    // target 1 at (150, 50)
		{148, 103, 1, PointOnline},   // online 1 at (150, 100)
		{120, 80, 2, PointTarget},    // online 2 is NaN, its target is at (120, 80)
		{300, 300, -1, ""},           // nothing near
		{100, 109, -1, ""},           // 9 px: beyond the radius
	} {
		p, cl := g.nearestPoint(c.x, c.y, 8)
		if p != c.point || cl != c.cloud {
			t.Errorf("nearestPoint(%g, %g) = %d %q, want %d %q", c.x, c.y, p, cl, c.point, c.cloud)
		}
	}
}

// TestPlaceTip: wherever the mouse is in a panel, the tip stays inside
// and off the pointer; one too large keeps its corner inside.
func TestPlaceTip(t *testing.T) {
	bounds := Rect{100, 50, 600, 500}
	for _, size := range [][2]float64{{330, 130}, {200, 60}, {580, 200}} {
		w, h := size[0], size[1]
		for x := bounds.X; x <= bounds.Right(); x += 7 {
			for y := bounds.Y; y <= bounds.Bottom(); y += 7 {
				avoid := pointerBox(x, y, 14)
				r := placeTip(avoid, x+14, w, h, bounds)
				if r.X < bounds.X || r.Y < bounds.Y || r.Right() > bounds.Right() || r.Bottom() > bounds.Bottom() {
					t.Fatalf("%g×%g tip at mouse (%g, %g): %v leaves %v", w, h, x, y, r, bounds)
				}
				if overlaps(r, avoid) {
					t.Fatalf("%g×%g tip at mouse (%g, %g): %v covers the pointer %v", w, h, x, y, r, avoid)
				}
			}
		}
	}
	// Room below: below the pointer, right of it.
	if r := placeTip(pointerBox(200, 100, 14), 214, 100, 50, bounds); r.X != 214 || r.Y != 114 {
		t.Errorf("tip with room: %v, want at (214, 114)", r)
	}
	// Near the bottom right corner: above, slid left.
	if r := placeTip(pointerBox(690, 540, 14), 704, 100, 50, bounds); r.Bottom() != 526 || r.Right() != 700 {
		t.Errorf("tip in the corner: %v, want above the pointer, inside", r)
	}
	// Too large for bounds: the corner stays inside.
	if r := placeTip(pointerBox(300, 300, 14), 314, 900, 700, bounds); r.X != 100 || r.Y != 50 {
		t.Errorf("oversized tip: %v, want at the corner of %v", r, bounds)
	}
}

func overlaps(a, b Rect) bool {
	return a.X < b.Right() && b.X < a.Right() && a.Y < b.Bottom() && b.Y < a.Bottom()
}

func TestThumbFit(t *testing.T) {
	for _, c := range []struct {
		w, h   int
		dw, dh float64
	}{
		{32, 32, 96, 96}, {28, 28, 84, 84}, {64, 32, 64, 32}, {96, 96, 96, 96}, {192, 96, 96, 48}, {0, 5, 0, 0},
	} {
		if dw, dh := thumbFit(c.w, c.h, 96); dw != c.dw || dh != c.dh {
			t.Errorf("thumbFit(%d, %d) = %g×%g, want %g×%g", c.w, c.h, dw, dh, c.dw, c.dh)
		}
	}
}

// hoverOnline puts the mouse on online point j of panel 0 and builds the
// scene.
func hover(t *testing.T, a *App, cloud []float32, j int, now time.Time) *Scene {
	t.Helper()
	g := a.panels[0]
	x, y := g.toPx(cloud[2*j], cloud[2*j+1])
	a.Update(Input{X: x, Y: y}, now)
	return a.Scene(1280, 720, 1, now)
}

func sceneImages(sc *Scene) []Prim {
	var out []Prim
	for _, p := range sc.Prims {
		if p.Kind == Image {
			out = append(out, p)
		}
	}
	return out
}

// TestHoverThumbnail follows one hover: the tip names the image, its labels
// and cloud, asks for the picture at the probe set's URL, shows a
// placeholder while it loads and the picture once it is there.
func TestHoverThumbnail(t *testing.T) {
	a := withProbe(t, testProbe)
	a.Scene(1280, 720, 1, t0)
	g := a.panels[0]
	sc := hover(t, a, g.online, 3, t0)
	d := a.Debug()
	if d.Hover == nil || d.Hover.Point%10 != 3 || d.Hover.Cloud != PointOnline || d.Hover.Image != ThumbLoading {
		t.Fatalf("hover: %+v", d.Hover)
	}
	h := d.Hover.Point
	for _, want := range []string{"probe image #", "shape: cross", "colour: ", "pointing at: online z (dot)", "loading…"} {
		if !sceneHas(sc, want) {
			t.Errorf("the tip does not say %q", want)
		}
	}
	url := a.NextThumb()
	if want := proto.ProbeImagePath(testProbe, h); url != want {
		t.Fatalf("NextThumb = %q, want %q", url, want)
	}
	if again := a.NextThumb(); again != "" {
		t.Errorf("asked twice: %q", again)
	}
	loading := d.Hover.Tip

	a.ThumbLoaded(url, pngOf(t, 32, 32), nil, t0)
	sc = a.Scene(1280, 720, 1, t0)
	imgs := sceneImages(sc)
	if len(imgs) != 1 || imgs[0].Image.Bounds().Dx() != 32 || imgs[0].R.W != 96 || imgs[0].R.H != 96 {
		t.Fatalf("image prims %+v, want one 32×32 image shown at 96×96", imgs)
	}
	d = a.Debug()
	if d.Hover.Image != ThumbShown || d.Hover.Tip != loading {
		t.Errorf("after loading: %+v; the tip moved from %v", d.Hover, loading)
	}
	tip := Rect{d.Hover.Tip[0], d.Hover.Tip[1], d.Hover.Tip[2], d.Hover.Tip[3]}
	if r := imgs[0].R; r.X < tip.X || r.Y < tip.Y || r.Right() > tip.Right() || r.Bottom() > tip.Bottom() {
		t.Errorf("the picture %v is not inside the tip %v", r, tip)
	}
	if !sceneHas(sc, "32×32 pixels") || sceneHas(sc, "loading…") {
		t.Error("the picture's caption is missing, or it still says loading")
	}
	// The image is kept: no second fetch.
	hover(t, a, g.online, 13, t0)
	hover(t, a, g.online, 3, t0)
	if u := a.NextThumb(); u != "" && u == url {
		t.Errorf("fetched %q again", u)
	}

	// The target ring of another image.
	sc = hover(t, a, g.target, 5, t0)
	if d := a.Debug(); d.Hover == nil || d.Hover.Cloud != PointTarget || !sceneHas(sc, "pointing at: target z′ (ring)") {
		t.Errorf("hover on a ring: %+v", d.Hover)
	}
}

func TestHoverThumbnailFails(t *testing.T) {
	a := withProbe(t, testProbe)
	a.Scene(1280, 720, 1, t0)
	hover(t, a, a.panels[0].online, 4, t0)
	url := a.NextThumb()
	a.ThumbLoaded(url, nil, errors.New("HTTP 404"), t0)
	sc := a.Scene(1280, 720, 1, t0)
	if !sceneHas(sc, "(picture not available)") || len(sceneImages(sc)) != 0 || a.Debug().Hover.Image != ThumbFailed {
		t.Error("a failed picture should be said, not drawn")
	}
	if u := a.NextThumb(); u != "" {
		t.Errorf("retried at once: %q", u)
	}
	later := t0.Add(thumbRetry + time.Second)
	a.Scene(1280, 720, 1, later)
	if u := a.NextThumb(); u != url {
		t.Errorf("after %v: NextThumb %q, want a retry of %q", thumbRetry, u, url)
	}
	// Not a PNG, or too large: failed too.
	a.ThumbLoaded(url, []byte("<html>"), nil, later)
	if a.Debug().Hover == nil || a.thumbs.m[url].err == "" {
		t.Error("HTML taken for a picture")
	}
	if _, err := decodeThumb(pngOf(t, maxThumbSide+1, 1)); err == nil {
		t.Error("a huge image decoded")
	}
}

// TestHoverNewProbe: after a hello with another probe set, the old images
// are gone, a fetch of the old set that lands late is dropped, and the
// URL names the new set.
func TestHoverNewProbe(t *testing.T) {
	a := withProbe(t, testProbe)
	a.Scene(1280, 720, 1, t0)
	hover(t, a, a.panels[0].online, 3, t0)
	old := a.NextThumb()
	h := testHello(nRuns(2)...)
	h.Probe = "feedfacefeedface"
	if err := a.HandleText(encode(t, h), t0); err != nil {
		t.Fatal(err)
	}
	if d := a.Debug(); len(d.Panels) > 0 && d.Panels[0].Points != 0 {
		t.Errorf("the snapshot of the old probe set is still drawn")
	}
	a.ThumbLoaded(old, pngOf(t, 32, 32), nil, t0) // late
	for _, r := range nRuns(2) {
		if err := a.HandleBinary(testSnapshot(t, r.ID, 200, 0.4), t0); err != nil {
			t.Fatal(err)
		}
	}
	a.Scene(1280, 720, 1, t0)
	sc := hover(t, a, a.panels[0].online, 3, t0)
	if len(sceneImages(sc)) != 0 {
		t.Fatal("a picture of the old probe set is shown")
	}
	if u := a.NextThumb(); !strings.Contains(u, "/feedfacefeedface/") {
		t.Errorf("NextThumb = %q, want the new probe set's URL", u)
	}
}

// TestHoverTipInPanel hovers every point of both panels, at several window
// sizes: the tip always stays inside the panel when it fits there, and
// inside the window always.
func TestHoverTipInPanel(t *testing.T) {
	small := pngOf(t, 28, 28)
	for _, win := range []struct{ w, h, s float64 }{{1280, 720, 1}, {1600, 900, 1}, {1440, 900, 2}, {560, 900, 1}} {
		a := withProbe(t, testProbe)
		a.Scene(win.w*win.s, win.h*win.s, win.s, t0)
		hovered := 0
		for p := range a.panels {
			g := a.panels[p]
			for _, cloud := range [][]float32{g.online, g.target} {
				for j := range testN {
					x, y := g.toPx(cloud[2*j], cloud[2*j+1])
					// the points, and around them
					for _, off := range [][2]float64{{0, 0}, {5, 5}, {-5, 3}} {
						a.Update(Input{X: x + off[0], Y: y + off[1]}, t0)
						sc := a.Scene(win.w*win.s, win.h*win.s, win.s, t0)
						if a.hoverPoint < 0 {
							continue
						}
						hovered++
						tip := a.hoverTip.tip
						card := a.panels[a.hoverPanel].card
						if tip.W == 0 {
							t.Fatalf("%v: no tip for point %d", win, a.hoverPoint)
						}
						if tip.W <= card.W-8*win.s && tip.H <= card.H-8*win.s && !within(tip, card) {
							t.Fatalf("%v: the tip %v leaves the panel %v", win, tip, card)
						}
						if !within(tip, Rect{0, 0, sc.W, sc.H}) {
							t.Fatalf("%v: the tip %v leaves the window", win, tip)
						}
						if overlaps(tip, pointerBox(a.mouseX, a.mouseY, 4)) {
							t.Fatalf("%v: the tip %v covers the pointer (%g, %g)", win, tip, a.mouseX, a.mouseY)
						}
						if u := a.NextThumb(); u != "" {
							a.ThumbLoaded(u, small, nil, t0)
						}
					}
				}
			}
		}
		if hovered < 2*testN {
			t.Errorf("%v: only %d hovers found a point", win, hovered)
		}
		if a.Scene(win.w*win.s, win.h*win.s, win.s, t0); a.hoverTip.image != ThumbShown {
			t.Errorf("%v: the picture is %q", win, a.hoverTip.image)
		}
	}
}

func within(r, outer Rect) bool {
	return r.X >= outer.X && r.Y >= outer.Y && r.Right() <= outer.Right() && r.Bottom() <= outer.Bottom()
}

// TestHoverNoProbe: a server that names no probe set (an older one) still
// gets the labels, with no picture and nothing fetched.
func TestHoverNoProbe(t *testing.T) {
	a := connected(t, "", nRuns(2)...)
	a.Scene(1280, 720, 1, t0)
	sc := hover(t, a, a.panels[0].online, 3, t0)
	if !sceneHas(sc, "shape: cross") || sceneHas(sc, "loading…") || len(sceneImages(sc)) != 0 {
		t.Error("without a probe set the tip should show the labels only")
	}
	if u := a.NextThumb(); u != "" {
		t.Errorf("fetching %q from a server without images", u)
	}
	if d := a.Debug(); d.Hover == nil || d.Hover.Image != ThumbNone {
		t.Errorf("hover %+v", d.Hover)
	}
}
