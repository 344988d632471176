package data

import (
	"strings"
	"testing"
)

func TestLoadUnknown(t *testing.T) {
	_, err := Load("imagenet", Options{})
	if err == nil {
		t.Fatal("unknown dataset accepted")
	}
	for _, n := range Names() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %q", err, n)
		}
	}
	if got := strings.Join(Names(), ","); got != "cifar10,folder,mnist,shapes" {
		t.Errorf("Names() = %s", got)
	}
}

func TestValidateCatchesInconsistentSplits(t *testing.T) {
	good := func() *Split {
		return &Split{N: 2, C: 1, H: 2, W: 2, Pix: make([]uint8, 8),
			Labels: []LabelSet{{Name: "digit", Classes: []string{"0", "1"}, Y: []int32{0, 1}}}}
	}
	ds := &Dataset{Name: "t", Train: good(), Test: good()}
	if err := ds.Validate(); err != nil {
		t.Fatalf("consistent dataset rejected: %v", err)
	}
	cases := map[string]func(d *Dataset){
		"pixel bytes":       func(d *Dataset) { d.Train.Pix = d.Train.Pix[:7] },
		"labels for":        func(d *Dataset) { d.Test.Labels[0].Y = []int32{0} },
		"outside":           func(d *Dataset) { d.Train.Labels[0].Y[1] = 2 },
		"malformed":         func(d *Dataset) { d.Test.H = 0 },
		"but test images":   func(d *Dataset) { d.Test.W, d.Test.H = 1, 4 },
		"label sets":        func(d *Dataset) { d.Test.Labels = nil },
		"differs":           func(d *Dataset) { d.Test.Labels[0].Classes = []string{"a", "b"} },
		"missing its train": func(d *Dataset) { d.Train = nil },
	}
	for want, breakIt := range cases {
		d := &Dataset{Name: "t", Train: good(), Test: good()}
		breakIt(d)
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
}
