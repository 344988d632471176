//go:build js

// Command wasm is the byol-lab browser frontend, built with
// GOOS=js GOARCH=wasm and served with index.html and wasm_exec.js by
// package viz/web. It wires the pieces together: the page URL into a
// ui.App, the websocket client into it, and ebiten around it.
//
// For tests and the curious, it exposes window.byolLab: frames (frames
// drawn), firstFrameMs and firstDataMs (performance.now() at the first
// frame, and at the first frame that showed a snapshot), and state(), a
// JSON summary of what is on screen (ui.Debug).
package main

import (
	"encoding/json"
	"net/url"
	"strings"

	"syscall/js"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/byol-lab/byol-lab/viz/draw"
	"github.com/byol-lab/byol-lab/viz/ui"
	"github.com/byol-lab/byol-lab/viz/wsclient"
)

const tokenKey = "byol-lab-token"

func main() {
	win := js.Global()
	page := win.Get("byolLab")
	if page.IsUndefined() {
		page = js.Global().Get("Object").New()
		win.Set("byolLab", page)
	}
	fail := func(msg string) {
		page.Set("error", msg)
		if f := page.Get("showError"); f.Type() == js.TypeFunction {
			f.Invoke(msg)
		}
	}

	loc := win.Get("location")
	app := ui.NewApp(loc.Get("hash").String())
	// The teacher token (the server prints the teacher's link as
	// /?token=…; #token=… works too) leaves the address bar, so that a
	// link copied from it does not share control, but stays for this tab.
	store := win.Get("sessionStorage")
	if q, err := url.ParseQuery(strings.TrimPrefix(loc.Get("search").String(), "?")); err == nil && q.Get("token") != "" {
		app.SetToken(q.Get("token"))
	}
	if tok := app.Token(); tok != "" {
		store.Call("setItem", tokenKey, tok)
	} else if v := store.Call("getItem", tokenKey); v.Type() == js.TypeString {
		app.SetToken(v.String())
	}

	r, err := draw.NewRenderer()
	if err != nil {
		fail("byol-lab: fonts: " + err.Error())
		return
	}
	app.SetMeasurer(r.Measure)

	ws := wsclient.New(wsclient.URL(), app)
	ws.Start()
	thumbs := wsclient.NewThumbs(app)

	perf := win.Get("performance")
	history := win.Get("history")
	written := "\x00" // rewrite the address on the first frame (drops ?token=)
	var frames int
	first, firstData := false, false
	game := &draw.Game{App: app, Renderer: r, Send: ws.Send}
	game.AfterDraw = func(sc *ui.Scene) {
		thumbs.Poll() // the picture the tooltip just asked for
		frames++
		page.Set("frames", frames)
		if !first {
			first = true
			page.Set("firstFrameMs", perf.Call("now").Float())
			if f := page.Get("hideLoading"); f.Type() == js.TypeFunction {
				f.Invoke()
			}
		}
		if sc.Data && !firstData {
			firstData = true
			page.Set("firstDataMs", perf.Call("now").Float())
		}
		// Keep the link in the address bar in step with the view, without
		// adding history entries.
		if frag := app.Fragment(); frag != written {
			written = frag
			// The path without the query: it held at most the token.
			u := loc.Get("pathname").String()
			if frag != "" {
				u += "#" + frag
			}
			history.Call("replaceState", nil, "", u)
		}
	}
	win.Call("addEventListener", "hashchange", js.FuncOf(func(js.Value, []js.Value) any {
		h := loc.Get("hash").String()
		app.SetFragment(h)
		if tok := app.Token(); tok != "" {
			store.Call("setItem", tokenKey, tok)
		}
		written = "" // rewrite without the token
		return nil
	}))
	page.Set("state", js.FuncOf(func(js.Value, []js.Value) any {
		b, _ := json.Marshal(app.Debug())
		return string(b)
	}))
	page.Set("startedMs", perf.Call("now").Float())

	ebiten.SetTPS(ebiten.SyncWithFPS) // one Update per frame: no physics here
	ebiten.SetRunnableOnUnfocused(true)
	ebiten.SetWindowTitle("byol-lab")
	if err := ebiten.RunGame(game); err != nil {
		fail("byol-lab stopped: " + err.Error())
	}
}
