package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTinyCIFAR writes n records to each batch file; record i of batch b
// has label (b+i)%10 and every pixel byte equal to 10*b+i.
func writeTinyCIFAR(t *testing.T, dir string, n int) {
	names := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	for b, name := range names {
		var buf []byte
		for i := range n {
			rec := make([]byte, cifarRecord)
			rec[0] = byte((b + i) % 10)
			for j := 1; j < cifarRecord; j++ {
				rec[j] = byte(10*b + i)
			}
			buf = append(buf, rec...)
		}
		writeFile(t, filepath.Join(dir, name), buf)
	}
}

func TestCIFAR10Tiny(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin") // as unpacked from the archive
	writeTinyCIFAR(t, dir, 3)
	ds, err := Load("cifar10", Options{DataDir: root})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.N != 15 || ds.Test.N != 3 || ds.Train.C != 3 || ds.Train.H != 32 {
		t.Fatalf("got %d/%d images", ds.Train.N, ds.Test.N)
	}
	// Train image 4 is record 1 of data_batch_2 (b=1).
	if img := ds.Train.Image(4); img[0] != 11 || img[3071] != 11 {
		t.Errorf("train image 4 starts %d, ends %d; want 11", img[0], img[3071])
	}
	cls := ds.Train.Label("class")
	if cls.Y[4] != 2 || cls.Classes[0] != "airplane" {
		t.Errorf("label %d class names %v", cls.Y[4], cls.Classes)
	}

	// Names from batches.meta.txt take precedence over the built-in ones.
	meta := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte(meta))
	ds, err = CIFAR10(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Test.Label("class").Classes[9]; got != "j" {
		t.Errorf("class 9 = %q, want j", got)
	}
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte("a\nb\n"))
	if _, err := CIFAR10(dir); err == nil || !strings.Contains(err.Error(), "batches.meta.txt") {
		t.Errorf("short meta file: %v", err)
	}
}

func TestCIFAR10Errors(t *testing.T) {
	dir := t.TempDir()
	writeTinyCIFAR(t, dir, 2)
	path := filepath.Join(dir, "data_batch_3.bin")
	raw, _ := os.ReadFile(path)
	writeFile(t, path, raw[:len(raw)-5])
	if _, err := CIFAR10(dir); err == nil || !strings.Contains(err.Error(), "data_batch_3.bin") || !strings.Contains(err.Error(), "records") {
		t.Errorf("truncated batch: %v", err)
	}

	raw[cifarRecord] = 10 // label of record 1
	writeFile(t, path, raw)
	if _, err := CIFAR10(dir); err == nil || !strings.Contains(err.Error(), "record 1 has label 10") {
		t.Errorf("bad label: %v", err)
	}

	os.Remove(path)
	if _, err := CIFAR10(dir); err == nil || !strings.Contains(err.Error(), "missing batch file") {
		t.Errorf("missing batch: %v", err)
	}
	for _, d := range []string{"", filepath.Join(dir, "nope")} {
		if _, err := CIFAR10(d); err == nil {
			t.Errorf("data dir %q accepted", d)
		}
	}
}
