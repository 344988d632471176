package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		h    []string
		want bool
	}{
		{nil, false},
		{[]string{"gzip, deflate, br"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"GZIP;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false}, // refused by name
		{[]string{"identity"}, false},
		{[]string{"x-gzip"}, true},
	} {
		if got := AcceptsGzip(c.h); got != c.want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", c.h, got, c.want)
		}
	}
}

// fakeBundle writes a bundle's files by hand.
func fakeBundle(t *testing.T) *Bundle {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		IndexFile:    "<!DOCTYPE html><title>byol-lab</title>",
		WasmExecFile: "// wasm_exec.js",
		WasmFile:     strings.Repeat("\x00asm wasm bytes ", 1000),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := gzipFile(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	b := &Bundle{Dir: dir, Key: strings.Repeat("ab", 32)}
	if err := b.load(); err != nil {
		t.Fatal(err)
	}
	return b
}

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func TestServe(t *testing.T) {
	b := fakeBundle(t)
	raw, _ := os.ReadFile(filepath.Join(b.Dir, WasmFile))

	r := get(t, b, "GET", "/byol-lab.wasm", "Accept-Encoding", "gzip, deflate")
	if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("gzip request: %d %v", r.StatusCode, r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !bytes.Equal(body, raw) {
		t.Error("the gzipped body does not decompress to the wasm")
	}
	if r.Header.Get("Vary") != "Accept-Encoding" || r.Header.Get("ETag") == "" || r.Header.Get("X-Uncompressed-Length") == "" {
		t.Errorf("headers: %v", r.Header)
	}

	r = get(t, b, "GET", "/byol-lab.wasm")
	body, _ = io.ReadAll(r.Body)
	if r.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, raw) {
		t.Errorf("without Accept-Encoding the wasm should come raw: %v", r.Header)
	}

	// A reload revalidates: 304 for the same ETag (per encoding).
	etag := get(t, b, "GET", "/byol-lab.wasm", "Accept-Encoding", "gzip").Header.Get("ETag")
	if r := get(t, b, "GET", "/byol-lab.wasm", "Accept-Encoding", "gzip", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	if r := get(t, b, "GET", "/byol-lab.wasm", "If-None-Match", etag); r.StatusCode != 200 {
		t.Errorf("the raw body has another ETag than the gzipped one: %d", r.StatusCode)
	}

	for path, ctype := range map[string]string{"/": "text/html; charset=utf-8", "/index.html": "text/html; charset=utf-8", "/wasm_exec.js": "text/javascript; charset=utf-8"} {
		if r := get(t, b, "GET", path); r.StatusCode != 200 || r.Header.Get("Content-Type") != ctype {
			t.Errorf("%s: %d %q", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	if r := get(t, b, "HEAD", "/"); r.StatusCode != 200 {
		t.Errorf("HEAD: %d", r.StatusCode)
	}
	if r := get(t, b, "POST", "/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.StatusCode)
	}
	for _, p := range []string{"/favicon.ico", "/../go.mod", "/byol-lab.wasm.gz", "/ws"} {
		if r := get(t, b, "GET", p); r.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
}

// module writes a minimal byol-lab module with a wasm program.
func module(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+ModulePath+"\n\ngo 1.26\n")
	write("wasm/main.go", "//go:build js\n\npackage main\n\nfunc main() { println("+body+") }\n")
	write("wasm/index.html", "<!DOCTYPE html><title>test</title>")
	return dir
}

func needGo(t *testing.T) {
	if _, err := findGo(""); err != nil {
		t.Skip(err)
	}
}

func TestBuildCachesAndRebuilds(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	src, cache := module(t, `"one"`), t.TempDir()
	opt := Options{Source: src, CacheDir: cache, Logf: t.Logf}
	b1, err := Build(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	raw, gz := b1.WasmSize()
	if !b1.Built || raw == 0 || gz == 0 || gz >= raw {
		t.Fatalf("first build: built %v, %d raw, %d gzipped", b1.Built, raw, gz)
	}
	if r := get(t, b1, "GET", "/wasm_exec.js"); r.StatusCode != 200 {
		t.Errorf("wasm_exec.js from GOROOT not served: %d", r.StatusCode)
	}
	b2, err := Build(ctx, opt)
	if err != nil || b2.Built || b2.Dir != b1.Dir {
		t.Fatalf("unchanged sources should come from the cache: built %v, dir %s vs %s, %v", b2.Built, b2.Dir, b1.Dir, err)
	}
	// An edit rebuilds, into another directory.
	if err := os.WriteFile(filepath.Join(src, "wasm", "main.go"), []byte("//go:build js\n\npackage main\n\nfunc main() { println(\"two\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b3, err := Build(ctx, opt)
	if err != nil || !b3.Built || b3.Dir == b1.Dir {
		t.Fatalf("an edited source should rebuild: built %v, same dir %v, %v", b3.Built, b3.Dir == b1.Dir, err)
	}
	// So does an edit of the page.
	os.WriteFile(filepath.Join(src, "wasm", "index.html"), []byte("<!DOCTYPE html><title>changed</title>"), 0o644)
	b4, err := Build(ctx, opt)
	if err != nil || !b4.Built {
		t.Fatalf("an edited index.html should rebuild: %v %v", b4 != nil && b4.Built, err)
	}
	if r := get(t, b4, "GET", "/"); r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	} else if body, _ := io.ReadAll(r.Body); !strings.Contains(string(body), "changed") {
		t.Errorf("served %q", body)
	}
	// Nothing lands in the source tree.
	entries, _ := os.ReadDir(filepath.Join(src, "wasm"))
	if len(entries) != 2 {
		t.Errorf("the build wrote into the sources: %v", entries)
	}
}

func TestConcurrentBuilds(t *testing.T) {
	needGo(t)
	src, cache := module(t, `"concurrent"`), t.TempDir()
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := Build(context.Background(), Options{Source: src, CacheDir: cache})
			errs[i] = err
			if b != nil {
				dirs[i] = b.Dir
			}
		}()
	}
	wg.Wait()
	for i := range 4 {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Errorf("build %d: %v, dir %s vs %s", i, errs[i], dirs[i], dirs[0])
		}
	}
	// Another process that finished the same bundle first: the rename
	// fails, the bundle is there, build succeeds.
	env, err := goEnv(context.Background(), "go", src)
	if err != nil {
		t.Fatal(err)
	}
	if err := build(context.Background(), "go", src, env, cache, dirs[0]); err != nil {
		t.Errorf("building over a finished bundle: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(cache, "*.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary directories left behind: %v", left)
	}
}

func TestBuildErrors(t *testing.T) {
	_, err := Build(context.Background(), Options{Go: "no-such-go-command-here", Source: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "https://go.dev/dl/") {
		t.Errorf("missing go: %v", err)
	}
	needGo(t)
	_, err = Build(context.Background(), Options{Source: t.TempDir(), CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not the root") {
		t.Errorf("not a source tree: %v", err)
	}
	src := module(t, `undefined_name`)
	_, err = Build(context.Background(), Options{Source: src, CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Errorf("a compile error should be reported with the compiler's message: %v", err)
	}
}

func TestFindSourceFromWorkingDirectory(t *testing.T) {
	// The tests run in viz/web of this repository: the module root is two
	// levels up.
	src, err := findSource("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "wasm", "main.go")); err != nil {
		t.Errorf("found %s: %v", src, err)
	}
}

func TestFrontendWhileBuilding(t *testing.T) {
	needGo(t)
	f := Start(context.Background(), Options{Source: module(t, `"bg"`), CacheDir: t.TempDir()})
	// Until the build is done: a page that reloads itself, and 503 for the
	// rest (the build of a tiny program may already be done: both are fine).
	r := get(t, f, "GET", "/")
	if r.StatusCode == http.StatusServiceUnavailable {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `http-equiv="refresh"`) {
			t.Errorf("building page: %s", body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r := get(t, f, "GET", "/byol-lab.wasm", "Accept-Encoding", "gzip"); r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("after the build: %d %v", r.StatusCode, r.Header)
	}

	bad := Start(context.Background(), Options{Go: "no-such-go-command-here"})
	bad.Wait(context.Background())
	r = get(t, bad, "GET", "/")
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 500 || !strings.Contains(string(body), "go.dev/dl") {
		t.Errorf("a failed build should say why on the page: %d %s", r.StatusCode, body)
	}
}
