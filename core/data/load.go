package data

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Options configures Load. Zero values mean "the dataset's default".
type Options struct {
	DataDir string // mnist: IDX files (default: the GoMNIST module cache); cifar10, folder: required
	Seed    uint64 // shapes: generator seed (0 means 1); folder: which images are held out when there is no test/ split
	Size    int    // folder: images are resized to Size×Size (default 32)
	TrainN  int    // shapes: number of training images (default 20000)
	TestN   int    // shapes: number of test images (default 2000)
}

// loaders maps a dataset name to its loader; Names and Load both read it so
// the CLI's help text can never drift from what Load accepts.
var loaders = map[string]func(Options) (*Dataset, error){
	"shapes": func(o Options) (*Dataset, error) {
		return Shapes(ShapesConfig{TrainN: o.TrainN, TestN: o.TestN, Seed: o.Seed})
	},
	"mnist":   func(o Options) (*Dataset, error) { return MNIST(o.DataDir) },
	"cifar10": func(o Options) (*Dataset, error) { return CIFAR10(o.DataDir) },
	"folder":  func(o Options) (*Dataset, error) { return Folder(o.DataDir, o.Size, o.Seed) },
}

// Names lists the datasets Load knows, sorted.
func Names() []string {
	names := make([]string, 0, len(loaders))
	for n := range loaders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load builds the named dataset and validates both splits.
func Load(name string, opt Options) (*Dataset, error) {
	load, ok := loaders[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("data: unknown dataset %q (valid: %s)", name, strings.Join(Names(), ", "))
	}
	ds, err := load(opt)
	if err != nil {
		return nil, err
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	return ds, nil
}

// Validate checks both splits and that they agree on image size and label
// sets, since evaluation compares train and test features directly.
func (d *Dataset) Validate() error {
	if d.Train == nil || d.Test == nil {
		return fmt.Errorf("data: dataset %q is missing its train or test split", d.Name)
	}
	if err := d.Train.Validate(); err != nil {
		return fmt.Errorf("data: dataset %q train split: %w", d.Name, err)
	}
	if err := d.Test.Validate(); err != nil {
		return fmt.Errorf("data: dataset %q test split: %w", d.Name, err)
	}
	a, b := d.Train, d.Test
	if a.C != b.C || a.H != b.H || a.W != b.W {
		return fmt.Errorf("data: dataset %q: train images are %dx%dx%d but test images are %dx%dx%d",
			d.Name, a.C, a.H, a.W, b.C, b.H, b.W)
	}
	if len(a.Labels) != len(b.Labels) {
		return fmt.Errorf("data: dataset %q: train has %d label sets, test has %d", d.Name, len(a.Labels), len(b.Labels))
	}
	for i := range a.Labels {
		la, lb := &a.Labels[i], &b.Labels[i]
		if la.Name != lb.Name || !slices.Equal(la.Classes, lb.Classes) {
			return fmt.Errorf("data: dataset %q: label set %d differs between train (%q) and test (%q)", d.Name, i, la.Name, lb.Name)
		}
	}
	return nil
}

// parallelFor runs f over [0, n) in contiguous chunks on all CPUs. Loaders
// use it for per-image work whose result must not depend on scheduling, so
// f must only write to image i's own slots.
func parallelFor(n int, f func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), n)
	if parts <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
