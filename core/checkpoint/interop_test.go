package checkpoint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The reference side of the interop test: it reads the file Go wrote,
// checks every value, and writes the same tensors with the reference
// library so the Go side can compare bytes.
const interopPy = `
import sys, numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
src, dst = sys.argv[1], sys.argv[2]
t = load_file(src)
with safe_open(src, framework="np") as f:
    meta = f.metadata()
assert meta == {"step": "7", "note": "héllo \"x\""}, meta
np.testing.assert_array_equal(t["w"], np.array([[1, 2, 3], [4, 5, 6.5]], dtype=np.float32))
np.testing.assert_array_equal(t["v"], np.array([0.1, -0.2], dtype=np.float64))
np.testing.assert_array_equal(t["step"], np.array(7, dtype=np.int64))
np.testing.assert_array_equal(t["rng"], np.array([1, 2, 3], dtype=np.uint8))
assert t["w"].dtype == np.float32 and t["v"].dtype == np.float64
assert t["step"].dtype == np.int64 and t["step"].shape == ()
save_file(t, dst, metadata=meta)
`

// TestInteropReference checks files against the reference Python
// implementation when it is installed; most machines lack it, so it skips.
func TestInteropReference(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("interop test skipped: /usr/bin/python3 not found")
	}
	if out, err := exec.Command(py, "-c", "import numpy, safetensors.numpy").CombinedOutput(); err != nil {
		lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
		t.Skipf("interop test skipped: python3 lacks numpy or safetensors (%s)", lines[len(lines)-1])
	}
	tensors := map[string]Tensor{
		"w":    F32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6.5}),
		"v":    F64(nil, []float64{0.1, -0.2}),
		"step": I64([]int{}, []int64{7}),
		"rng":  U8(nil, []uint8{1, 2, 3}),
	}
	meta := map[string]string{"step": "7", "note": "héllo \"x\""}
	dir := t.TempDir()
	goPath, pyPath := filepath.Join(dir, "go.safetensors"), filepath.Join(dir, "py.safetensors")
	if err := WriteFile(goPath, tensors, meta); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, "-c", interopPy, goPath, pyPath).CombinedOutput(); err != nil {
		t.Fatalf("reference rejected our file: %v\n%s", err, out)
	}
	got, gotMeta, err := ReadFile(pyPath)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	equalMeta(t, gotMeta, meta)
	goBytes, _ := os.ReadFile(goPath)
	pyBytes, _ := os.ReadFile(pyPath)
	if !bytes.Equal(goBytes, pyBytes) {
		t.Errorf("bytes differ from the reference writer:\n go %q\n py %q", goBytes, pyBytes)
	}
}
