package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header. The reference implementation uses
// the same 100 MB cap; a real header is a few hundred bytes per tensor, so
// anything larger is corruption or an attempt to make us allocate.
const MaxHeaderSize = 100 << 20

// entry is one tensor as described by the header, before its bytes are known.
type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// Decode reads a whole safetensors stream from r. It reads at most the bytes
// the header accounts for plus one (to detect trailing garbage), growing its
// buffers as data actually arrives, so a lying header cannot make it
// allocate more than the input holds.
func Decode(r io.Reader) (map[string]Tensor, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("checkpoint: %w: input too short for the 8-byte header length", ErrInvalid)
		}
		return nil, nil, fmt.Errorf("checkpoint: reading header length: %w", err)
	}
	n, err := headerLen(lenBuf[:])
	if err != nil {
		return nil, nil, err
	}
	header, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: reading header: %w", err)
	}
	if uint64(len(header)) != n {
		return nil, nil, fmt.Errorf("checkpoint: %w: truncated header: length %d, only %d bytes follow", ErrInvalid, n, len(header))
	}
	entries, meta, dataLen, err := parseHeader(header)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	if dataLen >= math.MaxInt64 {
		return nil, nil, fmt.Errorf("checkpoint: %w: header describes %d data bytes", ErrInvalid, dataLen)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(dataLen)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: reading tensor data: %w", err)
	}
	tensors, err := assemble(entries, data, dataLen)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	return tensors, meta, nil
}

// DecodeBytes decodes a safetensors file held in memory. The returned
// tensors' Data slices alias b (with capacity clipped, so appending to one
// cannot overwrite its neighbour); copy them if b will be reused.
func DecodeBytes(b []byte) (map[string]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("checkpoint: %w: %d bytes is too short for the 8-byte header length", ErrInvalid, len(b))
	}
	n, err := headerLen(b[:8])
	if err != nil {
		return nil, nil, err
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("checkpoint: %w: truncated header: length %d, only %d bytes follow", ErrInvalid, n, len(b)-8)
	}
	entries, meta, dataLen, err := parseHeader(b[8 : 8+n])
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	tensors, err := assemble(entries, b[8+n:], dataLen)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	return tensors, meta, nil
}

func headerLen(b []byte) (uint64, error) {
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderSize {
		return 0, fmt.Errorf("checkpoint: %w: header length %d exceeds the %d-byte limit", ErrInvalid, n, MaxHeaderSize)
	}
	if n < 2 {
		return 0, fmt.Errorf("checkpoint: %w: header length %d is too short for a JSON object", ErrInvalid, n)
	}
	return n, nil
}

// parseHeader decodes and validates the JSON header. It returns the entries
// sorted by offset and the exact length the data section must have.
func parseHeader(h []byte) ([]entry, map[string]string, uint64, error) {
	if !utf8.Valid(h) {
		return nil, nil, 0, fmt.Errorf("%w: header is not valid UTF-8", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, 0, fmt.Errorf("%w: header is not a JSON object", ErrInvalid)
	}
	var (
		entries []entry
		meta    map[string]string
		seen    = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%w: header JSON: %v", ErrInvalid, err)
		}
		name, _ := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, nil, 0, fmt.Errorf("%w: header names %q twice", ErrInvalid, name)
		}
		seen[name] = true
		if name == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, 0, fmt.Errorf("%w: %s must map strings to strings: %v", ErrInvalid, metadataKey, err)
			}
			continue
		}
		var info struct {
			DType       *string  `json:"dtype"`
			Shape       []int64  `json:"shape"`
			DataOffsets []uint64 `json:"data_offsets"`
		}
		if err := dec.Decode(&info); err != nil {
			return nil, nil, 0, fmt.Errorf("%w: tensor %q: %v", ErrInvalid, name, err)
		}
		e, err := checkEntry(name, info.DType, info.Shape, info.DataOffsets)
		if err != nil {
			return nil, nil, 0, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, 0, fmt.Errorf("%w: header JSON: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, 0, fmt.Errorf("%w: trailing data after the header JSON object", ErrInvalid)
	}

	// The reference reader demands that the tensors tile the data section
	// exactly: no gaps, no overlaps, nothing left over.
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].begin != entries[j].begin {
			return entries[i].begin < entries[j].begin
		}
		return entries[i].end < entries[j].end
	})
	pos := uint64(0)
	for _, e := range entries {
		if e.begin != pos {
			return nil, nil, 0, fmt.Errorf("%w: tensor %q starts at byte %d, want %d (gap or overlap)", ErrInvalid, e.name, e.begin, pos)
		}
		pos = e.end
	}
	return entries, meta, pos, nil
}

func checkEntry(name string, dtype *string, shape64 []int64, offsets []uint64) (entry, error) {
	bad := func(format string, a ...any) (entry, error) {
		return entry{}, fmt.Errorf("%w: tensor %q: %s", ErrInvalid, name, fmt.Sprintf(format, a...))
	}
	if dtype == nil {
		return bad("missing dtype")
	}
	if shape64 == nil {
		return bad("missing shape")
	}
	if len(offsets) != 2 {
		return bad("data_offsets must be [begin, end], got %v", offsets)
	}
	shape := make([]int, len(shape64))
	for i, d := range shape64 {
		if d < 0 {
			return bad("negative dimension %d in shape %v", d, shape64)
		}
		if uint64(d) > math.MaxInt {
			return bad("dimension %d too large", d)
		}
		shape[i] = int(d)
	}
	need, err := byteLen(*dtype, shape)
	if err != nil {
		return entry{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	begin, end := offsets[0], offsets[1]
	if end < begin {
		return bad("data_offsets [%d, %d] end before begin", begin, end)
	}
	if end-begin != uint64(need) {
		return bad("data_offsets [%d, %d] hold %d bytes, %s%v needs %d", begin, end, end-begin, *dtype, shape, need)
	}
	return entry{name: name, dtype: *dtype, shape: shape, begin: begin, end: end}, nil
}

// assemble slices data into tensors after checking its length.
func assemble(entries []entry, data []byte, dataLen uint64) (map[string]Tensor, error) {
	if uint64(len(data)) < dataLen {
		return nil, fmt.Errorf("%w: truncated: header describes %d data bytes, file holds %d", ErrInvalid, dataLen, len(data))
	}
	if uint64(len(data)) > dataLen {
		return nil, fmt.Errorf("%w: %d bytes of trailing data after the last tensor", ErrInvalid, uint64(len(data))-dataLen)
	}
	tensors := make(map[string]Tensor, len(entries))
	for _, e := range entries {
		tensors[e.name] = Tensor{DType: e.dtype, Shape: e.shape, Data: data[e.begin:e.end:e.end]}
	}
	return tensors, nil
}
