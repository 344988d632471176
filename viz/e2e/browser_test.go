//go:build !js

// Package e2e tests the browser frontend end to end: the frontend built by
// viz/web, served beside a lab websocket, driven in headless Chromium
// (Debian's /usr/bin/chromium through chromedp), judged from screenshots.
//
// The test needs chromium; without it, it skips with a message, except
// under BYOL_LAB_CI=1, where it fails. Screenshots are written to
// $BYOL_LAB_ARTIFACTS when set (kept), else to the test's temporary
// directory.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/byol-lab/byol-lab/viz/proto"
	"github.com/byol-lab/byol-lab/viz/ui"
	"github.com/byol-lab/byol-lab/viz/web"
)

// The viewport: a small laptop's, because Chromium renders WebGL in
// software here (SwiftShader, a few frames per second).
const winW, winH = 1280, 720

func findChromium(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("BYOL_LAB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "no Chromium found (tried $BYOL_LAB_CHROMIUM, chromium, chromium-browser, google-chrome): " +
		"install it with `apt-get install -y chromium` to run the browser test"
	if os.Getenv("BYOL_LAB_CI") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("BYOL_LAB_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab on the page, with its console.
type browser struct {
	t       *testing.T
	dpr     float64
	ctx     context.Context
	mu      sync.Mutex
	console []string
	dir     string
}

func (b *browser) consoleText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.console, "\n")
}

// checkConsole fails on what ebiten prints when it cannot run.
func (b *browser) checkConsole() {
	b.t.Helper()
	c := b.consoleText()
	for _, bad := range []string{"getContext for webgl2 failed", "exit code", "panic:", "fatal error"} {
		if strings.Contains(c, bad) {
			b.t.Fatalf("the page logged %q:\n%s", bad, c)
		}
	}
}

func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v\nconsole:\n%s", expr, err, b.consoleText())
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.t.Fatalf("evaluate %s: %v (%s)", expr, err, raw)
	}
}

func (b *browser) state() ui.Debug {
	b.t.Helper()
	var s string
	b.eval(`window.byolLab && window.byolLab.state ? window.byolLab.state() : "{}"`, &s)
	var d ui.Debug
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		b.t.Fatalf("state: %v", err)
	}
	return d
}

// waitState polls the page's state until ok holds.
func (b *browser) waitState(what string, timeout time.Duration, ok func(ui.Debug) bool) ui.Debug {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.checkConsole()
		s := b.state()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			js, _ := json.MarshalIndent(s, "", " ")
			b.t.Fatalf("timed out after %v waiting for %s; state:\n%s\nconsole:\n%s", timeout, what, js, b.consoleText())
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// frames waits for n more frames to be drawn, so the screen shows the state
// just read.
func (b *browser) frames(n int) {
	b.t.Helper()
	f0 := b.state().Frames
	b.waitState(fmt.Sprintf("%d more frames", n), 30*time.Second, func(d ui.Debug) bool { return d.Frames >= f0+n })
}

func (b *browser) screenshot(name string) image.Image {
	b.t.Helper()
	data, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	return img
}

// click holds the left button over (x, y) for longer than a frame: ebiten
// samples the button once per frame, and a press and release inside one
// frame would be lost.
func (b *browser) click(x, y float64) {
	b.t.Helper()
	err := chromedp.Do(b.ctx,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.Sleep(400*time.Millisecond),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	)
	if err != nil {
		b.t.Fatalf("click: %v", err)
	}
}

func widget(d ui.Debug, id string) (ui.DebugWidget, bool) {
	for _, w := range d.Widgets {
		if w.ID == id {
			return w, true
		}
	}
	return ui.DebugWidget{}, false
}

func centre(w ui.DebugWidget) (float64, float64) {
	return w.Rect[0] + w.Rect[2]/2, w.Rect[1] + w.Rect[3]/2
}

// frontend builds the frontend (or takes it from the cache).
func frontend(t *testing.T, ctx context.Context) *web.Bundle {
	t.Helper()
	start := time.Now()
	bundle, err := web.Build(ctx, web.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	raw, gz := bundle.WasmSize()
	t.Logf("frontend: %s (built now: %v, %.1f s); byol-lab.wasm %.2f MB raw, %.2f MB gzipped",
		bundle.Dir, bundle.Built, time.Since(start).Seconds(), float64(raw)/1e6, float64(gz)/1e6)
	return bundle
}

// serve serves the frontend with lab's websocket.
func serve(t *testing.T, ctx context.Context, lab http.Handler) *httptest.Server {
	t.Helper()
	bundle := frontend(t, ctx)
	mux := http.NewServeMux()
	mux.Handle(proto.WSPath, lab)
	mux.Handle("/", bundle)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// open starts headless Chromium on url with a viewport of w×h CSS pixels at
// device scale factor dpr, with the flags that work here (see
// shared/docs/browser.md).
func open(t *testing.T, ctx context.Context, url string, w, h int, dpr float64, dir string) *browser {
	t.Helper()
	chrome := findChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.NoSandbox,
		chromedp.Flag("headless", "new"),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(w, h+200), // the viewport is set below; the window has chrome
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	b := &browser{t: t, ctx: bctx, dir: dir, dpr: dpr}
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser console:\n%s", b.consoleText())
		}
	})
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateScale(dpr)),
		chromedp.Navigate(url)); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	return b
}

// TestBrowser is the end-to-end test of the issue: two panels of scattered
// points in several label colours, and the predictor toggle reaching the
// lab and coming back.
func TestBrowser(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	lab := newFakeLab(t, 0, false)
	srv := serve(t, ctx, lab)
	b := open(t, ctx, srv.URL+"/", winW, winH, 1, artifacts(t))
	bctx := b.ctx

	st := b.waitState("the first frame with snapshots in both panels", 2*time.Minute, func(d ui.Debug) bool {
		return d.Data && len(d.Panels) == 2 && d.Panels[0].Points == fakeN && d.Panels[1].Points == fakeN
	})
	var times struct {
		Loaded float64 `json:"loadedMs"`
		First  float64 `json:"firstFrameMs"`
		Data   float64 `json:"firstDataMs"`
	}
	b.eval(`({loadedMs: byolLab.loadedMs, firstFrameMs: byolLab.firstFrameMs, firstDataMs: byolLab.firstDataMs})`, &times)
	t.Logf("page load → wasm downloaded %.0f ms, first frame %.0f ms, first frame with data %.0f ms (headless, software WebGL)",
		times.Loaded, times.First, times.Data)
	b.frames(8) // let the zoom settle

	// 1. Both panels show scattered points in several label colours.
	img := b.screenshot("1-two-runs.png")
	st = b.state()
	pal := ui.Palette(lab.labels[0].Classes)
	for _, p := range st.Panels {
		n, spread := labelColours(img, p.Plot, pal)
		t.Logf("panel %s: %d label colours, spread %.0f%% of the plot", p.Name, n, 100*spread)
		if n < 4 || spread < 0.2 {
			t.Errorf("panel %s shows %d label colours spread over %.0f%% of the plot, want several colours, scattered", p.Name, n, 100*spread)
		}
	}

	// 2. The predictor toggle sends set {predictor: false} and the panel
	// shows the server's answer.
	w, ok := widget(st, "predictor/byol")
	if !ok || !w.On || !w.Enabled || w.Label != "predictor ON" {
		t.Fatalf("predictor button of BYOL: %+v (found %v), want an enabled \"predictor ON\"", w, ok)
	}
	before := meanColour(img, w.Rect)
	x, y := centre(w)
	b.click(x, y)
	deadline := time.After(20 * time.Second)
wait:
	for {
		select {
		case c := <-lab.commands:
			t.Logf("the lab received %s %s %+v", c.Cmd, c.Run, c.Args.Knobs)
			if c.Cmd == proto.CmdSet && c.Run == "byol" && c.Args.Knobs.Predictor != nil {
				if *c.Args.Knobs.Predictor {
					t.Fatalf("set predictor = true, want false")
				}
				break wait
			}
		case <-deadline:
			t.Fatalf("the lab received no set command for the predictor within 20 s\nconsole:\n%s", b.consoleText())
		}
	}
	st = b.waitState("BYOL's panel showing the predictor off", 20*time.Second, func(d ui.Debug) bool {
		w, _ := widget(d, "predictor/byol")
		return len(d.Panels) > 0 && !d.Panels[0].Predictor && w.Label == "predictor OFF" && !w.On
	})
	// Move the mouse away so the button is not drawn hovered.
	chromedp.Do(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, winH-60))
	b.frames(3)
	img = b.screenshot("2-predictor-off.png")
	after := meanColour(img, w.Rect)
	t.Logf("predictor button colour: before %v, after %v", before, after)
	if !(blueish(before) && !blueish(after)) {
		t.Errorf("the predictor button should turn from blue (on) to grey (off): before %v, after %v", before, after)
	}

	// 3. The label-set switch recolours the points and goes into the URL.
	w, ok = widget(st, "label/colour")
	if !ok {
		t.Fatalf("no label/colour switch among %d widgets", len(st.Widgets))
	}
	x, y = centre(w)
	b.click(x, y)
	st = b.waitState("label=colour in the link", 10*time.Second, func(d ui.Debug) bool { return d.Fragment == "label=colour" })
	var hash string
	b.eval(`location.hash`, &hash)
	if hash != "#label=colour" {
		t.Errorf("location.hash = %q, want #label=colour", hash)
	}
	b.frames(3)
	img = b.screenshot("3-colour-labels.png")
	for _, p := range st.Panels {
		if n, _ := labelColours(img, p.Plot, ui.Palette(lab.labels[1].Classes)); n < 4 {
			t.Errorf("panel %s: %d colour-label colours after the switch, want several", p.Name, n)
		}
	}

	// 4. A server restart: the page says so, reconnects, and keeps the view.
	lab.restart(1500 * time.Millisecond)
	b.waitState("the page to notice the lost connection", 15*time.Second, func(d ui.Debug) bool { return d.Conn != "open" })
	b.screenshot("4-reconnecting.png")
	st = b.waitState("the reconnection", 30*time.Second, func(d ui.Debug) bool {
		return d.Conn == "open" && len(d.Panels) == 2 && d.Panels[0].Points == fakeN
	})
	if st.Fragment != "label=colour" {
		t.Errorf("after the restart the view is %q, want label=colour kept", st.Fragment)
	}

	// 5. Collapse: the no-predictor run's badge, and the help overlay.
	lab.mu.Lock()
	lab.shrink["no-pred"] = 0.05
	lab.mu.Unlock()
	b.waitState("the COLLAPSED badge", 15*time.Second, func(d ui.Debug) bool {
		return len(d.Panels) == 2 && d.Panels[1].Collapsed
	})
	b.frames(6)
	b.screenshot("5-collapsed.png")
	if err := chromedp.Do(bctx, chromedp.KeyEvent("?")); err != nil {
		t.Fatal(err)
	}
	b.waitState("the help overlay", 10*time.Second, func(d ui.Debug) bool { return d.Help })
	b.frames(2)
	b.screenshot("6-help.png")
	b.checkConsole()
}

// labelColours counts the label colours with at least 12 pixels inside the
// plot rectangle (CSS pixels = screenshot pixels at scale 1) and how far
// the coloured pixels spread, as a fraction of the plot's side.
func labelColours(img image.Image, plot [4]float64, pal []color.RGBA) (int, float64) {
	bg := color.RGBA{0xfb, 0xfb, 0xfc, 0xff}
	want := make([][3]float64, len(pal))
	for i, c := range pal {
		// points are drawn at alpha 0.85 over the plot background
		want[i] = [3]float64{0.85*float64(c.R) + 0.15*float64(bg.R), 0.85*float64(c.G) + 0.15*float64(bg.G), 0.85*float64(c.B) + 0.15*float64(bg.B)}
	}
	counts := make([]int, len(pal))
	x0, y0, x1, y1 := int(plot[0])+2, int(plot[1])+2, int(plot[0]+plot[2])-2, int(plot[1]+plot[3])-2
	minX, minY, maxX, maxY := x1, y1, x0, y0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			p := [3]float64{float64(r >> 8), float64(g >> 8), float64(b >> 8)}
			for i, w := range want {
				if max(abs(p[0]-w[0]), abs(p[1]-w[1]), abs(p[2]-w[2])) <= 14 {
					counts[i]++
					minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
					break
				}
			}
		}
	}
	n := 0
	for _, c := range counts {
		if c >= 12 {
			n++
		}
	}
	if maxX < minX {
		return n, 0
	}
	return n, min(float64(maxX-minX), float64(maxY-minY)) / plot[2]
}

func meanColour(img image.Image, r [4]float64) color.RGBA {
	var sr, sg, sb, n float64
	for y := int(r[1]) + 3; y < int(r[1]+r[3])-3; y++ {
		for x := int(r[0]) + 3; x < int(r[0]+r[2])-3; x++ {
			c, g, b, _ := img.At(x, y).RGBA()
			sr, sg, sb, n = sr+float64(c>>8), sg+float64(g>>8), sb+float64(b>>8), n+1
		}
	}
	if n == 0 {
		return color.RGBA{}
	}
	return color.RGBA{uint8(sr / n), uint8(sg / n), uint8(sb / n), 0xff}
}

// blueish: the accent blue of a toggle that is on (text included).
func blueish(c color.RGBA) bool { return int(c.B)-int(c.R) > 80 }

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestBrowserLayouts opens the page at other sizes: four runs on a wide
// screen (2×2 or side by side), a small HiDPI window in read-only mode with
// view options from the link, and a narrow portrait window. Each must draw
// every panel with its points, without errors; the screenshots are there to
// be looked at.
func TestBrowserLayouts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the layout screenshots take a minute of software rendering")
	}
	findChromium(t)
	cases := []struct {
		name     string
		extra    int
		readOnly bool
		w, h     int
		dpr      float64
		fragment string
		panels   int // that fit
	}{
		{"four-runs", 2, false, 1600, 900, 1, "", 4},
		{"hidpi-read-only", 0, true, 1000, 640, 2, "#links=1&cloud=pred&label=colour", 2},
		{"narrow", 1, false, 560, 900, 1, "#zoom=panel", 2}, // three runs, room for two
	}
	dir := artifacts(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			lab := newFakeLab(t, c.extra, c.readOnly)
			srv := serve(t, ctx, lab)
			b := open(t, ctx, srv.URL+"/"+c.fragment, c.w, c.h, c.dpr, dir)
			want := c.panels
			b.waitState(fmt.Sprintf("%d panels with points", want), 2*time.Minute, func(d ui.Debug) bool {
				if len(d.Panels) != want {
					return false
				}
				for _, p := range d.Panels {
					if p.Points != fakeN {
						return false
					}
				}
				return true
			})
			b.frames(6)
			img := b.screenshot("layout-" + c.name + ".png")
			st := b.state()
			if got := img.Bounds().Dx(); got != int(float64(c.w)*c.dpr) {
				t.Errorf("screenshot is %d px wide, want %d (window %d × device scale %g)", got, int(float64(c.w)*c.dpr), c.w, c.dpr)
			}
			lset := lab.labels[0]
			if strings.Contains(c.fragment, "label=colour") {
				lset = lab.labels[1]
			}
			for _, p := range st.Panels {
				plot := p.Plot
				for i := range plot {
					plot[i] *= c.dpr
				}
				if n, spread := labelColours(img, plot, ui.Palette(lset.Classes)); n < 4 || spread < 0.2 {
					t.Errorf("panel %s: %d label colours over %.0f%% of the plot, want several, scattered", p.Name, n, 100*spread)
				}
			}
			w, ok := widget(st, "predictor/byol")
			if !ok || w.Enabled == c.readOnly {
				t.Errorf("predictor button %+v (found %v): enabled should be %v", w, ok, !c.readOnly)
			}
			if c.fragment != "" && "#"+st.Fragment != c.fragment {
				// The link's view is kept, written back in a canonical order.
				if want := ui.ParseView(c.fragment).Encode(); st.Fragment != want {
					t.Errorf("view %q, want the link's %q", st.Fragment, want)
				}
			}
			b.checkConsole()
		})
	}
}
