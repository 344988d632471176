package cuda

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/backend"
)

// Buf is a device buffer or a view into one.
type Buf struct {
	ptr  Ptr
	n    int
	root *alloc // keeps the allocation alive while views exist
}

// alloc is one device allocation, freed when no Buf refers to it.
type alloc struct {
	d   Driver
	ptr Ptr
}

// Len is the number of float32 elements.
func (b *Buf) Len() int { return b.n }

// Slice returns a view of n elements starting at off.
func (b *Buf) Slice(off, n int) backend.Buffer {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("cuda: slice [%d:%d] of a buffer of %d", off, off+n, b.n))
	}
	return &Buf{ptr: b.ptr + Ptr(4*off), n: n, root: b.root}
}

// Ptr is the buffer's device address.
func (b *Buf) Ptr() Ptr { return b.ptr }

// CUDA implements backend.Backend on a Driver. Like the CPU backend, a
// value is used by one goroutine at a time.
type CUDA struct {
	d    Driver
	fns  []Kernel
	args [32]uint64

	scratch *Buf // grows on demand: partial sums, …
	poison  bool // workspaces are filled with NaN each time they are handed out (tests)

	ops  opsState  // ops.go
	gemm gemmState // gemm.go
	conv convState // conv.go
	wino winoState // winograd.go
	nce  nceState  // contrastive.go
}

var _ backend.Backend = (*CUDA)(nil)

// New resolves every kernel the backend uses on d.
func New(d Driver) (*CUDA, error) {
	c := &CUDA{d: d, fns: make([]Kernel, len(kernelNames))}
	c.gemm.sms = gemmDefaultSMs
	if sc, ok := d.(SMCounter); ok && sc.SMs() > 0 {
		c.gemm.sms = sc.SMs()
	}
	for i, name := range kernelNames {
		k, err := d.Kernel(name)
		if err != nil {
			return nil, fmt.Errorf("cuda: kernel %s: %w", name, err)
		}
		c.fns[i] = k
	}
	return c, nil
}

// Driver is the driver the backend launches on.
func (c *CUDA) Driver() Driver { return c.d }

// Name identifies the backend and its device.
func (c *CUDA) Name() string { return "cuda (" + c.d.Device() + ")" }

// Sync waits for all launched work and returns the first error, if any.
func (c *CUDA) Sync() error { return c.d.Sync() }

// launch copies args into c.args so the variadic slice never escapes: a
// launch does not allocate.
func (c *CUDA) launch(k kid, grid, block Dim3, args ...uint64) {
	n := copy(c.args[:], args)
	c.d.Launch(c.fns[k], grid, block, c.args[:n])
}

// launch1D runs k with one thread per element of n, threads per block.
func (c *CUDA) launch1D(k kid, n, threads int, args ...uint64) {
	if n == 0 {
		return
	}
	nn := copy(c.args[:], args)
	c.d.Launch(c.fns[k], Dim3{(n + threads - 1) / threads, 1, 1}, Dim3{threads, 1, 1}, c.args[:nn])
}

// Alloc returns a zeroed buffer of n float32s.
func (c *CUDA) Alloc(n int) backend.Buffer {
	bytes := max(4*n, 4)
	p, err := c.d.Malloc(bytes)
	if err != nil {
		panic(fmt.Sprintf("cuda: allocating %d floats: %v", n, err))
	}
	a := &alloc{d: c.d, ptr: p}
	runtime.SetFinalizer(a, func(a *alloc) { a.d.Free(a.ptr) })
	b := &Buf{ptr: p, n: n, root: a}
	c.Fill(b, 0)
	return b
}

// AllocBytes returns device memory for n bytes (e.g. a dataset's uint8
// images), as a Buf whose Len counts 4-byte words.
func (c *CUDA) AllocBytes(n int) *Buf {
	return c.Alloc((n + 3) / 4).(*Buf)
}

// scratchBuf returns device scratch space of at least n floats. Its content
// is undefined; one op at a time uses it.
func (c *CUDA) scratchBuf(n int) *Buf { return c.grow(&c.scratch, n) }

// grow returns the workspace *b with room for n floats, reallocating only
// to grow. Its content is left from earlier ops; with c.poison it is NaN,
// so a kernel that reads a workspace value it did not write this op shows
// in every result (a stale value could be right by chance: ConvAuto runs
// the same op twice).
func (c *CUDA) grow(b **Buf, n int) *Buf {
	if *b == nil || (*b).n < n {
		*b = c.Alloc(n).(*Buf)
	}
	if c.poison && n > 0 {
		c.launch(kFill, elemGrid(n), opsBlock, P(*b), I(n), F(float32(math.NaN())))
	}
	return *b
}

func mustLen(op string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("cuda: %s: lengths %d and %d differ", op, a, b))
	}
}

func (c *CUDA) Upload(dst backend.Buffer, src []float32) {
	mustLen("Upload", len(src), dst.Len())
	if len(src) > 0 {
		c.d.HtoD(dst.(*Buf).ptr, unsafe.Pointer(&src[0]), 4*len(src))
	}
}

func (c *CUDA) Download(dst []float32, src backend.Buffer) {
	mustLen("Download", len(dst), src.Len())
	if len(dst) > 0 {
		c.d.DtoH(unsafe.Pointer(&dst[0]), src.(*Buf).ptr, 4*len(dst))
	}
	if err := c.d.Err(); err != nil {
		panic(fmt.Sprintf("cuda: %v", err))
	}
}

func (c *CUDA) Copy(dst, src backend.Buffer) {
	mustLen("Copy", dst.Len(), src.Len())
	if dst.Len() > 0 {
		c.d.DtoD(dst.(*Buf).ptr, src.(*Buf).ptr, 4*dst.Len())
	}
}
