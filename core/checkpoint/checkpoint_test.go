package checkpoint

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() (map[string]Tensor, map[string]string) {
	tensors := map[string]Tensor{
		"online.w1":  F32([]int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}),
		"scalar.f64": F64([]int{}, []float64{math.Pi}),
		"step":       I64(nil, []int64{12345, -7, math.MaxInt64}),
		"rng":        U8([]int{2, 2}, []uint8{0, 1, 254, 255}),
		"labels":     I32(nil, []int32{-1, 2}),
		"empty":      F32([]int{0, 4}, nil),
		"名前 \"q\"\n": F32([]int{1}, []float32{7}),
	}
	meta := map[string]string{
		"format":  "byol-lab/1",
		"weird":   "a\"b\\c\n\t<>&\x01 é",
		"rng_pcg": "123456789:987654321",
	}
	return tensors, meta
}

func equalTensors(t *testing.T, got, want map[string]Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("tensor %q missing", name)
		}
		if g.DType != w.DType || !reflect.DeepEqual(append([]int{}, g.Shape...), append([]int{}, w.Shape...)) || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("tensor %q: got %s%v %x, want %s%v %x", name, g.DType, g.Shape, g.Data, w.DType, w.Shape, w.Data)
		}
	}
}

func equalMeta(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("metadata: got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("metadata %q: got %q, want %q", k, got[k], v)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tensors, meta := sample()
	var buf bytes.Buffer
	if err := Encode(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%8 != 0 {
		t.Errorf("file length %d; header padding should keep data 8-aligned", buf.Len())
	}
	got, gotMeta, err := DecodeBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	equalMeta(t, gotMeta, meta)

	got, gotMeta, err = Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	equalMeta(t, gotMeta, meta)

	f, _ := got["online.w1"].Float32s()
	if f[2] != 3.5 || !math.IsInf(float64(f[3]), 1) {
		t.Errorf("Float32s = %v", f)
	}
	d, _ := got["scalar.f64"].Float64s()
	if len(d) != 1 || d[0] != math.Pi {
		t.Errorf("Float64s = %v", d)
	}
	i, _ := got["step"].Int64s()
	if !reflect.DeepEqual(i, []int64{12345, -7, math.MaxInt64}) {
		t.Errorf("Int64s = %v", i)
	}
	i32, _ := got["labels"].Int32s()
	if !reflect.DeepEqual(i32, []int32{-1, 2}) {
		t.Errorf("Int32s = %v", i32)
	}
	u, _ := got["rng"].Uint8s()
	if !reflect.DeepEqual(u, []uint8{0, 1, 254, 255}) {
		t.Errorf("Uint8s = %v", u)
	}
	if _, err := got["step"].Float32s(); err == nil {
		t.Error("Float32s of an I64 tensor should fail")
	}

	// Deterministic: the same state gives the same bytes.
	var again bytes.Buffer
	if err := Encode(&again, tensors, meta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two encodings of the same tensors differ")
	}
}

// TestExactBytes pins the format to the safetensors spec with hand-computed
// files, so a change that merely round-trips with itself cannot slip through.
func TestExactBytes(t *testing.T) {
	cases := []struct {
		name    string
		tensors map[string]Tensor
		meta    map[string]string
		want    []byte
	}{{
		name:    "one F32",
		tensors: map[string]Tensor{"a": F32([]int{2}, []float32{1, 2})},
		// {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} is 54
		// bytes; two spaces pad it to 56 = 0x38.
		want: cat(
			[]byte{0x38, 0, 0, 0, 0, 0, 0, 0},
			[]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  `),
			[]byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40},
		),
	}, {
		// Wider dtypes first (the reference order), metadata first in the
		// header, compact JSON; 134 bytes of JSON padded to 136 = 0x88.
		name: "mixed with metadata",
		tensors: map[string]Tensor{
			"a": U8([]int{3}, []uint8{7, 8, 9}),
			"b": I64([]int{}, []int64{-2}),
		},
		meta: map[string]string{"step": "5"},
		want: cat(
			[]byte{0x88, 0, 0, 0, 0, 0, 0, 0},
			[]byte(`{"__metadata__":{"step":"5"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}  `),
			[]byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 7, 8, 9},
		),
	}}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := Encode(&buf, c.tensors, c.meta); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, buf.Bytes(), c.want)
		}
		got, meta, err := DecodeBytes(c.want)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		equalTensors(t, got, c.tensors)
		equalMeta(t, meta, c.meta)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestEncodeRejects(t *testing.T) {
	cases := map[string]map[string]Tensor{
		"reserved":      {metadataKey: F32(nil, []float32{1})},
		"unknown dtype": {"x": {DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}},
		"negative dim":  {"x": {DType: DtypeF32, Shape: []int{-1}, Data: nil}},
		"short data":    {"x": {DType: DtypeF32, Shape: []int{2}, Data: make([]byte, 4)}},
		"bad utf8 name": {"\xff": F32(nil, []float32{1})},
	}
	for name, tensors := range cases {
		var buf bytes.Buffer
		if err := Encode(&buf, tensors, nil); err == nil {
			t.Errorf("%s: Encode succeeded", name)
		} else if buf.Len() != 0 {
			t.Errorf("%s: Encode wrote %d bytes before failing", name, buf.Len())
		}
	}
}

// header builds a file from a raw header string and data bytes.
func header(h string, data ...byte) []byte {
	n := uint64(len(h))
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24), byte(n >> 32), byte(n >> 40), byte(n >> 48), byte(n >> 56)}
	return append(append(b, h...), data...)
}

func TestDecodeRejects(t *testing.T) {
	good := header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)...)
	if _, _, err := DecodeBytes(good); err != nil {
		t.Fatalf("control case: %v", err)
	}
	cases := []struct {
		name, want string
		in         []byte
	}{
		{"empty", "too short", nil},
		{"short length", "too short", []byte{1, 2, 3}},
		{"huge header", "exceeds", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'}},
		{"header past end", "truncated header", []byte{100, 0, 0, 0, 0, 0, 0, 0, '{', '}'}},
		{"not json", "not a JSON object", header("hello world")},
		{"json array", "not a JSON object", header("[1,2,3]")},
		{"unclosed", "header JSON", header(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`)},
		{"trailing json", "trailing data after the header", header(`{} {}`)},
		{"bad utf8", "UTF-8", header("{\"\xff\":1}")},
		{"unknown dtype", `unknown dtype "X"`, header(`{"a":{"dtype":"X","shape":[1],"data_offsets":[0,1]}}`, 0)},
		{"missing dtype", "missing dtype", header(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0)},
		{"missing shape", "missing shape", header(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 0, 0, 0, 0)},
		{"negative dim", "", header(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 0, 0, 0, 0)},
		{"fractional dim", "tensor \"a\"", header(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 0, 0, 0, 0)},
		{"overflowing shape", "too", header(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)...)},
		{"one offset", "data_offsets must be", header(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, 0)},
		{"end before begin", "end before begin", header(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, 0)},
		{"size mismatch", "needs 8", header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 0, 0, 0, 0)},
		{"gap", "starts at byte 4, want 0", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)...)},
		{"overlap", "want 4", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`, make([]byte, 6)...)},
		{"duplicate", "twice", header(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 0, 0)},
		{"truncated data", "truncated", good[:len(good)-1]},
		{"trailing data", "trailing data after the last tensor", append(append([]byte{}, good...), 0)},
		{"metadata not strings", "__metadata__", header(`{"__metadata__":{"a":1}}`)},
		{"tensor not object", "tensor \"a\"", header(`{"a":5}`)},
		{"null tensor", "missing dtype", header(`{"a":null}`)},
		{"huge offsets", "end before begin", header(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}}`)},
		{"far offsets", "starts at byte 18446744073709551614, want 0", header(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}`, 0)},
	}
	for _, c := range cases {
		for _, how := range []string{"bytes", "reader"} {
			var err error
			if how == "bytes" {
				_, _, err = DecodeBytes(c.in)
			} else {
				_, _, err = Decode(bytes.NewReader(c.in))
			}
			if err == nil {
				t.Errorf("%s (%s): decoded without error", c.name, how)
				continue
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s (%s): error %q does not mention %q", c.name, how, err, c.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s (%s): error %q does not wrap ErrInvalid", c.name, how, err)
			}
		}
	}
}

func TestDecodeAcceptsReferenceQuirks(t *testing.T) {
	// Padding spaces, unknown fields and an empty file are all legal.
	in := header(`{"__metadata__":null,"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2],"extra":true}}   `, 1, 2)
	got, meta, err := DecodeBytes(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta) != 0 || got["b"].DType != DtypeBF16 || !bytes.Equal(got["b"].Data, []byte{1, 2}) {
		t.Errorf("got %v %v", got, meta)
	}
	if got, _, err := DecodeBytes(header("{}      ")); err != nil || len(got) != 0 {
		t.Errorf("empty file: %v %v", got, err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	tensors, meta := sample()
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := WriteFile(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	equalMeta(t, gotMeta, meta)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestReadFileNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 1, 2, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") || !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v should name %s and say truncated", err, path)
	}
	_, _, err = ReadFile(filepath.Join(t.TempDir(), "missing"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// errWriter fails after accepting n bytes, like a disk filling up.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	tensors, meta := sample()
	if err := WriteFile(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	onlyGood := func(when string) {
		t.Helper()
		after, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(after, before) {
			t.Errorf("%s: previous checkpoint changed (err %v)", when, err)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("%s: directory holds %v, want only the checkpoint", when, names)
		}
	}

	// A write that dies halfway through the tensor data.
	big := map[string]Tensor{"w": F32(nil, make([]float32, 1<<19))} // 2 MB, more than one buffer flush
	err := writeAtomic(path, func(w io.Writer) error {
		return Encode(io.MultiWriter(w, &errWriter{n: 1 << 20}), big, nil)
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), path) {
		t.Errorf("injected failure: got %v", err)
	}
	onlyGood("failed write")

	// An invalid tensor is refused before any file is created.
	if err := WriteFile(path, map[string]Tensor{"x": {DType: DtypeF32, Shape: []int{3}}}, nil); err == nil {
		t.Error("invalid tensor written")
	}
	onlyGood("invalid tensor")

	// The rename fails when the target is a non-empty directory.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "x"), nil, 0o644)
	if err := WriteFile(sub, tensors, meta); err == nil {
		t.Error("writing over a directory succeeded")
	}
	os.RemoveAll(sub)
	onlyGood("failed rename")

	// A directory that does not exist.
	if err := WriteFile(filepath.Join(dir, "nope", "c.safetensors"), tensors, meta); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	onlyGood("missing directory")

	// And a good overwrite replaces the file.
	next := map[string]Tensor{"w": F32(nil, []float32{42})}
	if err := WriteFile(path, next, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, next)
}
