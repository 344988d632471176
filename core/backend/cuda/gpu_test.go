//go:build cuda

package cuda_test

import (
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cuda"
)

// openDriver opens the first GPU.
func openDriver(t *testing.T) cuda.Driver {
	d, err := cuda.OpenGPU(0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stepBatch is the batch of the whole-step comparison on a GPU.
const stepBatch = 64
