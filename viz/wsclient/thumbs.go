//go:build js

package wsclient

import (
	"fmt"
	"time"

	"syscall/js"

	"github.com/byol-lab/byol-lab/viz/ui"
)

// Thumbs fetches the probe images the App's tooltip asks for, with the
// browser's fetch from the page's own server (the paths the protocol names
// are relative to it), and hands the PNG bytes back to the App, which
// decodes them. The browser's HTTP cache keeps them too: their URLs name
// their content.
type Thumbs struct {
	app *ui.App
}

// NewThumbs returns a fetcher for app; call Poll once per frame.
func NewThumbs(app *ui.App) *Thumbs { return &Thumbs{app: app} }

// Poll starts the fetches the App wants now.
func (t *Thumbs) Poll() {
	for {
		url := t.app.NextThumb()
		if url == "" {
			return
		}
		t.fetch(url)
	}
}

func (t *Thumbs) fetch(url string) {
	var onResp, onBody, onErr js.Func
	release := func() {
		onResp.Release()
		onBody.Release()
		onErr.Release()
	}
	done := func(b []byte, err error) {
		release()
		t.app.ThumbLoaded(url, b, err, time.Now())
	}
	onResp = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resp := args[0]
		if !resp.Get("ok").Bool() {
			done(nil, fmt.Errorf("probe image: HTTP %d", resp.Get("status").Int()))
			return nil
		}
		resp.Call("arrayBuffer").Call("then", onBody, onErr)
		return nil
	})
	onBody = js.FuncOf(func(_ js.Value, args []js.Value) any {
		arr := js.Global().Get("Uint8Array").New(args[0])
		b := make([]byte, arr.Get("length").Int())
		js.CopyBytesToGo(b, arr)
		done(b, nil)
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "network error"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		done(nil, fmt.Errorf("probe image: %s", msg))
		return nil
	})
	js.Global().Call("fetch", url).Call("then", onResp, onErr)
}
