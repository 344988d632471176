package lab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/byol-lab/byol-lab/core/byol"
)

func TestSaveAll(t *testing.T) {
	l, _ := newTestLab(t, Options{})
	a := create(t, l, "a", testConfig(t))
	c := testConfig(t)
	c.Predictor = false
	b := create(t, l, "b", c)
	stepAndWait(t, l, a, 3)
	dir := filepath.Join(t.TempDir(), "save")
	files, err := l.SaveAll(dir)
	if err != nil || len(files) != 2 {
		t.Fatalf("SaveAll: %v %v", files, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "runs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index []SavedRun
	if err := json.Unmarshal(raw, &index); err != nil || len(index) != 2 {
		t.Fatalf("runs.json: %s %v", raw, err)
	}
	if index[0].ID != a || index[0].Step != 3 || index[1].ID != b || index[1].Step != 0 {
		t.Fatalf("index: %+v", index)
	}
	for _, r := range index {
		cfg, err := byol.ReadConfig(filepath.Join(dir, r.File))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Predictor != (r.ID == a) {
			t.Errorf("%s: predictor %v", r.ID, cfg.Predictor)
		}
	}
	// The lab goes on after saving.
	stepAndWait(t, l, a, 2)
	l.Close()
	if _, err := l.SaveAll(dir); err != ErrClosed {
		t.Fatalf("SaveAll after Close: %v", err)
	}
}
