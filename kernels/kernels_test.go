package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesAreCurrent rebuilds the PTX and fatbin with nvcc and
// compares them byte for byte with the committed ones (nvcc's output is
// deterministic), so an edited kernel cannot ship with a stale module.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if _, err := exec.LookPath("nvcc"); err != nil {
		if os.Getenv("BYOL_LAB_CI") != "" {
			t.Fatal("nvcc not found, and CI must check the generated kernels (install nvidia-cuda-toolkit)")
		}
		t.Skip("nvcc not found: install the CUDA toolkit (see ../shared/docs/gpu.md) to check the generated kernels")
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", "gen.sh")
	cmd.Env = append(os.Environ(), "OUT_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, out)
	}
	for _, name := range []string{"byol.ptx", "byol.fatbin"} {
		fresh, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s differs from what nvcc makes of the sources: run go generate ./kernels and commit", name)
		}
	}
	if !bytes.Equal(Fatbin, mustRead(t, "byol.fatbin")) {
		t.Error("the embedded Fatbin is not byol.fatbin")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
