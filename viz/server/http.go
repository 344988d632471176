package server

import (
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"strconv"

	"github.com/gorilla/websocket"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// handler routes the server's paths behind the host check and a panic
// guard.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(proto.WSPath, s.serveWS)
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc(proto.ProbePath, s.serveProbe)
	if s.opt.Frontend != nil {
		mux.Handle("/", s.opt.Frontend)
	} else {
		mux.HandleFunc("/", s.serveStatus)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) // net/http's own way to abort a response; it recovers it
				}
				s.logf("%s %s: panic: %v", r.Method, r.URL.Path, p)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		if !s.access.hostOK(r) {
			http.Error(w, "this lab listens on loopback only: open it at http://localhost or http://127.0.0.1", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveWS upgrades to the websocket and serves the client until it goes.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if n := s.conns.Add(1); n > int64(s.opt.MaxClients) {
		s.conns.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "the lab has as many viewers as it takes ("+strconv.Itoa(s.opt.MaxClients)+")", http.StatusServiceUnavailable)
		return
	}
	defer s.conns.Add(-1)
	control := s.opt.Token == "" || s.opt.OpenControls || tokenOK(s.opt.Token, r.URL.Query().Get("token"))
	hj := &hijacker{ResponseWriter: w}
	conn, err := s.upgrader.Upgrade(hj, r, nil) // checks the origin; writes the error itself
	if err != nil {
		s.logf("%s: websocket upgrade: %v", r.RemoteAddr, err)
		return
	}
	if tc, ok := hj.conn.Conn.(*net.TCPConn); ok && s.opt.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(s.opt.SendBuffer)
	}
	c := newClient(s, conn, hj.conn, r.RemoteAddr, control)
	if !s.hub.add(c) {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "the server is shutting down"), timeSoon())
		_ = conn.Close()
		return
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	defer func() {
		c.stop(websocket.CloseNormalClosure, "")
		<-writerDone
		_ = conn.Close()
		s.hub.remove(c)
	}()
	c.readLoop()
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	runs := s.lab.Runs()
	running := 0
	for _, r := range runs {
		if r.State == lab.Running {
			running++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ok": true, "runs": len(runs), "running": running, "clients": s.Clients(),
	})
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<title>byol-lab server</title>
<style>body{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:48em}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
code{background:#f3f3f3;padding:0 .2em}</style></head>
<body>
<h1>byol-lab server</h1>
<p><strong>This server runs without the browser frontend.</strong>
This page only shows the status of the lab; it refreshes every 2 seconds.
The lab itself is running and streams to websocket clients at <code>{{.WS}}</code>
(protocol version {{.Version}}, documented in <code>viz/proto/README.md</code>).</p>
<p>{{len .Runs}} run(s){{if .Preset}}, preset <code>{{.Preset}}</code>{{end}}; {{.Clients}} websocket client(s) connected.</p>
{{if .Runs}}<table><tr><th>id</th><th>name</th><th>state</th><th>step</th><th>loss</th><th>predictor</th><th>batch</th><th>lr</th></tr>
{{range .Runs}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.State}}</td><td>{{.Step}}</td><td>{{printf "%.4f" .Loss}}</td><td>{{if .Knobs.Predictor}}on{{else}}off{{end}}</td><td>{{.Knobs.Batch}}</td><td>{{.Knobs.LR}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

// serveStatus is / when the binary has no frontend: an honest page.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = statusPage.Execute(w, map[string]any{
		"WS": proto.WSPath, "Version": proto.Version, "Runs": s.lab.Runs(),
		"Preset": s.presetName(), "Clients": s.Clients(),
	})
}
