// Package checkpoint reads and writes safetensors files: the trainer's
// weights, optimiser state and run metadata in one file that PyTorch,
// JAX and numpy users can open with the reference `safetensors` library.
//
// The format is deliberately tiny: an 8-byte little-endian header length N,
// N bytes of JSON describing each tensor (dtype, shape, byte range), then the
// raw little-endian tensor bytes. Encode reproduces the reference
// implementation's layout byte for byte (compact JSON, tensors ordered by
// dtype size then name, header padded with spaces to 8 bytes) so identical
// state always gives identical files. Decode treats its input as hostile:
// every length, offset and shape is checked before it is trusted.
package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrInvalid is wrapped by every error that reports a malformed file, so
// callers can tell "this is not a usable checkpoint" from an I/O failure.
var ErrInvalid = errors.New("invalid safetensors data")

// Dtype names as they appear in the JSON header.
const (
	DtypeF64  = "F64"
	DtypeF32  = "F32"
	DtypeF16  = "F16"
	DtypeBF16 = "BF16"
	DtypeI64  = "I64"
	DtypeI32  = "I32"
	DtypeI16  = "I16"
	DtypeI8   = "I8"
	DtypeU64  = "U64"
	DtypeU32  = "U32"
	DtypeU16  = "U16"
	DtypeU8   = "U8"
	DtypeBool = "BOOL"
	DtypeF8E5 = "F8_E5M2"
	DtypeF8E4 = "F8_E4M3"
)

// dtypeInfo gives each dtype's element size and its rank in the reference
// implementation's Dtype enum. The reference writer orders tensors by
// descending rank (roughly: widest first) so every tensor stays naturally
// aligned when the file is memory-mapped; we copy that order to produce the
// same bytes.
var dtypeInfo = map[string]struct{ size, rank int }{
	DtypeBool: {1, 0},
	DtypeU8:   {1, 1},
	DtypeI8:   {1, 2},
	DtypeF8E5: {1, 3},
	DtypeF8E4: {1, 4},
	DtypeI16:  {2, 5},
	DtypeU16:  {2, 6},
	DtypeF16:  {2, 7},
	DtypeBF16: {2, 8},
	DtypeI32:  {4, 9},
	DtypeU32:  {4, 10},
	DtypeF32:  {4, 11},
	DtypeF64:  {8, 12},
	DtypeI64:  {8, 13},
	DtypeU64:  {8, 14},
}

// DtypeSize returns the size in bytes of one element of dtype, or 0 if the
// dtype is unknown.
func DtypeSize(dtype string) int { return dtypeInfo[dtype].size }

// Tensor is one named array in a checkpoint. Data holds the elements in
// row-major order, little-endian, exactly as stored in the file.
type Tensor struct {
	DType string
	Shape []int
	Data  []byte
}

// NumElements returns the product of the shape (1 for a scalar, shape []),
// or an error if a dimension is negative or the product overflows.
func NumElements(shape []int) (int, error) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension %d in shape %v", ErrInvalid, d, shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, fmt.Errorf("%w: shape %v has too many elements", ErrInvalid, shape)
		}
		n = lo
	}
	return int(n), nil
}

// byteLen checks the dtype and shape and returns the number of data bytes the
// tensor must have.
func byteLen(dtype string, shape []int) (int, error) {
	size := DtypeSize(dtype)
	if size == 0 {
		return 0, fmt.Errorf("%w: unknown dtype %q", ErrInvalid, dtype)
	}
	n, err := NumElements(shape)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt/size {
		return 0, fmt.Errorf("%w: shape %v of %s is too large", ErrInvalid, shape, dtype)
	}
	return n * size, nil
}

// Validate reports whether the tensor's dtype is known, its shape is valid
// and len(Data) matches dtype × shape.
func (t Tensor) Validate() error {
	n, err := byteLen(t.DType, t.Shape)
	if err != nil {
		return err
	}
	if len(t.Data) != n {
		return fmt.Errorf("%w: %s%v needs %d bytes, have %d", ErrInvalid, t.DType, t.Shape, n, len(t.Data))
	}
	return nil
}

// F32 builds a float32 tensor. A nil shape means a vector of len(v).
// It panics if shape does not match len(v): that is a programming error.
func F32(shape []int, v []float32) Tensor {
	t := newTensor(DtypeF32, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
	}
	return t
}

// F64 builds a float64 tensor; see F32.
func F64(shape []int, v []float64) Tensor {
	t := newTensor(DtypeF64, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(x))
	}
	return t
}

// I64 builds an int64 tensor; see F32.
func I64(shape []int, v []int64) Tensor {
	t := newTensor(DtypeI64, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(x))
	}
	return t
}

// I32 builds an int32 tensor; see F32.
func I32(shape []int, v []int32) Tensor {
	t := newTensor(DtypeI32, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Data[4*i:], uint32(x))
	}
	return t
}

// U8 builds a uint8 tensor (the bytes are copied); see F32.
func U8(shape []int, v []uint8) Tensor {
	t := newTensor(DtypeU8, shape, len(v))
	copy(t.Data, v)
	return t
}

func newTensor(dtype string, shape []int, n int) Tensor {
	if shape == nil {
		shape = []int{n}
	}
	if m, err := NumElements(shape); err != nil || m != n {
		panic(fmt.Sprintf("checkpoint: shape %v does not hold %d elements", shape, n))
	}
	return Tensor{DType: dtype, Shape: append([]int(nil), shape...), Data: make([]byte, n*DtypeSize(dtype))}
}

// elems checks that t has the wanted dtype and a consistent length and
// returns its element count.
func (t Tensor) elems(dtype string) (int, error) {
	if t.DType != dtype {
		return 0, fmt.Errorf("checkpoint: tensor is %s, not %s", t.DType, dtype)
	}
	if err := t.Validate(); err != nil {
		return 0, err
	}
	return len(t.Data) / DtypeSize(dtype), nil
}

// Float32s decodes an F32 tensor into a new slice.
func (t Tensor) Float32s() ([]float32, error) {
	n, err := t.elems(DtypeF32)
	if err != nil {
		return nil, err
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}

// Float64s decodes an F64 tensor into a new slice.
func (t Tensor) Float64s() ([]float64, error) {
	n, err := t.elems(DtypeF64)
	if err != nil {
		return nil, err
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return v, nil
}

// Int64s decodes an I64 tensor into a new slice.
func (t Tensor) Int64s() ([]int64, error) {
	n, err := t.elems(DtypeI64)
	if err != nil {
		return nil, err
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return v, nil
}

// Int32s decodes an I32 tensor into a new slice.
func (t Tensor) Int32s() ([]int32, error) {
	n, err := t.elems(DtypeI32)
	if err != nil {
		return nil, err
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}

// Uint8s returns a copy of a U8 tensor's bytes.
func (t Tensor) Uint8s() ([]uint8, error) {
	if _, err := t.elems(DtypeU8); err != nil {
		return nil, err
	}
	return append([]uint8(nil), t.Data...), nil
}
