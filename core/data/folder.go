package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // registers the JPEG decoder for image.Decode
	_ "image/png"  // registers the PNG decoder for image.Decode
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultFolderSize is the side images from a folder are resized to.
const DefaultFolderSize = 32

// maxFolderSize bounds the requested size, maxDecodePixels the decoded
// images: a mistyped size or a huge photo should be an error, not an
// out-of-memory crash.
const (
	maxFolderSize   = 1024
	maxDecodePixels = 64 << 20
)

// Folder loads an ImageFolder tree: dir/train/<class>/*.png|jpg|jpeg and
// dir/test/<class>/..., or just dir/<class>/... in which case about 10% of
// each class (chosen by seed) is held out as the test split. Images are
// centre-cropped to a square, resized to size×size (0 means 32) and
// converted to RGB; transparent pixels become black. Classes are the
// sorted folder names of the training split; the label set is "class".
func Folder(dir string, size int, seed uint64) (*Dataset, error) {
	if dir == "" {
		return nil, errors.New("data: folder needs a data dir (dir/<class>/*.png, or dir/train/<class>/... and dir/test/<class>/...)")
	}
	if size == 0 {
		size = DefaultFolderSize
	}
	if size < 1 || size > maxFolderSize {
		return nil, fmt.Errorf("data: folder: image size %d outside [1, %d]", size, maxFolderSize)
	}
	if !isDir(dir) {
		return nil, fmt.Errorf("data: folder: data dir %s does not exist or is not a directory", dir)
	}

	var trainFiles, testFiles []labelledFile
	var classes []string
	var err error
	if trainDir := filepath.Join(dir, "train"); isDir(trainDir) {
		if classes, trainFiles, err = scanClasses(trainDir, nil); err != nil {
			return nil, err
		}
		testDir := filepath.Join(dir, "test")
		if !isDir(testDir) {
			return nil, fmt.Errorf("data: folder: %s has a train/ folder but no test/ folder", dir)
		}
		if _, testFiles, err = scanClasses(testDir, classes); err != nil {
			return nil, err
		}
	} else {
		if classes, trainFiles, err = scanClasses(dir, nil); err != nil {
			return nil, err
		}
		trainFiles, testFiles = holdOut(trainFiles, len(classes), seed)
	}

	train, err := decodeFiles(trainFiles, classes, size)
	if err != nil {
		return nil, err
	}
	test, err := decodeFiles(testFiles, classes, size)
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: "folder", Train: train, Test: test}, nil
}

type labelledFile struct {
	path  string
	label int32
}

func isRegular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return !strings.HasPrefix(name, ".")
	}
	return false
}

// scanClasses lists the images of every class folder under dir, in sorted
// order so labels and file order are reproducible. With known == nil the
// classes are the folders found; otherwise every folder must be one of known
// (a test split may lack a class, but not invent one).
func scanClasses(dir string, known []string) ([]string, []labelledFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data: folder: %w", err)
	}
	classes := known
	var files []labelledFile
	for _, e := range entries { // ReadDir sorts by name
		if strings.HasPrefix(e.Name(), ".") || !isDir(filepath.Join(dir, e.Name())) { // isDir follows symlinks
			continue
		}
		label := len(classes)
		if known != nil {
			label = slices.Index(known, e.Name())
			if label < 0 {
				return nil, nil, fmt.Errorf("data: folder: class folder %s is not among the training classes %v",
					filepath.Join(dir, e.Name()), known)
			}
		} else {
			classes = append(classes, e.Name())
		}
		imgs, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("data: folder: %w", err)
		}
		n := 0
		for _, f := range imgs {
			p := filepath.Join(dir, e.Name(), f.Name())
			if isImageFile(f.Name()) && (f.Type().IsRegular() || f.Type()&fs.ModeSymlink != 0 && isRegular(p)) {
				files = append(files, labelledFile{p, int32(label)})
				n++
			}
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("data: folder: class folder %s has no .png, .jpg or .jpeg images", filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("data: folder: %s has no class folders with images (want %s/<class>/*.png)", dir, dir)
	}
	return classes, files, nil
}

// holdOut moves about a tenth of each class (at least one image when the
// class has two or more) to the test split, chosen by a seeded shuffle.
func holdOut(files []labelledFile, nClasses int, seed uint64) (train, test []labelledFile) {
	byClass := make([][]labelledFile, nClasses)
	for _, f := range files {
		byClass[f.label] = append(byClass[f.label], f)
	}
	rng := rand.New(rand.NewPCG(seed, 0x686f6c646f7574)) // "holdout"
	for _, group := range byClass {
		rng.Shuffle(len(group), func(i, j int) { group[i], group[j] = group[j], group[i] })
		k := 0
		if len(group) >= 2 {
			k = max(1, (len(group)+5)/10)
		}
		test = append(test, group[:k]...)
		train = append(train, group[k:]...)
	}
	// Restore path order within each split so it does not depend on the
	// shuffle beyond which files were held out.
	byPath := func(a, b labelledFile) int { return strings.Compare(a.path, b.path) }
	slices.SortFunc(train, byPath)
	slices.SortFunc(test, byPath)
	return train, test
}

// decodeFiles decodes and resizes the files on all CPUs. When several files
// fail, the error of the first one in file order is reported, so the message
// does not depend on scheduling.
func decodeFiles(files []labelledFile, classes []string, size int) (*Split, error) {
	if len(files) == 0 {
		return nil, errors.New("data: folder: a split has no images")
	}
	imgSize := 3 * size * size
	s := &Split{
		N: len(files), C: 3, H: size, W: size,
		Pix:    make([]uint8, len(files)*imgSize),
		Labels: []LabelSet{{Name: "class", Classes: classes, Y: make([]int32, len(files))}},
	}
	errs := make([]error, len(files))
	parallelFor(len(files), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s.Labels[0].Y[i] = files[i].label
			errs[i] = decodeImage(files[i].path, s.Pix[i*imgSize:(i+1)*imgSize], size)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decodeImage decodes one PNG or JPEG (by content, not extension) into dst
// as size×size CHW RGB.
func decodeImage(path string, dst []uint8, size int) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("data: folder: %w", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("data: folder: %s: cannot decode image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxDecodePixels {
		return fmt.Errorf("data: folder: %s: image is %dx%d, too large or empty", path, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("data: folder: %s: cannot decode image: %w", path, err)
	}
	// Centre-crop to a square so resizing keeps the aspect ratio.
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side)
	off := image.Pt(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2)
	rgba := image.NewRGBA(crop)
	// draw.Draw has fast paths for the decoders' image types (YCbCr, Gray,
	// NRGBA, Paletted), so this conversion costs little next to decoding.
	draw.Draw(rgba, crop, img, off, draw.Src)
	resizeRGBA(rgba.Pix, rgba.Stride, side, side, dst, size, size)
	return nil
}
