package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// sampleSnapshot returns a snapshot of n points and dimension d with
// distinct values everywhere.
func sampleSnapshot(n, d int) *Snapshot {
	s := &Snapshot{Flags: FlagCollapsed, Run: "run-1", Step: 1234, Time: 1_700_000_000_123, Dim: d,
		Proj: make([]float32, 2*n), Pred: make([]float32, 2*n), Target: make([]float32, 2*n),
		Spectrum: make([]float32, min(d, 8)), Std: make([]float32, d)}
	for i := range s.Proj {
		s.Proj[i], s.Pred[i], s.Target[i] = float32(i)+0.25, -float32(i), float32(i)*1e-3
	}
	for i := range s.Spectrum {
		s.Spectrum[i] = float32(len(s.Spectrum) - i)
	}
	for i := range s.Std {
		s.Std[i] = 1 / float32(i+1)
	}
	return s
}

// sameSnapshot compares bit for bit, so NaN payloads count.
func sameSnapshot(a, b *Snapshot) bool {
	eq := func(x, y []float32) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	}
	return a.Flags == b.Flags && a.Run == b.Run && a.Step == b.Step && a.Time == b.Time && a.Dim == b.Dim &&
		eq(a.Proj, b.Proj) && eq(a.Pred, b.Pred) && eq(a.Target, b.Target) &&
		eq(a.Spectrum, b.Spectrum) && eq(a.Std, b.Std)
}

func TestSnapshotLayout(t *testing.T) {
	s := &Snapshot{Flags: FlagPredictorOff, Run: "ab", Step: 0x0102030405060708, Time: -2, Dim: 3,
		Proj: []float32{1, 2}, Pred: []float32{3, 4}, Target: []float32{5, 6},
		Spectrum: []float32{-1}, Std: []float32{0.5, 0.25}}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	le := binary.LittleEndian
	w.WriteString("BYSN")
	binary.Write(&w, le, uint16(1))
	binary.Write(&w, le, uint16(1))
	binary.Write(&w, le, uint16(2))
	w.WriteString("ab")
	binary.Write(&w, le, uint64(0x0102030405060708))
	binary.Write(&w, le, int64(-2))
	binary.Write(&w, le, uint32(1))
	binary.Write(&w, le, uint32(3))
	binary.Write(&w, le, []float32{1, 2, 3, 4, 5, 6})
	binary.Write(&w, le, uint32(1))
	binary.Write(&w, le, float32(-1))
	binary.Write(&w, le, uint32(2))
	binary.Write(&w, le, []float32{0.5, 0.25})
	if !bytes.Equal(b, w.Bytes()) {
		t.Fatalf("frame\n got %x\nwant %x", b, w.Bytes())
	}
	if len(b) != s.EncodedSize() || len(b) != 42+2+24*1+4*1+4*2 {
		t.Fatalf("size %d, EncodedSize %d", len(b), s.EncodedSize())
	}
	// Spot checks against the offsets documented on Snapshot (L = 2, n = 1, s = 1).
	const L, n, sl = 2, 1, 1
	if le.Uint64(b[10+L:]) != s.Step || le.Uint32(b[26+L:]) != n || le.Uint32(b[30+L:]) != 3 ||
		le.Uint32(b[34+L+24*n:]) != sl || le.Uint32(b[38+L+24*n+4*sl:]) != 2 {
		t.Fatal("documented offsets do not match the frame")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	nanPayload := math.Float32frombits(0x7fc01234)
	withNaN := sampleSnapshot(5, 16)
	withNaN.Proj[3], withNaN.Pred[0], withNaN.Target[9] = nanPayload, float32(math.Inf(1)), float32(math.Inf(-1))
	withNaN.Spectrum[0], withNaN.Std[15] = float32(math.NaN()), float32(math.Copysign(0, -1))
	maxRun := sampleSnapshot(3, 4)
	maxRun.Run = strings.Repeat("x", MaxIDLen)
	maxRun.Flags = FlagPredictorOff | FlagCollapsed
	maxRun.Step, maxRun.Time = math.MaxUint64, math.MinInt64
	largest := sampleSnapshot(MaxPoints, MaxDim)
	largest.Run = strings.Repeat("y", MaxIDLen)
	largest.Spectrum = make([]float32, MaxDim)

	for name, s := range map[string]*Snapshot{
		"typical":        sampleSnapshot(512, 64),
		"n=0":            sampleSnapshot(0, 64),
		"n=0, no stats":  {Run: "r", Dim: 1},
		"d=1":            sampleSnapshot(7, 1),
		"non-finite":     withNaN,
		"extreme header": maxRun,
		"max sizes":      largest,
	} {
		b, err := s.AppendBinary([]byte("prefix"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(b[:6]) != "prefix" || len(b) != 6+s.EncodedSize() {
			t.Fatalf("%s: AppendBinary did not append (len %d)", name, len(b))
		}
		got, err := DecodeSnapshot(b[6:])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !sameSnapshot(got, s) || got.N() != s.N() {
			t.Fatalf("%s: round trip changed the snapshot", name)
		}
		if name == "max sizes" && len(b)-6 != MaxSnapshotSize {
			t.Fatalf("largest frame is %d bytes, MaxSnapshotSize %d", len(b)-6, MaxSnapshotSize)
		}
	}
	if MaxSnapshotSize > MaxServerMessageSize {
		t.Fatal("MaxServerMessageSize must admit the largest snapshot")
	}
}

func TestSnapshotAllocs(t *testing.T) {
	s := sampleSnapshot(512, 64)
	buf := make([]byte, 0, s.EncodedSize())
	if a := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = s.AppendBinary(buf[:0]); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("AppendBinary into a large enough buffer: %v allocs", a)
	}
	// Decoding frames of the same shape into one Snapshot reuses its memory.
	var into Snapshot
	if err := into.UnmarshalBinary(buf); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() {
		if err := into.UnmarshalBinary(buf); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("UnmarshalBinary into a warm Snapshot: %v allocs", a)
	}
	if !sameSnapshot(&into, s) {
		t.Fatal("reused decode differs")
	}
	// A fresh decode allocates the Snapshot, the id and one float block.
	if a := testing.AllocsPerRun(100, func() {
		if _, err := DecodeSnapshot(buf); err != nil {
			t.Fatal(err)
		}
	}); a > 3 {
		t.Fatalf("DecodeSnapshot: %v allocs", a)
	}
	// Decoded slices do not share capacity: appending to one leaves the next intact.
	got, _ := DecodeSnapshot(buf)
	next := got.Pred[0]
	_ = append(got.Proj, 99)
	if got.Pred[0] != next {
		t.Fatal("appending to Proj overwrote Pred")
	}
}

func TestSnapshotEncodeRejects(t *testing.T) {
	for name, mut := range map[string]func(*Snapshot){
		"empty run":      func(s *Snapshot) { s.Run = "" },
		"long run":       func(s *Snapshot) { s.Run = strings.Repeat("r", MaxIDLen+1) },
		"bad run":        func(s *Snapshot) { s.Run = "a b" },
		"flags":          func(s *Snapshot) { s.Flags = 0x8000 },
		"dim 0":          func(s *Snapshot) { s.Dim = 0 },
		"dim big":        func(s *Snapshot) { s.Dim = MaxDim + 1 },
		"odd proj":       func(s *Snapshot) { s.Proj = s.Proj[:3]; s.Pred = s.Pred[:3]; s.Target = s.Target[:3] },
		"pred short":     func(s *Snapshot) { s.Pred = s.Pred[:2] },
		"target short":   func(s *Snapshot) { s.Target = nil },
		"spectrum > dim": func(s *Snapshot) { s.Spectrum = make([]float32, s.Dim+1) },
		"std > dim":      func(s *Snapshot) { s.Std = make([]float32, s.Dim+1) },
		"too many points": func(s *Snapshot) {
			s.Proj, s.Pred, s.Target = make([]float32, 2*MaxPoints+2), make([]float32, 2*MaxPoints+2), make([]float32, 2*MaxPoints+2)
		},
	} {
		s := sampleSnapshot(4, 8)
		mut(s)
		if b, err := s.AppendBinary([]byte{1}); err == nil || len(b) != 1 {
			t.Errorf("%s: AppendBinary accepted it or wrote on error", name)
		}
	}
}

func TestDecodeSnapshotRejects(t *testing.T) {
	good, err := sampleSnapshot(3, 4).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// L = 5 ("run-1"), n = 3, d = 4, s = 4, t = 4.
	const L, n, sl = 5, 3, 4
	le := binary.LittleEndian
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	put16 := func(off int, v uint16) []byte {
		return edit(func(b []byte) []byte { le.PutUint16(b[off:], v); return b })
	}
	put32 := func(off int, v uint32) []byte {
		return edit(func(b []byte) []byte { le.PutUint32(b[off:], v); return b })
	}

	for _, tc := range []struct {
		name string
		in   []byte
		msg  string
	}{
		{"empty", nil, "truncated at magic"},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), "bad magic"},
		{"json", []byte(`{"type":"hello"}`), "bad magic"},
		{"version 0", put16(4, 0), "version 0"},
		{"version 2", put16(4, 2), "version 2"},
		{"unknown flags", put16(6, 0x0100), "unknown flag bits 0x0100"},
		{"id length 0", put16(8, 0), "run id length 0"},
		{"id length 65", put16(8, 65), "run id length 65"},
		{"id length lies", put16(8, 60), "invalid character"},
		{"id bytes", edit(func(b []byte) []byte { b[10] = 0; return b }), "invalid character"},
		{"n too big", put32(26+L, MaxPoints+1), "65537 points"},
		{"n huge", put32(26+L, math.MaxUint32), "points, the limit"},
		{"n lies", put32(26+L, 1000), "truncated at points"},
		{"d 0", put32(30+L, 0), "dimension 0"},
		{"d too big", put32(30+L, MaxDim+1), "dimension 4097"},
		{"spectrum > d", put32(34+L+24*n, 5), "spectrum length 5 exceeds dimension 4"},
		{"spectrum huge", put32(34+L+24*n, math.MaxUint32), "spectrum length"},
		{"spectrum lies", put32(30+L, 4), ""}, // d unchanged: still valid (control)
		{"std > d", put32(38+L+24*n+4*sl, 5), "std length 5 exceeds"},
		{"std shorter", put32(38+L+24*n+4*sl, 3), "4 trailing bytes"},
		{"std longer", edit(func(b []byte) []byte { return b[:len(b)-4] }), "truncated at std"},
		{"trailing", append(bytes.Clone(good), 0), "1 trailing bytes"},
		{"spectrum shorter", edit(func(b []byte) []byte {
			le.PutUint32(b[30+L:], 16) // d = 16 so that the lengths pass their caps
			le.PutUint32(b[34+L+24*n:], 16)
			return b
		}), "truncated at spectrum"},
	} {
		s, err := DecodeSnapshot(tc.in)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || s != nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.msg)
		}
	}
	// Every truncation of a valid frame is an error, never a panic.
	for i := range good {
		if _, err := DecodeSnapshot(good[:i]); err == nil {
			t.Errorf("truncated to %d bytes: accepted", i)
		}
	}
	// A wrong version is a *VersionError.
	_, err = DecodeSnapshot(put16(4, 2))
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Got != 2 || !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v", err)
	}
}

func BenchmarkSnapshotAppend(b *testing.B) {
	s := sampleSnapshot(512, 128)
	buf := make([]byte, 0, s.EncodedSize())
	b.SetBytes(int64(s.EncodedSize()))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = s.AppendBinary(buf[:0])
	}
}

func BenchmarkSnapshotDecode(b *testing.B) {
	frame, _ := sampleSnapshot(512, 128).MarshalBinary()
	var s Snapshot
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.UnmarshalBinary(frame); err != nil {
			b.Fatal(err)
		}
	}
}
