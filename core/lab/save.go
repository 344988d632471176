package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/byol-lab/byol-lab/core/internal/atomicfile"
)

// CheckpointName is the file SaveAll writes in each run's directory: the
// name `byol-lab train --resume --out DIR` reads, so a run from the lab can
// be continued headless.
const CheckpointName = "checkpoint.safetensors"

// SavedRun is one entry of the runs.json index SaveAll writes.
type SavedRun struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  State  `json:"state"`
	Step   int    `json:"step"`
	Parent string `json:"parent,omitempty"`
	// File is the checkpoint, relative to the directory; empty when the run
	// could not be saved (Error says why).
	File  string `json:"file,omitempty"`
	Error string `json:"error,omitempty"`
}

// SaveAll writes the full training state of every run (byol.Trainer.Save:
// weights, optimiser, step, sampler position, config) to
// dir/<id>/checkpoint.safetensors, and dir/runs.json listing the runs. It
// waits for the current step to finish and steps nothing meanwhile. A run
// whose weights are not finite (diverged) is listed but not saved; its
// error joins the returned one while the other runs are still saved. It
// returns the checkpoint files written.
//
// Call it before Close: a closed lab has released its backend.
func (l *Lab) SaveAll(dir string) ([]string, error) {
	if err := l.lock(); err != nil {
		return nil, err
	}
	defer l.work.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var files []string
	var errs []error
	index := make([]SavedRun, 0, len(l.runs))
	for _, r := range l.runs {
		e := SavedRun{ID: r.id, Name: r.name, State: r.state, Step: r.t.StepCount(), Parent: r.parent}
		rel := filepath.Join(r.id, CheckpointName)
		err := os.MkdirAll(filepath.Join(dir, r.id), 0o755)
		if err == nil {
			err = r.t.Save(filepath.Join(dir, rel))
		}
		if err != nil {
			e.Error = err.Error()
			errs = append(errs, fmt.Errorf("lab: saving %s: %w", r.label(), err))
		} else {
			e.File = rel
			files = append(files, filepath.Join(dir, rel))
		}
		index = append(index, e)
	}
	b, err := json.MarshalIndent(index, "", "  ")
	if err == nil {
		err = atomicfile.Write(filepath.Join(dir, "runs.json"), func(w io.Writer) error {
			_, err := w.Write(append(b, '\n'))
			return err
		})
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("lab: runs.json: %w", err))
	}
	return files, errors.Join(errs...)
}
