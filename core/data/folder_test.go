package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, w, h int, c color.Color) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, w, h int, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	red  = color.RGBA{200, 20, 20, 255}
	blue = color.RGBA{20, 20, 200, 255}
)

func TestFolderTrainTest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "train/cat/a.png"), encodePNG(t, 50, 40, red))
	writeFile(t, filepath.Join(dir, "train/cat/b.JPG"), encodeJPEG(t, 17, 64, red))
	writeFile(t, filepath.Join(dir, "train/cat/notes.txt"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, "train/dog/c.jpeg"), encodeJPEG(t, 8, 8, blue))
	writeFile(t, filepath.Join(dir, "test/dog/d.png"), encodePNG(t, 300, 200, blue))

	ds, err := Load("folder", Options{DataDir: dir, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	tr, te := ds.Train, ds.Test
	if tr.N != 3 || te.N != 1 || tr.C != 3 || tr.H != 16 || tr.W != 16 {
		t.Fatalf("got %d/%d images of %dx%dx%d", tr.N, te.N, tr.C, tr.H, tr.W)
	}
	cls := tr.Label("class")
	if strings.Join(cls.Classes, ",") != "cat,dog" || cls.Y[0] != 0 || cls.Y[2] != 1 || te.Label("class").Y[0] != 1 {
		t.Fatalf("classes %v labels %v / %v", cls.Classes, cls.Y, te.Label("class").Y)
	}
	// Solid colours survive decoding and resizing (JPEG within a few levels).
	checkSolid := func(name string, img []uint8, c color.RGBA) {
		plane := len(img) / 3
		for ch, want := range []uint8{c.R, c.G, c.B} {
			for _, v := range img[ch*plane : (ch+1)*plane] {
				if d := int(v) - int(want); d < -6 || d > 6 {
					t.Fatalf("%s: channel %d has %d, want about %d", name, ch, v, want)
				}
			}
		}
	}
	checkSolid("train 0 (png)", tr.Image(0), red)
	checkSolid("train 1 (jpeg, upscaled)", tr.Image(1), red)
	checkSolid("train 2 (jpeg)", tr.Image(2), blue)
	checkSolid("test 0 (png, downscaled)", te.Image(0), blue)
}

func TestFolderHoldOut(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		writeFile(t, filepath.Join(dir, "a", string(rune('a'+i))+".png"), encodePNG(t, 4, 4, red))
	}
	for i := range 5 {
		writeFile(t, filepath.Join(dir, "b", string(rune('a'+i))+".png"), encodePNG(t, 4, 4, blue))
	}
	writeFile(t, filepath.Join(dir, "c", "only.png"), encodePNG(t, 4, 4, blue))
	ds, err := Folder(dir, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	// a: 2 of 20 held out, b: 1 of 5, c: its single image stays in train.
	if ds.Train.N != 23 || ds.Test.N != 3 || ds.Train.H != DefaultFolderSize {
		t.Fatalf("got %d train / %d test of %d px", ds.Train.N, ds.Test.N, ds.Train.H)
	}
	again, _ := Folder(dir, 0, 3)
	if !bytes.Equal(ds.Test.Pix, again.Test.Pix) || !slices.Equal(ds.Test.Labels[0].Y, again.Test.Labels[0].Y) {
		t.Error("hold-out is not deterministic")
	}
}

func TestFolderErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "train/cat/good.png"), encodePNG(t, 8, 8, red))
	bad := encodePNG(t, 8, 8, red)
	writeFile(t, filepath.Join(dir, "train/cat/broken.png"), bad[:len(bad)/2])
	writeFile(t, filepath.Join(dir, "test/cat/x.png"), encodePNG(t, 8, 8, red))
	if _, err := Folder(dir, 0, 0); err == nil || !strings.Contains(err.Error(), "broken.png") {
		t.Errorf("corrupt PNG: %v", err)
	}

	cases := map[string]func(string){
		"does not exist": func(d string) {},
		"no test/ folder": func(d string) {
			writeFile(t, filepath.Join(d, "x/train/cat/a.png"), encodePNG(t, 8, 8, red))
		},
		"has no .png": func(d string) {
			writeFile(t, filepath.Join(d, "x/cat/a.txt"), []byte("no"))
		},
		"not among the training classes": func(d string) {
			writeFile(t, filepath.Join(d, "x/train/cat/a.png"), encodePNG(t, 8, 8, red))
			writeFile(t, filepath.Join(d, "x/test/dog/a.png"), encodePNG(t, 8, 8, red))
		},
	}
	for want, setup := range cases {
		d := t.TempDir()
		setup(d)
		if _, err := Folder(filepath.Join(d, "x"), 0, 0); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
	}
	if _, err := Folder(dir, 5000, 0); err == nil {
		t.Error("size 5000 accepted")
	}
	if _, err := Folder("", 0, 0); err == nil {
		t.Error("empty data dir accepted")
	}
}

func TestResizeTaps(t *testing.T) {
	for _, sz := range [][2]int{{7, 3}, {3, 7}, {32, 32}, {1, 5}, {100, 1}} {
		for o, taps := range resampleTaps(sz[0], sz[1]) {
			var sum float32
			for _, tp := range taps {
				if tp.index < 0 || tp.index >= sz[0] {
					t.Fatalf("%v: output %d reads source %d", sz, o, tp.index)
				}
				sum += tp.weight
			}
			if sum < 0.999 || sum > 1.001 {
				t.Errorf("%v: output %d weights sum to %v", sz, o, sum)
			}
		}
	}
	// A 2×2 checkerboard averages to grey when shrunk to one pixel.
	src := []uint8{0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255}
	dst := make([]uint8, 3)
	resizeRGBA(src, 8, 2, 2, dst, 1, 1)
	if dst[0] != 128 || dst[1] != 128 || dst[2] != 128 {
		t.Errorf("checkerboard → %v, want 128s", dst)
	}
}
