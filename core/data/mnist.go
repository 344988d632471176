package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// IDX magic numbers (big-endian): two zero bytes, type 0x08 (unsigned
// byte), then the number of dimensions.
const (
	idxImagesMagic = 0x00000803 // 2051: N×rows×cols
	idxLabelsMagic = 0x00000801 // 2049: N
)

// maxIDXBytes bounds what a header may claim, so a corrupt header produces an
// error instead of an attempt to allocate gigabytes.
const maxIDXBytes = 1 << 30

var digitClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// MNIST loads the four standard IDX files (gzip-compressed or raw) from dir.
// With dir == "" it uses the copy shipped in the GoMNIST module, which this
// package imports so that building the project puts it in the module cache.
// Each split has one label set, "digit". Fashion-MNIST files, being the same
// format, load too (with digit names for their classes).
func MNIST(dir string) (*Dataset, error) {
	if dir == "" {
		d, err := gomnistDataDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	train, err := mnistSplit(dir, "train")
	if err != nil {
		return nil, err
	}
	test, err := mnistSplit(dir, "t10k")
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: "mnist", Train: train, Test: test}, nil
}

func mnistSplit(dir, prefix string) (*Split, error) {
	imgPath, err := findFile(dir, prefix+"-images-idx3-ubyte", prefix+"-images.idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := findFile(dir, prefix+"-labels-idx1-ubyte", prefix+"-labels.idx1-ubyte")
	if err != nil {
		return nil, err
	}
	pix, dims, err := readIDX(imgPath, idxImagesMagic)
	if err != nil {
		return nil, err
	}
	lbl, ldims, err := readIDX(lblPath, idxLabelsMagic)
	if err != nil {
		return nil, err
	}
	if dims[0] != ldims[0] {
		return nil, fmt.Errorf("data: mnist: %s has %d images but %s has %d labels", imgPath, dims[0], lblPath, ldims[0])
	}
	y := make([]int32, len(lbl))
	for i, v := range lbl {
		if int(v) >= len(digitClasses) {
			return nil, fmt.Errorf("data: mnist: %s: label %d of item %d is not a digit 0-9", lblPath, v, i)
		}
		y[i] = int32(v)
	}
	return &Split{
		N: dims[0], C: 1, H: dims[1], W: dims[2],
		Pix:    pix,
		Labels: []LabelSet{{Name: "digit", Classes: slices.Clone(digitClasses), Y: y}},
	}, nil
}

// findFile returns the first of dir/name or dir/name.gz that exists, trying
// each name in turn (distributions differ in '-' versus '.' before "idx").
func findFile(dir string, names ...string) (string, error) {
	for _, n := range names {
		for _, p := range []string{filepath.Join(dir, n), filepath.Join(dir, n+".gz")} {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("data: mnist: %s not found in %s (also tried .gz)", names[0], dir)
}

// readIDX reads an unsigned-byte IDX file, transparently gunzipping it when
// it starts with the gzip magic. It checks the magic number (which fixes the
// number of dimensions) and that the payload has exactly the size the header
// announces, and returns the payload and the dimensions.
func readIDX(path string, magic uint32) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	fail := func(format string, args ...any) ([]byte, []int, error) {
		return nil, nil, fmt.Errorf("data: %s: "+format, append([]any{path}, args...)...)
	}

	br := bufio.NewReader(f)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fail("bad gzip header: %v", err)
		}
		defer zr.Close()
		r = zr
	}

	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fail("file too short for an IDX header: %v", readErr(err))
	}
	if got := binary.BigEndian.Uint32(hdr[:]); got != magic {
		return fail("magic number %d (0x%08x), want %d (0x%08x): not an IDX %s file", got, got, magic, magic, idxKind(magic))
	}
	dims := make([]int, int(magic&0xff))
	total := 1
	for i := range dims {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return fail("truncated header: %v", readErr(err))
		}
		d := binary.BigEndian.Uint32(hdr[:])
		if d == 0 || uint64(d) > maxIDXBytes || uint64(total)*uint64(d) > maxIDXBytes {
			return fail("implausible dimension %d (dimensions so far %v)", d, dims[:i])
		}
		dims[i] = int(d)
		total *= int(d)
	}

	// Read through a limit rather than into a buffer of the announced size,
	// so memory follows the data actually present; one extra byte detects
	// trailing garbage.
	var buf bytes.Buffer
	buf.Grow(min(total, 64<<20))
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(total)+1)); err != nil {
		return fail("reading data: %v", readErr(err))
	}
	switch {
	case buf.Len() < total:
		return fail("truncated: header %v announces %d data bytes, file has %d", dims, total, buf.Len())
	case buf.Len() > total:
		return fail("longer than its header %v announces (%d data bytes): wrong dimensions or trailing data", dims, total)
	}
	return buf.Bytes(), dims, nil
}

func idxKind(magic uint32) string {
	if magic == idxImagesMagic {
		return "image (idx3)"
	}
	return "label (idx1)"
}

// readErr names the usual error of a cut-off gzip stream plainly.
func readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("unexpected end of file (truncated?)")
	}
	return err
}
