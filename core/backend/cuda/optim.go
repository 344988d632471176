package cuda

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/byol-lab/byol-lab/core/backend"
)

// The optimisers are one launch over every segment (LARS: two, for the
// per-segment norms). A segment table on the device maps each block to one
// chunk of one segment; it is rebuilt and uploaded only when the segments
// change, so a steady-state step neither allocates nor copies to the device.
// Hyper-parameters, which change every step (schedules), go as arguments.

var (
	kAdamW     = kernel("ops_adamw")
	kSGD       = kernel("ops_sgd")
	kLARSNorms = kernel("ops_lars_norms")
	kLARSApply = kernel("ops_lars_apply")
)

const (
	// segCacheSize tables are kept, so a few optimisers over different
	// segment lists (online network, a probe, …) do not evict each other.
	segCacheSize = 4
	segDecay     = 1 // SEG_DECAY in ops.cuh
	segAdapt     = 2 // SEG_ADAPT
	// Chunk bounds per block: at least 4 elements per thread, and at most
	// 64 so that large buffers still spread over every SM.
	optMinChunk = 4 * opsThreads
	optMaxChunk = 64 * opsThreads
)

// segTable is one segment list as uploaded: per segment [LRScale bits,
// flags, first block, blocks], then per block [offset, length, segment].
type segTable struct {
	segs  []backend.Segment // host copy, compared with each call's segments
	words []int32           // kept alive: the upload may be asynchronous
	dev   *Buf
	nseg  int
	nblk  int
	end   int    // highest Off+Len, checked against each call's buffer
	used  uint64 // LRU clock
}

// segTable returns the table for segs, building and uploading it when no
// cached table holds the same segments; nil when there is nothing to do.
func (c *CUDA) segTable(op string, p backend.Buffer, segs []backend.Segment) *segTable {
	if len(segs) == 0 {
		return nil
	}
	o := &c.ops
	o.tick++
	lru := &o.tables[0]
	for i := range o.tables {
		t := &o.tables[i]
		if t.segs != nil && slices.Equal(t.segs, segs) {
			t.used = o.tick
			if t.end > p.Len() {
				panic(fmt.Sprintf("cuda: %s: segments end at %d, past a buffer of %d", op, t.end, p.Len()))
			}
			if t.nblk == 0 {
				return nil
			}
			return t
		}
		if t.used < lru.used {
			lru = t
		}
	}
	total, end := 0, 0
	for _, s := range segs {
		if s.Off < 0 || s.Len < 0 || s.Off+s.Len > p.Len() {
			panic(fmt.Sprintf("cuda: %s: segment [%d:%d] outside a buffer of %d", op, s.Off, s.Off+s.Len, p.Len()))
		}
		total += s.Len
		end = max(end, s.Off+s.Len)
	}
	chunk := min(max(cdiv(cdiv(total, opsMaxGrid), opsThreads)*opsThreads, optMinChunk), optMaxChunk)
	words := make([]int32, 4*len(segs), 4*len(segs)+3*(cdiv(total, chunk)+len(segs)))
	nblk := 0
	for i, s := range segs {
		flags := int32(0)
		if s.Decay {
			flags |= segDecay
		}
		if s.Adapt {
			flags |= segAdapt
		}
		first := nblk
		for off := s.Off; off < s.Off+s.Len; off += chunk {
			words = append(words, int32(off), int32(min(chunk, s.Off+s.Len-off)), int32(i))
			nblk++
		}
		words[4*i], words[4*i+1] = int32(math.Float32bits(s.LRScale)), flags
		words[4*i+2], words[4*i+3] = int32(first), int32(nblk-first)
	}
	t := lru
	*t = segTable{segs: slices.Clone(segs), words: words, dev: t.dev, nseg: len(segs), nblk: nblk, end: end, used: o.tick}
	if t.dev == nil || t.dev.n < len(words) {
		t.dev = c.Alloc(len(words)).(*Buf)
	}
	c.d.HtoD(t.dev.ptr, unsafe.Pointer(&words[0]), 4*len(words))
	if nblk == 0 {
		return nil
	}
	return t
}

func (c *CUDA) AdamW(p, g, m, v backend.Buffer, segs []backend.Segment, h backend.AdamHyper) {
	t := c.segTable("AdamW", p, segs)
	if t == nil {
		return
	}
	// Bias corrections in float64, exactly as the CPU backend forms them.
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(h.Step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(h.Step))
	c.launch(kAdamW, Dim3{t.nblk, 1, 1}, opsBlock, P(p), P(g), P(m), P(v), P(t.dev), I(t.nseg),
		F(h.LR), F(h.Beta1), F(h.Beta2), F(1-h.Beta1), F(1-h.Beta2), F(h.Eps), F(h.WeightDecay),
		U(math.Float64bits(bc1)), U(math.Float64bits(bc2)))
}

func (c *CUDA) SGD(p, g, mom backend.Buffer, segs []backend.Segment, h backend.SGDHyper) {
	t := c.segTable("SGD", p, segs)
	if t == nil {
		return
	}
	c.launch(kSGD, Dim3{t.nblk, 1, 1}, opsBlock, P(p), P(g), P(mom), P(t.dev), I(t.nseg),
		F(h.LR), F(h.Momentum), F(h.WeightDecay))
}

// LARS: one launch writes every adapted block's (Σp², Σd²); in the second,
// each block sums its segment's partials in order and applies the update.
func (c *CUDA) LARS(p, g, mom backend.Buffer, segs []backend.Segment, h backend.SGDHyper) {
	t := c.segTable("LARS", p, segs)
	if t == nil {
		return
	}
	part := c.scratchBuf(2 * t.nblk)
	grid := Dim3{t.nblk, 1, 1}
	c.launch(kLARSNorms, grid, opsBlock, P(p), P(g), P(t.dev), I(t.nseg), F(h.WeightDecay), P(part))
	c.launch(kLARSApply, grid, opsBlock, P(p), P(g), P(mom), P(t.dev), I(t.nseg),
		F(h.LR), F(h.Momentum), F(h.WeightDecay), F(h.Trust), P(part))
}
