// Package ui is the browser frontend of byol-lab without the browser: what
// the server said (runs, metrics, snapshots, events), what the user chose
// (the view, kept in the URL), and what the screen shows, as plain Go.
//
// The frontend is split the way the ebiten examples keep a simulation apart
// from its drawing. [App] holds the state; websocket callbacks feed it
// decoded messages ([App.HandleText], [App.HandleBinary]); every frame
// [App.Update] turns an [Input] (mouse, keys) into protocol commands and
// [App.Scene] turns the state into a [Scene]: a list of rectangles, lines,
// dots and text in device pixels, plus the clickable [Widget]s. Package
// viz/draw renders a Scene with ebiten and reads input; package viz/wsclient
// owns the browser's WebSocket. Neither holds state of its own, so
// everything a student sees and every command a click sends is tested here,
// natively, without a browser.
//
// Units: a Scene is laid out in device pixels for a window of W×H device
// pixels and a device scale factor S (CSS pixel → device pixels), so text
// and lines stay sharp on HiDPI screens; sizes below are in CSS pixels and
// multiplied by S.
package ui
