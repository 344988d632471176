// Package web builds the browser frontend (the js/wasm program in ./wasm)
// with the local Go toolchain and serves it: index.html, wasm_exec.js from
// the same Go, and byol-lab.wasm, gzip-compressed once and sent compressed to
// every browser that accepts it.
//
// The README's run command has to work on a fresh clone with only Go
// installed, and the .wasm is a build output that is never committed, so the
// server builds it on first start. Builds are cached under
// os.UserCacheDir()/byol-lab/frontend, one directory per hash of everything
// that goes into the binary (the sources of every package ./wasm imports
// from this module, the versions of the others, index.html, the Go version
// and build settings): a restart with unchanged sources serves the cached
// bundle at once, an edit rebuilds (a second or two with a warm Go build
// cache; 20–40 s the very first time). A bundle is built in a temporary
// directory and renamed into place, so servers starting at the same time
// never see half a bundle.
package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// ModulePath is the module whose ./wasm is built.
const ModulePath = "github.com/byol-lab/byol-lab"

// recipe names how a bundle is made; changing the build below changes it,
// and with it every cache key.
const recipe = "v1 GOOS=js GOARCH=wasm CGO_ENABLED=0 go build -trimpath -ldflags=-s -w ./wasm"

// Bundle file names, as served.
const (
	IndexFile    = "index.html"
	WasmExecFile = "wasm_exec.js"
	WasmFile     = "byol-lab.wasm"
)

// Options configure Build. Zero values take the defaults given.
type Options struct {
	// Source is the module root holding go.mod and wasm/ (default: from
	// $BYOL_LAB_SRC, else the working directory or a parent of it that is
	// the byol-lab module, else the directory this package was compiled
	// from).
	Source string
	// CacheDir holds one directory per built bundle (default:
	// os.UserCacheDir()/byol-lab/frontend, else under os.TempDir()).
	CacheDir string
	// Go is the go command (default: "go" found on PATH).
	Go string
	// Logf receives progress messages (nil: none).
	Logf func(format string, args ...any)
}

// Bundle is a built frontend, held in memory and served by ServeHTTP.
type Bundle struct {
	// Dir is the cache directory the bundle was read from; Key the hash of
	// its inputs.
	Dir, Key string
	// Built is true when this call built it, false when it came from the
	// cache; BuildTime is how long the build took.
	Built     bool
	BuildTime time.Duration

	files map[string]*file
}

type file struct {
	name, ctype string
	raw, gz     []byte
	etag        string
	mod         time.Time
}

// WasmSize returns the size of byol-lab.wasm, raw and gzip-compressed.
func (b *Bundle) WasmSize() (raw, gz int) {
	f := b.files[WasmFile]
	return len(f.raw), len(f.gz)
}

// buildMu serialises builds within the process; the rename in build keeps
// processes apart.
var buildMu sync.Mutex

// Build returns the frontend bundle for the sources, building it if the
// cache does not have it. It fails with a clear message when the go
// command or the sources cannot be found, or the build fails.
func Build(ctx context.Context, opt Options) (*Bundle, error) {
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	goCmd, err := findGo(opt.Go)
	if err != nil {
		return nil, err
	}
	src, err := findSource(opt.Source)
	if err != nil {
		return nil, err
	}
	cache, err := cacheDir(opt.CacheDir)
	if err != nil {
		return nil, err
	}
	env, err := goEnv(ctx, goCmd, src)
	if err != nil {
		return nil, err
	}
	key, err := sourceKey(ctx, goCmd, src, env)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, key[:20])

	buildMu.Lock()
	defer buildMu.Unlock()
	b := &Bundle{Dir: dir, Key: key}
	if _, err := os.Stat(filepath.Join(dir, WasmFile+".gz")); err != nil {
		logf("web: building the frontend (GOOS=js GOARCH=wasm go build ./wasm) into %s", dir)
		start := time.Now()
		if err := build(ctx, goCmd, src, env, cache, dir); err != nil {
			return nil, err
		}
		b.Built, b.BuildTime = true, time.Since(start)
		logf("web: frontend built in %.1f s", b.BuildTime.Seconds())
		prune(cache, dir, logf)
	}
	if err := b.load(); err != nil {
		return nil, fmt.Errorf("web: reading the built frontend in %s: %w (delete that directory to rebuild)", dir, err)
	}
	return b, nil
}

func findGo(name string) (string, error) {
	if name == "" {
		name = "go"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("web: the browser frontend is built with the Go toolchain when the server starts, "+
			"but %q was not found (%v): install Go 1.26 or newer from https://go.dev/dl/ and put its bin directory on PATH", name, err)
	}
	return p, nil
}

// findSource locates the module root.
func findSource(dir string) (string, error) {
	try := func(d string) (string, bool) {
		for ; d != "" && d != filepath.Dir(d); d = filepath.Dir(d) {
			if isModuleRoot(d) {
				return d, true
			}
		}
		return "", false
	}
	if dir != "" {
		if !isModuleRoot(dir) {
			return "", fmt.Errorf("web: %s is not the root of %s (it needs go.mod and wasm/main.go)", dir, ModulePath)
		}
		return filepath.Abs(dir)
	}
	if env := os.Getenv("BYOL_LAB_SRC"); env != "" {
		if !isModuleRoot(env) {
			return "", fmt.Errorf("web: BYOL_LAB_SRC=%s is not the root of %s (it needs go.mod and wasm/main.go)", env, ModulePath)
		}
		return filepath.Abs(env)
	}
	if wd, err := os.Getwd(); err == nil {
		if d, ok := try(wd); ok {
			return d, nil
		}
	}
	// A binary built from a checkout remembers where this file was.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if d, ok := try(filepath.Dir(file)); ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("web: cannot find the byol-lab sources to build the browser frontend from: " +
		"start the server inside the repository, or set BYOL_LAB_SRC to its root")
}

func isModuleRoot(d string) bool {
	mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
	if err != nil {
		return false
	}
	if _, err := os.Stat(filepath.Join(d, "wasm", "main.go")); err != nil {
		return false
	}
	for _, l := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == ModulePath
		}
	}
	return false
}

func cacheDir(dir string) (string, error) {
	if dir == "" {
		if c, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(c, "byol-lab", "frontend")
		} else {
			dir = filepath.Join(os.TempDir(), "byol-lab-frontend")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("web: cache directory for the built frontend: %w", err)
	}
	return dir, nil
}

// toolEnv is what the go command reports about itself.
type toolEnv struct {
	goroot, version string
	flags           string // GOFLAGS and GOEXPERIMENT: they change builds
}

func goEnv(ctx context.Context, goCmd, src string) (toolEnv, error) {
	out, err := run(ctx, goCmd, src, nil, "env", "GOROOT", "GOVERSION", "GOFLAGS", "GOEXPERIMENT")
	if err != nil {
		return toolEnv{}, err
	}
	l := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	for len(l) < 4 {
		l = append(l, "")
	}
	return toolEnv{goroot: l[0], version: l[1], flags: l[2] + " " + l[3]}, nil
}

func wasmEnv() []string {
	return []string{"GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0"}
}

func run(ctx context.Context, goCmd, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 4000 {
			msg = "…" + msg[len(msg)-4000:]
		}
		return nil, fmt.Errorf("web: go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// sourceKey hashes everything the bundle is made of.
func sourceKey(ctx context.Context, goCmd, src string, env toolEnv) (string, error) {
	const format = `{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{with .Module}}{{.Path}}@{{.Version}}{{end}}|` +
		`{{range .GoFiles}}{{.}},{{end}}{{range .EmbedFiles}}{{.}},{{end}}{{end}}`
	out, err := run(ctx, goCmd, src, wasmEnv(), "list", "-deps", "-f", format, "./wasm")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", recipe, env.version, env.flags)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 4 {
			return "", fmt.Errorf("web: go list: unexpected line %q", line)
		}
		fmt.Fprintf(h, "pkg %s %s\n", f[0], f[2])
		// A module from the module cache is immutable: its version names
		// its content. The main module (and any replaced by a directory)
		// has no version: hash its files.
		if strings.HasSuffix(f[2], "@") || f[2] == "" {
			for _, name := range strings.Split(strings.TrimSuffix(f[3], ","), ",") {
				if name == "" {
					continue
				}
				if err := hashFile(h, filepath.Join(f[1], name), name); err != nil {
					return "", err
				}
			}
		}
	}
	if err := hashFile(h, filepath.Join(src, "wasm", IndexFile), IndexFile); err != nil {
		return "", err
	}
	wasmExec, err := findWasmExec(env.goroot)
	if err != nil {
		return "", err
	}
	if err := hashFile(h, wasmExec, WasmExecFile); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	fmt.Fprintf(h, "file %s %d\n", name, len(b))
	h.Write(b)
	return nil
}

func findWasmExec(goroot string) (string, error) {
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		f := filepath.Join(goroot, filepath.FromSlash(p))
		if _, err := os.Stat(f); err == nil {
			return f, nil
		}
	}
	return "", fmt.Errorf("web: wasm_exec.js is in neither lib/wasm nor misc/wasm of GOROOT %s: is the Go installation complete?", goroot)
}

// build makes the bundle in a temporary directory and renames it to dir.
func build(ctx context.Context, goCmd, src string, env toolEnv, cache, dir string) error {
	tmp, err := os.MkdirTemp(cache, filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	wasm := filepath.Join(tmp, WasmFile)
	if _, err := run(ctx, goCmd, src, wasmEnv(), "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, "./wasm"); err != nil {
		return err
	}
	wasmExec, err := findWasmExec(env.goroot)
	if err != nil {
		return err
	}
	for _, c := range [][2]string{{wasmExec, WasmExecFile}, {filepath.Join(src, "wasm", IndexFile), IndexFile}} {
		b, err := os.ReadFile(c[0])
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, c[1]), b, 0o644); err != nil {
			return fmt.Errorf("web: %w", err)
		}
	}
	// Compress once, here, rather than per request; the .gz of the wasm
	// is written last and marks the bundle complete.
	for _, name := range []string{IndexFile, WasmExecFile, WasmFile} {
		if err := gzipFile(filepath.Join(tmp, name)); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another server got there first: its bundle is as good as ours.
		if _, serr := os.Stat(filepath.Join(dir, WasmFile+".gz")); serr == nil {
			return nil
		}
		return fmt.Errorf("web: %w", err)
	}
	return nil
}

func gzipFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return fmt.Errorf("web: gzip %s: %w", path, err)
	}
	return os.WriteFile(path+".gz", buf.Bytes(), 0o644)
}

// prune keeps the three newest bundles besides keep, and removes temporary
// directories an interrupted build left more than an hour ago.
func prune(cache, keep string, logf func(string, ...any)) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	type old struct {
		path string
		mod  time.Time
	}
	var bundles []old
	for _, e := range entries {
		p := filepath.Join(cache, e.Name())
		if !e.IsDir() || p == keep {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if strings.Contains(e.Name(), ".tmp-") {
			if time.Since(info.ModTime()) > time.Hour {
				os.RemoveAll(p)
			}
			continue
		}
		bundles = append(bundles, old{p, info.ModTime()})
	}
	slices.SortFunc(bundles, func(a, b old) int { return b.mod.Compare(a.mod) })
	for i, b := range bundles {
		if i >= 3 {
			logf("web: removing the old frontend build %s", b.path)
			os.RemoveAll(b.path)
		}
	}
}

// load reads the bundle's files into memory: about 20 MB, served without
// touching the disk again (so a cleaned cache cannot break a running
// server).
func (b *Bundle) load() error {
	b.files = map[string]*file{}
	for _, name := range []string{IndexFile, WasmExecFile, WasmFile} {
		raw, err := os.ReadFile(filepath.Join(b.Dir, name))
		if err != nil {
			return err
		}
		gz, err := os.ReadFile(filepath.Join(b.Dir, name+".gz"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		info, err := os.Stat(filepath.Join(b.Dir, name))
		if err != nil {
			return err
		}
		b.files[name] = &file{name: name, ctype: contentType(name), raw: raw, gz: gz, etag: b.Key[:16] + "-" + name, mod: info.ModTime()}
	}
	return nil
}

func contentType(name string) string {
	switch filepath.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".wasm":
		return "application/wasm"
	}
	return "application/octet-stream"
}
