package proto

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStdlibOnly keeps the package importable by the wasm client and the
// server alike: standard library only (no ebiten, no websocket library, no
// package of ours).
func TestStdlibOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: viz/proto must use the standard library only", name, path)
			}
		}
	}
}

// TestReadmeLimits keeps the numbers in README.md in step with the constants.
func TestReadmeLimits(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	commas := func(n int) string {
		s := strconv.Itoa(n)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	for _, want := range []string{
		fmt.Sprintf("version is **%d**", Version),
		fmt.Sprintf("%d KiB (`MaxMessageSize`)", MaxMessageSize>>10),
		fmt.Sprintf("%d MiB (`MaxServerMessageSize`)", MaxServerMessageSize>>20),
		commas(MaxSnapshotSize) + " bytes (`MaxSnapshotSize`)",
		commas(MaxPoints) + " (`MaxPoints`)",
		commas(MaxDim) + " (`MaxDim`)",
		fmt.Sprintf("%d (`MaxRuns`); presets %d (`MaxPresets`)", MaxRuns, MaxPresets),
		fmt.Sprintf("%d (`MaxLabelSets`), each ≤ %d classes (`MaxClasses`)", MaxLabelSets, MaxClasses),
		fmt.Sprintf("`n` (required, 1 … %d)", MaxStepN),
		fmt.Sprintf("| `batch` | integer | %d … %d |", MinBatch, MaxBatch),
		fmt.Sprintf("finite, > 0, ≤ %g", MaxLR),
		fmt.Sprintf("0 … %g (predictor", MaxPredLRMult),
		fmt.Sprintf("1–%d bytes of `A-Z", MaxIDLen),
		fmt.Sprintf("1–%d Unicode characters", MaxNameLen),
		fmt.Sprintf("1–%d bytes of printable ASCII", MaxTokenLen),
		fmt.Sprintf("≤ %d bytes of valid UTF-8", MaxTextLen),
		fmt.Sprintf("≤ %d KiB, for display", MaxConfigLen>>10),
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	for _, name := range append(append([]string{}, CommandNames...), eventKinds...) {
		if !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("README.md does not document %q", name)
		}
	}
	for _, name := range append(append([]string{}, replyCodes...), AugmentNames...) {
		if !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("README.md does not document %q", name)
		}
	}
}
