package augment

import (
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/data"
)

// DeviceAugmenter makes views on a compute device from a copy of the
// dataset resident there, with exactly Augmenter's semantics and the same
// counter-based randomness, so a GPU step needs no image upload.
type DeviceAugmenter interface {
	// SetConfig behaves as Augmenter.SetConfig.
	SetConfig(cfg Config) error
	// Views writes view 0 or 1 of the images idx into dst (len(idx)·c·h·w).
	Views(dst backend.Buffer, idx []int, view int, seed, step uint64)
	// Plain writes the images idx resized and normalised, unaugmented.
	Plain(dst backend.Buffer, idx []int)
}

// DeviceBackend is implemented by backends that augment on the device.
type DeviceBackend interface {
	// NewAugmenter uploads split's images once and returns an augmenter
	// producing c×h×w views of them.
	NewAugmenter(split *data.Split, cfg Config, c, h, w int) (DeviceAugmenter, error)
}
