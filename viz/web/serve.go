package web

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServeHTTP serves the bundle: / (index.html), /wasm_exec.js and
// /byol-lab.wasm, gzip-compressed when the client accepts it, with ETags so
// that a reload revalidates instead of downloading 4 MB again. Other paths
// are 404: the server mounts the bundle at / beside its own /ws.
func (b *Bundle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = IndexFile
	}
	f := b.files[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag changes with every build
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Uncompressed-Length", strconv.Itoa(len(f.raw)))
	body, etag := f.raw, f.etag
	if len(f.gz) > 0 && AcceptsGzip(r.Header.Values("Accept-Encoding")) {
		body, etag = f.gz, f.etag+"-gz"
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, f.name, f.mod, bytes.NewReader(body))
}

// AcceptsGzip reports whether Accept-Encoding values allow gzip: named
// (or x-gzip, or *) with a q-value above 0, and not refused by name.
func AcceptsGzip(values []string) bool {
	named, star := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			enc = strings.ToLower(strings.TrimSpace(enc))
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			switch enc {
			case "gzip", "x-gzip":
				named = max(named, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if named >= 0 {
		return named > 0
	}
	return star > 0
}

// Frontend is a bundle being built in the background: a server can listen
// (and train) at once while the first build runs. Until the bundle is
// ready, / answers with a page that says so and reloads itself; if the
// build failed, with the error.
type Frontend struct {
	done   chan struct{}
	once   sync.Once
	bundle *Bundle
	err    error
	start  time.Time
}

// Start builds the bundle in the background (see Build).
func Start(ctx context.Context, opt Options) *Frontend {
	f := &Frontend{done: make(chan struct{}), start: time.Now()}
	go func() {
		b, err := Build(ctx, opt)
		f.bundle, f.err = b, err
		close(f.done)
	}()
	return f
}

// Wait blocks until the build is done and returns its result.
func (f *Frontend) Wait(ctx context.Context) (*Bundle, error) {
	select {
	case <-f.done:
		return f.bundle, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ServeHTTP implements http.Handler.
func (f *Frontend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-f.done:
		if f.err == nil {
			f.bundle.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, page, "", "The browser frontend could not be built",
			"<pre>"+html.EscapeString(f.err.Error())+"</pre><p>Fix the problem and restart the server.</p>")
		return
	default:
	}
	if p := r.URL.Path; p != "/" && p != "/"+IndexFile {
		w.Header().Set("Retry-After", "2")
		http.Error(w, "the frontend is still being built", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, page, `<meta http-equiv="refresh" content="2">`, "Building the browser frontend…",
		fmt.Sprintf("<p>The first start compiles it with Go (GOOS=js GOARCH=wasm): about half a minute. "+
			"This page reloads by itself (%.0f s so far).</p>", time.Since(f.start).Seconds()))
}

const page = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">%s<title>byol-lab</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:3em auto;max-width:46em;color:#1f2329}pre{white-space:pre-wrap;background:#f3f4f6;padding:1em}</style>
</head><body><h1>byol-lab</h1><h2>%s</h2>%s</body></html>`
