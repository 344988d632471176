package report

import (
	"fmt"
	"io"

	"github.com/byol-lab/byol-lab/core/internal/atomicfile"
)

// writeAtomic writes a file so readers (a browser refreshing a plot, a
// notebook tailing the CSV) never see a half-written one.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}
