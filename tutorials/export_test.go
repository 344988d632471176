package tutorials

import (
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/device"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// checkPy loads a checkpoint with tutorials/byol_encoder.py, embeds the
// images of pixels.bin (uint8, N×C×H×W) and compares with want.bin
// (float32, byol-lab's representations of the same images).
const checkPy = `
import sys, numpy as np, torch
sys.path.insert(0, "tutorials")
from byol_encoder import load_encoder
ckpt, pixels, want, n, c, h, w = sys.argv[1:8]
n, c, h, w = int(n), int(c), int(h), int(w)
encoder, config = load_encoder(ckpt)
x = torch.from_numpy(np.fromfile(pixels, dtype=np.uint8).astype(np.float32).reshape(n, c, h, w) / 255)
with torch.no_grad():
    y = encoder(x).numpy()
want = np.fromfile(want, dtype="<f4").reshape(n, -1)
assert y.shape == want.shape, (y.shape, want.shape)
err = np.abs(y - want).max() / max(1.0, np.abs(want).max())
print(f"max relative error {err:.2e}")
assert err < 1e-4, err
`

// checkpointFor trains cfg for its few steps and saves a checkpoint as
// byol-lab train does.
func checkpointFor(t *testing.T, cfg byol.Config) (string, *byol.Trainer) {
	t.Helper()
	ds := loadData(t, cfg.Dataset)
	pool := parallel.New(1)
	t.Cleanup(pool.Close)
	b, err := device.Open("cpu", pool)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := byol.NewTrainer(cfg, b, pool, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	for range cfg.Steps {
		if err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	ckpt := filepath.Join(t.TempDir(), "checkpoint.safetensors")
	if err := tr.Save(ckpt); err != nil {
		t.Fatal(err)
	}
	return ckpt, tr
}

// TestExportToPyTorch trains a few steps of each encoder, saves a
// checkpoint, and checks that the PyTorch loader of lesson 7 computes the
// same representations as byol-lab.
func TestExportToPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("loads datasets and runs Python")
	}
	t.Parallel()
	py := pythonWithTorch(t)
	for _, tc := range []struct {
		dataset, arch string
		width         float64
	}{
		{"mnist", "tiny", 1},
		{"shapes", "small", 1},
		{"shapes", "mlp", 1},
		{"shapes", "resnet18", 0.125},
	} {
		t.Run(tc.dataset+"/"+tc.arch, func(t *testing.T) {
			cfg := cliConfig(t, tc.dataset, 16, 3)
			cfg.Arch, cfg.Width = tc.arch, tc.width
			ckpt, tr := checkpointFor(t, cfg)
			ds := loadData(t, tc.dataset)
			dir := filepath.Dir(ckpt)
			const n = 24
			idx := make([]int, n)
			var pix []byte
			for i := range idx {
				idx[i] = i
				pix = append(pix, ds.Test.Image(i)...)
			}
			want := tr.EmbedRepr(ds.Test, idx, nil)
			raw := make([]byte, 4*len(want))
			for i, v := range want {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			writeFile(t, filepath.Join(dir, "pixels.bin"), pix)
			writeFile(t, filepath.Join(dir, "want.bin"), raw)
			cmd := exec.Command(py, "-c", checkPy, ckpt, filepath.Join(dir, "pixels.bin"), filepath.Join(dir, "want.bin"),
				fmt.Sprint(n), fmt.Sprint(ds.Test.C), fmt.Sprint(ds.Test.H), fmt.Sprint(ds.Test.W))
			cmd.Dir = repoRoot
			cmd.Env = noPycache()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("PyTorch disagrees with byol-lab: %v\n%s", err, out)
			}
			t.Logf("%s", strings.TrimSpace(string(out)))
		})
	}
}

// TestLesson7PythonBlocks runs the Python code of lesson 7 on a checkpoint
// of the lesson's MNIST configuration.
func TestLesson7PythonBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST and runs Python")
	}
	t.Parallel()
	py := pythonWithTorch(t)
	const printed = "runs/mnist/checkpoint.safetensors"
	ckpt, _ := checkpointFor(t, cliConfig(t, "mnist", 16, 3))
	l := readLesson(t, "07-your-data.md")
	n := 0
	for _, b := range l.Blocks {
		if b.Info != "python" {
			continue
		}
		n++
		if !strings.Contains(b.Body, printed) {
			t.Errorf("07-your-data.md:%d: the block should load %s, the checkpoint of the lesson's train command", b.Line, printed)
		}
		cmd := exec.Command(py, "-c", strings.ReplaceAll(b.Body, printed, ckpt))
		cmd.Dir = repoRoot
		cmd.Env = noPycache()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("07-your-data.md:%d: %v\n%s", b.Line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "tiny (8, 64)" {
			t.Errorf("07-your-data.md:%d printed %q", b.Line, got)
		}
	}
	if n == 0 {
		t.Fatal("lesson 7 has no python block")
	}
}
