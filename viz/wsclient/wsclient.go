//go:build js

// Package wsclient connects the frontend to the lab's websocket through the
// browser's WebSocket (syscall/js): gorilla/websocket does not build for
// js/wasm, and the browser's own is a few kilobytes. It feeds every message
// to a ui.App from the socket's callbacks, which keep running in a
// background tab where ebiten stops drawing, and reconnects with back-off
// (ui.DefaultBackoff) until the page is closed, so the view survives a
// server restart. Thumbs fetches the probe images the tooltip shows, over
// plain HTTP from the same server.
package wsclient

import (
	"errors"
	"math/rand/v2"
	"net/url"
	"time"

	"syscall/js"

	"github.com/byol-lab/byol-lab/viz/proto"
	"github.com/byol-lab/byol-lab/viz/ui"
)

// Client is one websocket with reconnection.
type Client struct {
	url string
	app *ui.App

	ws      js.Value
	open    bool
	fatal   bool
	attempt int
	opened  time.Time
	funcs   []js.Func
}

// URL is the websocket address of the page's own server.
func URL() string {
	loc := js.Global().Get("location")
	scheme := "ws:"
	if loc.Get("protocol").String() == "https:" {
		scheme = "wss:"
	}
	return scheme + "//" + loc.Get("host").String() + proto.WSPath
}

// New returns a client for the websocket at addr feeding app; Start
// connects it.
func New(addr string, app *ui.App) *Client { return &Client{url: addr, app: app} }

// Start opens the first connection.
func (c *Client) Start() { c.connect() }

// Send sends a command if the socket is open (the App refuses to make
// commands while it is not, and says so).
func (c *Client) Send(cmd proto.Command) {
	if !c.open {
		return
	}
	b, err := proto.EncodeCommand(cmd)
	if err != nil {
		js.Global().Get("console").Call("error", "byol-lab: "+err.Error())
		return
	}
	c.ws.Call("send", string(b))
}

func (c *Client) connect() {
	c.app.SetConn(ui.Conn{State: ui.ConnConnecting, Attempt: c.attempt, Since: time.Now()})
	u := c.url
	// The teacher token also goes on the websocket URL, as the server's
	// teacher link has it, so that its hello grants control.
	if tok := c.app.Token(); tok != "" {
		u += "?token=" + url.QueryEscape(tok)
	}
	ws := js.Global().Get("WebSocket").New(u)
	ws.Set("binaryType", "arraybuffer")
	c.ws = ws
	on := func(name string, f func(ev js.Value)) {
		fn := js.FuncOf(func(this js.Value, args []js.Value) any {
			f(args[0])
			return nil
		})
		c.funcs = append(c.funcs, fn)
		ws.Set(name, fn)
	}
	on("onopen", func(js.Value) {
		c.open, c.opened = true, time.Now()
		c.app.SetConn(ui.Conn{State: ui.ConnOpen, Since: time.Now()})
	})
	on("onmessage", func(ev js.Value) {
		data := ev.Get("data")
		now := time.Now()
		if data.Type() == js.TypeString {
			if err := c.app.HandleText([]byte(data.String()), now); errors.Is(err, ui.ErrFatal) {
				c.fatal = true
				ws.Call("close")
			}
			return
		}
		arr := js.Global().Get("Uint8Array").New(data)
		b := make([]byte, arr.Get("length").Int())
		js.CopyBytesToGo(b, arr)
		c.app.HandleBinary(b, now)
	})
	on("onclose", func(ev js.Value) {
		c.open = false
		for _, f := range c.funcs {
			f.Release()
		}
		c.funcs = nil
		if c.fatal {
			return // the App shows why; only a reload helps
		}
		// A connection that lived a while was a success: start the
		// back-off over.
		if !c.opened.IsZero() && time.Since(c.opened) > 10*time.Second {
			c.attempt = 0
		}
		c.opened = time.Time{}
		c.attempt++
		reason := "the server closed it"
		if code := ev.Get("code").Int(); code == 1006 {
			reason = "no answer"
		}
		d := ui.DefaultBackoff.Delay(c.attempt, rand.Float64())
		c.app.SetConn(ui.Conn{State: ui.ConnWaiting, Attempt: c.attempt, RetryAt: time.Now().Add(d), Err: reason, Since: time.Now()})
		time.AfterFunc(d, c.connect)
	})
}
