// Package data holds the datasets byol-lab trains on: the embedded procedural
// "shapes" default, MNIST, CIFAR-10 and image folders.
//
// Every dataset is decoded once into memory as 8-bit pixels (CHW per image);
// augmentations turn them into float32 views. Storing bytes keeps MNIST at
// 47 MB rather than 188 MB and matches what the GPU backend uploads.
package data

import "fmt"

// LabelSet is one way of labelling a split, e.g. "shape" or "colour".
type LabelSet struct {
	Name    string   // e.g. "shape", "colour", "digit", "class"
	Classes []string // class names, indexed by label value
	Y       []int32  // one label per image, in [0, len(Classes))
}

// Split is a set of images of identical size with one or more label sets.
type Split struct {
	N, C, H, W int
	Pix        []uint8 // N*C*H*W bytes, image i at Pix[i*C*H*W:], channel-major (CHW)
	Labels     []LabelSet
}

// Dataset is a named pair of splits. Train feeds BYOL; Test is held out for
// evaluation (kNN queries, collapse metrics, the lab's probe set).
type Dataset struct {
	Name  string
	Train *Split
	Test  *Split
}

// ImageSize is C*H*W, the number of bytes of one image.
func (s *Split) ImageSize() int { return s.C * s.H * s.W }

// Image returns the bytes of image i (a view, not a copy).
func (s *Split) Image(i int) []uint8 {
	n := s.ImageSize()
	return s.Pix[i*n : (i+1)*n]
}

// Label returns the label set with the given name, or nil.
func (s *Split) Label(name string) *LabelSet {
	for i := range s.Labels {
		if s.Labels[i].Name == name {
			return &s.Labels[i]
		}
	}
	return nil
}

// Validate checks that sizes and labels are consistent, so a bad loader is
// caught before training starts rather than as an index panic later.
func (s *Split) Validate() error {
	if s.N <= 0 || s.C <= 0 || s.H <= 0 || s.W <= 0 {
		return fmt.Errorf("data: empty or malformed split %dx%dx%dx%d", s.N, s.C, s.H, s.W)
	}
	if len(s.Pix) != s.N*s.ImageSize() {
		return fmt.Errorf("data: split has %d pixel bytes, want %d", len(s.Pix), s.N*s.ImageSize())
	}
	for _, l := range s.Labels {
		if len(l.Y) != s.N {
			return fmt.Errorf("data: label set %q has %d labels for %d images", l.Name, len(l.Y), s.N)
		}
		for i, y := range l.Y {
			if y < 0 || int(y) >= len(l.Classes) {
				return fmt.Errorf("data: label set %q: image %d has label %d outside [0,%d)", l.Name, i, y, len(l.Classes))
			}
		}
	}
	return nil
}
