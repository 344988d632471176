package checkpoint

import (
	"fmt"
	"io"
	"os"

	"github.com/byol-lab/byol-lab/core/internal/atomicfile"
)

// WriteFile writes a checkpoint atomically: the bytes go to a temporary file
// in the same directory, which is fsynced, closed and renamed over path, and
// then the directory is fsynced so the rename itself survives a power cut.
// A reader therefore sees either the old checkpoint or the complete new one,
// never a torn file. On any error the temporary file is removed and an
// existing file at path is left untouched.
func WriteFile(path string, tensors map[string]Tensor, meta map[string]string) error {
	// Validate before touching the disk so a bad tensor costs nothing.
	if _, _, err := encodeHeader(tensors, meta); err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error { return Encode(w, tensors, meta) })
}

// ReadFile reads and validates a checkpoint. Errors name the file.
func ReadFile(path string) (map[string]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	tensors, meta, err := DecodeBytes(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, meta, nil
}

func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	return nil
}
