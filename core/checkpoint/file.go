package checkpoint

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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

// writeAtomic is WriteFile's temp-file-and-rename dance around any writer.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // may already be closed; the error is irrelevant then
			os.Remove(tmp)
			err = fmt.Errorf("checkpoint: write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename durable. Windows cannot fsync a directory (and
// renames there are journaled by NTFS), so it is skipped.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
