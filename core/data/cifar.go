package data

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cifarRecord is one record of the CIFAR-10 binary format: a label byte
// followed by a 32×32 image stored as 1024 red, 1024 green and 1024 blue
// bytes, which is already our CHW layout.
const cifarRecord = 1 + 3*32*32

var cifar10Classes = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// CIFAR10 loads the binary version of CIFAR-10 (data_batch_1..5.bin and
// test_batch.bin) from dir or from its cifar-10-batches-bin subfolder, as
// unpacked from the official archive. Class names come from batches.meta.txt
// when present. The label set is "class".
func CIFAR10(dir string) (*Dataset, error) {
	if dir == "" {
		return nil, errors.New("data: cifar10 needs a data dir holding data_batch_1.bin ... test_batch.bin (the binary version of CIFAR-10)")
	}
	if !isDir(dir) {
		return nil, fmt.Errorf("data: cifar10: data dir %s does not exist or is not a directory", dir)
	}
	if sub := filepath.Join(dir, "cifar-10-batches-bin"); !exists(filepath.Join(dir, "data_batch_1.bin")) && isDir(sub) {
		dir = sub
	}
	classes, err := cifarClasses(filepath.Join(dir, "batches.meta.txt"))
	if err != nil {
		return nil, err
	}
	var trainFiles []string
	for i := 1; i <= 5; i++ {
		trainFiles = append(trainFiles, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)))
	}
	train, err := cifarSplit(classes, trainFiles...)
	if err != nil {
		return nil, err
	}
	test, err := cifarSplit(classes, filepath.Join(dir, "test_batch.bin"))
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: "cifar10", Train: train, Test: test}, nil
}

// cifarSplit concatenates batch files. Each must be a whole number of
// records; the official batches hold 10000 each, but smaller ones (subsets,
// test fixtures) are accepted.
func cifarSplit(classes []string, files ...string) (*Split, error) {
	s := &Split{C: 3, H: 32, W: 32, Labels: []LabelSet{{Name: "class", Classes: classes}}}
	// Size the buffers from the file sizes up front: the train split is
	// 150 MB and growing it by appends would briefly need twice that.
	records := 0
	for _, path := range files {
		if st, err := os.Stat(path); err == nil {
			records += int(st.Size()) / cifarRecord
		}
	}
	s.Pix = make([]uint8, 0, records*(cifarRecord-1))
	s.Labels[0].Y = make([]int32, 0, records)
	for _, path := range files {
		buf, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: cifar10: missing batch file %s", path)
		}
		if err != nil {
			return nil, fmt.Errorf("data: cifar10: %w", err)
		}
		if len(buf) == 0 || len(buf)%cifarRecord != 0 {
			return nil, fmt.Errorf("data: cifar10: %s has %d bytes, not a whole number of %d-byte records (truncated or not the binary version?)",
				path, len(buf), cifarRecord)
		}
		n := len(buf) / cifarRecord
		for i := range n {
			rec := buf[i*cifarRecord : (i+1)*cifarRecord]
			if int(rec[0]) >= len(classes) {
				return nil, fmt.Errorf("data: cifar10: %s: record %d has label %d, want 0-%d", path, i, rec[0], len(classes)-1)
			}
			s.Labels[0].Y = append(s.Labels[0].Y, int32(rec[0]))
			s.Pix = append(s.Pix, rec[1:]...)
		}
		s.N += n
	}
	return s, nil
}

// cifarClasses reads one class name per line, ignoring blank lines; without
// the file it returns the standard names.
func cifarClasses(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return slices.Clone(cifar10Classes), nil
	}
	if err != nil {
		return nil, fmt.Errorf("data: cifar10: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			names = append(names, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: cifar10: reading %s: %w", path, err)
	}
	if len(names) != len(cifar10Classes) {
		return nil, fmt.Errorf("data: cifar10: %s lists %d class names, want %d", path, len(names), len(cifar10Classes))
	}
	return names, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
