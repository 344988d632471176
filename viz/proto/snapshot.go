package proto

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// SnapshotMagic opens every snapshot frame.
const SnapshotMagic = "BYSN"

// Snapshot flags. Unknown bits are an error in this version.
const (
	// FlagPredictorOff: the run had its predictor switched off, so Pred is
	// the online projection again (the client may hide it).
	FlagPredictorOff uint16 = 1 << 0
	// FlagCollapsed: the server's collapse detector fired at this step.
	FlagCollapsed uint16 = 1 << 1

	knownFlags = FlagPredictorOff | FlagCollapsed
)

// Sizes of the snapshot frame (see the layout in the README and on
// Snapshot).
const (
	// snapshotFixed is every byte of a frame that does not depend on n, d or
	// the run id: magic, version, flags, id length, step, time, n, d and the
	// two u32 vector lengths.
	snapshotFixed = 4 + 2 + 2 + 2 + 8 + 8 + 4 + 4 + 4 + 4
	// MaxSnapshotSize is the largest valid frame.
	MaxSnapshotSize = snapshotFixed + MaxIDLen + 4*(3*2*MaxPoints+2*MaxDim)
)

// Snapshot is one point-cloud frame of one run: the probe images embedded
// by the online network (projection and prediction) and the target network
// (projection), each reduced to 2-D by the server's PCA (one basis for all
// three clouds, oriented to match the previous frame so points do not flip),
// plus the singular-value spectrum and per-dimension std of the d-dimensional
// normalised online projections. Point i of every cloud is probe image i.
//
// Binary layout, little-endian, no padding (offsets for a run id of L bytes):
//
//	off        size  field
//	0          4     magic "BYSN"
//	4          2     u16 version (= Version)
//	6          2     u16 flags (Flag*; other bits must be 0)
//	8          2     u16 L, run id length, 1..MaxIDLen
//	10         L     run id, [A-Za-z0-9._-]
//	10+L       8     u64 step
//	18+L       8     i64 time, Unix milliseconds
//	26+L       4     u32 n, points, 0..MaxPoints
//	30+L       4     u32 d, projection dimension, 1..MaxDim
//	34+L       8n    f32 Proj:   online projection, n × (x, y)
//	34+L+8n    8n    f32 Pred:   online prediction, n × (x, y)
//	34+L+16n   8n    f32 Target: target projection, n × (x, y)
//	34+L+24n   4     u32 s, spectrum length, 0..d
//	38+L+24n   4s    f32 Spectrum: singular values, largest first
//	38+L+24n+4s 4    u32 t, std length, 0..d
//	42+L+24n+4s 4t   f32 Std: per-dimension std
//
// The frame ends there: trailing bytes are an error. Float values are not
// checked (a diverged run sends NaN); every integer is.
type Snapshot struct {
	Flags uint16
	Run   string
	Step  uint64
	Time  int64 // Unix milliseconds
	Dim   int   // projection dimension d
	// Proj, Pred and Target hold n points each as x0, y0, x1, y1, ….
	Proj, Pred, Target []float32
	// Spectrum holds the singular values of the normalised online
	// projections, largest first (at most d).
	Spectrum []float32
	// Std holds the std of each of the d dimensions of the normalised
	// online projections (d values, or none).
	Std []float32
}

// N is the number of points.
func (s *Snapshot) N() int { return len(s.Proj) / 2 }

// Validate checks everything AppendBinary would encode and DecodeSnapshot
// would check.
func (s *Snapshot) Validate() error {
	if s.Flags&^knownFlags != 0 {
		return errf("flags", "unknown bits %#04x", s.Flags&^knownFlags)
	}
	if err := checkID("run", s.Run); err != nil {
		return err
	}
	if s.Dim < 1 || s.Dim > MaxDim {
		return errf("dim", "must be in 1..%d, got %d", MaxDim, s.Dim)
	}
	if len(s.Proj)%2 != 0 {
		return errf("proj", "must hold (x, y) pairs, got %d values", len(s.Proj))
	}
	if n := len(s.Proj) / 2; n > MaxPoints {
		return errf("proj", "at most %d points, got %d", MaxPoints, n)
	}
	if len(s.Pred) != len(s.Proj) {
		return errf("pred", "must have as many values as proj (%d), got %d", len(s.Proj), len(s.Pred))
	}
	if len(s.Target) != len(s.Proj) {
		return errf("target", "must have as many values as proj (%d), got %d", len(s.Proj), len(s.Target))
	}
	if len(s.Spectrum) > s.Dim {
		return errf("spectrum", "at most dim = %d values, got %d", s.Dim, len(s.Spectrum))
	}
	if len(s.Std) > s.Dim {
		return errf("std", "at most dim = %d values, got %d", s.Dim, len(s.Std))
	}
	return nil
}

// EncodedSize is the length of the frame AppendBinary writes.
func (s *Snapshot) EncodedSize() int {
	return snapshotFixed + len(s.Run) + 4*(3*len(s.Proj)+len(s.Spectrum)+len(s.Std))
}

// AppendBinary implements encoding.BinaryAppender: it validates s and
// appends its frame to dst. It allocates nothing when
// cap(dst)-len(dst) ≥ s.EncodedSize(), so a server can reuse one buffer per
// run.
func (s *Snapshot) AppendBinary(dst []byte) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return dst, fmt.Errorf("proto: snapshot: %w", err)
	}
	dst = slices.Grow(dst, s.EncodedSize())
	le := binary.LittleEndian
	dst = append(dst, SnapshotMagic...)
	dst = le.AppendUint16(dst, Version)
	dst = le.AppendUint16(dst, s.Flags)
	dst = le.AppendUint16(dst, uint16(len(s.Run)))
	dst = append(dst, s.Run...)
	dst = le.AppendUint64(dst, s.Step)
	dst = le.AppendUint64(dst, uint64(s.Time))
	dst = le.AppendUint32(dst, uint32(len(s.Proj)/2))
	dst = le.AppendUint32(dst, uint32(s.Dim))
	dst = appendFloats(dst, s.Proj)
	dst = appendFloats(dst, s.Pred)
	dst = appendFloats(dst, s.Target)
	dst = le.AppendUint32(dst, uint32(len(s.Spectrum)))
	dst = appendFloats(dst, s.Spectrum)
	dst = le.AppendUint32(dst, uint32(len(s.Std)))
	return appendFloats(dst, s.Std), nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (s *Snapshot) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, s.EncodedSize()))
}

func appendFloats(dst []byte, v []float32) []byte {
	i := len(dst)
	dst = dst[:i+4*len(v)] // capacity reserved by the caller
	for _, x := range v {
		binary.LittleEndian.PutUint32(dst[i:], math.Float32bits(x))
		i += 4
	}
	return dst
}

// DecodeSnapshot reads one snapshot frame into fresh memory (one allocation
// for all float data). It is safe on hostile input: every length is checked
// against its cap and against the bytes that remain before anything is
// allocated, so it allocates at most about len(b) bytes.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	s := new(Snapshot)
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return s, nil
}

// errShort reports a frame that ends before a field.
func errShort(field string, need, have int) error {
	return fmt.Errorf("proto: snapshot: truncated at %s: need %d more bytes, have %d", field, need, have)
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. It reuses the
// float slices of s when their capacity allows (a client decoding frames
// of the same size into one Snapshot allocates nothing after the first),
// so values from an earlier decode must not be retained by the caller, and
// the slices of s must not overlap. On error s is left in an unspecified
// state.
func (s *Snapshot) UnmarshalBinary(b []byte) error {
	le := binary.LittleEndian
	r := reader{b: b}
	magic, ok := r.bytes(4)
	if !ok {
		return errShort("magic", 4, r.left())
	}
	if string(magic) != SnapshotMagic {
		return fmt.Errorf("proto: snapshot: bad magic %q, want %q", magic, SnapshotMagic)
	}
	h, ok := r.bytes(6)
	if !ok {
		return errShort("version", 6, r.left())
	}
	if v := le.Uint16(h); v != Version {
		return &VersionError{Got: int(v)}
	}
	flags := le.Uint16(h[2:])
	if flags&^knownFlags != 0 {
		return fmt.Errorf("proto: snapshot: unknown flag bits %#04x", flags&^knownFlags)
	}
	idLen := int(le.Uint16(h[4:]))
	if idLen < 1 || idLen > MaxIDLen {
		return fmt.Errorf("proto: snapshot: run id length %d, want 1..%d", idLen, MaxIDLen)
	}
	id, ok := r.bytes(idLen)
	if !ok {
		return errShort("run id", idLen, r.left())
	}
	if err := checkID("run", id); err != nil {
		return fmt.Errorf("proto: snapshot: %w", err)
	}
	h, ok = r.bytes(24)
	if !ok {
		return errShort("step", 24, r.left())
	}
	step, time := le.Uint64(h), int64(le.Uint64(h[8:]))
	n, d := le.Uint32(h[16:]), le.Uint32(h[20:])
	if n > MaxPoints {
		return fmt.Errorf("proto: snapshot: %d points, the limit is %d", n, MaxPoints)
	}
	if d < 1 || d > MaxDim {
		return fmt.Errorf("proto: snapshot: dimension %d, want 1..%d", d, MaxDim)
	}
	// n ≤ 2^16, so 24n fits any int.
	clouds := 24 * int(n)
	if r.left() < clouds+4 {
		return errShort("points", clouds+4, r.left())
	}
	cloudBytes, _ := r.bytes(clouds)
	sLen, _ := r.u32()
	if sLen > d {
		return fmt.Errorf("proto: snapshot: spectrum length %d exceeds dimension %d", sLen, d)
	}
	if r.left() < 4*int(sLen)+4 {
		return errShort("spectrum", 4*int(sLen)+4, r.left())
	}
	specBytes, _ := r.bytes(4 * int(sLen))
	tLen, _ := r.u32()
	if tLen > d {
		return fmt.Errorf("proto: snapshot: std length %d exceeds dimension %d", tLen, d)
	}
	if r.left() != 4*int(tLen) {
		if r.left() < 4*int(tLen) {
			return errShort("std", 4*int(tLen), r.left())
		}
		return fmt.Errorf("proto: snapshot: %d trailing bytes", r.left()-4*int(tLen))
	}
	stdBytes, _ := r.bytes(4 * int(tLen))

	// Everything is checked: now allocate (or reuse) and copy. Missing
	// slices come from one block, each capped so that an append to one
	// cannot run into the next.
	k, sl, tl := 2*int(n), int(sLen), int(tLen)
	s.Proj, s.Pred, s.Target = fit(s.Proj, k), fit(s.Pred, k), fit(s.Target, k)
	s.Spectrum, s.Std = fit(s.Spectrum, sl), fit(s.Std, tl)
	var need int
	for _, v := range [...]struct {
		p *[]float32
		n int
	}{{&s.Proj, k}, {&s.Pred, k}, {&s.Target, k}, {&s.Spectrum, sl}, {&s.Std, tl}} {
		if *v.p == nil {
			need += v.n
		}
	}
	if need > 0 {
		block := make([]float32, need)
		for _, v := range [...]struct {
			p *[]float32
			n int
		}{{&s.Proj, k}, {&s.Pred, k}, {&s.Target, k}, {&s.Spectrum, sl}, {&s.Std, tl}} {
			if *v.p == nil && v.n > 0 {
				*v.p, block = block[:v.n:v.n], block[v.n:]
			}
		}
	}
	readFloats(s.Proj, cloudBytes)
	readFloats(s.Pred, cloudBytes[8*n:])
	readFloats(s.Target, cloudBytes[16*n:])
	readFloats(s.Spectrum, specBytes)
	readFloats(s.Std, stdBytes)

	if s.Run != string(id) { // the comparison does not allocate; a stream of one run's frames reuses its id
		s.Run = string(id)
	}
	s.Flags, s.Step, s.Time, s.Dim = flags, step, time, int(d)
	return nil
}

// fit returns v resliced to length n when its capacity allows, else nil
// (to be allocated). A nil v stays nil for n = 0.
func fit(v []float32, n int) []float32 {
	if cap(v) >= n && v != nil {
		return v[:n]
	}
	return nil
}

func readFloats(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// reader walks a byte slice; every read checks the remaining length.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || r.left() < n {
		return nil, false
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v, true
}

func (r *reader) u32() (uint32, bool) {
	v, ok := r.bytes(4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(v), true
}
