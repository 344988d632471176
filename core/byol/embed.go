package byol

import (
	"github.com/byol-lab/byol-lab/core/augment"
	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/nn"
)

// evalChunk is how many images go through the networks at once when
// embedding; it bounds evaluation memory independently of the set size.
const evalChunk = 256

// Embeddings are the outputs of both networks for a set of N images, without
// augmentation and with BatchNorm in evaluation mode. Rows are row-major.
type Embeddings struct {
	N       int
	ReprDim int       // encoder output (the representation y)
	ProjDim int       // projector output
	Repr    []float32 // online encoder: what kNN and the linear probe evaluate
	Proj    []float32 // online projection z
	Pred    []float32 // online prediction q(z), computed even with the predictor off
	Target  []float32 // target projection z'
}

type embedder struct {
	host  []float32
	input backend.Buffer
	// On a backend that makes views on the device, the splits embedded so
	// far live there too (the training split's augmenter serves its own),
	// so an evaluation uploads only indices.
	dev map[*data.Split]augment.DeviceAugmenter
}

// Embed computes the embeddings of split's images idx into out, reusing out's
// slices when they are large enough.
func (t *Trainer) Embed(split *data.Split, idx []int, out *Embeddings) {
	rd, pd := t.online.Encoder.OutShape().C, t.cfg.ProjOut
	out.N, out.ReprDim, out.ProjDim = len(idx), rd, pd
	out.Repr = grow(out.Repr, len(idx)*rd)
	out.Proj = grow(out.Proj, len(idx)*pd)
	out.Pred = grow(out.Pred, len(idx)*pd)
	out.Target = grow(out.Target, len(idx)*pd)
	t.forEachChunk(split, idx, func(lo, n int, x nn.Tensor) {
		// Every output has a buffer of its own, so all four are computed
		// before the first download: one wait for the device, not four.
		y := t.online.Encoder.Forward(x, false)
		z := t.online.Projector.Forward(y, false)
		q := t.online.Predictor.Forward(z, false)
		zt := t.target.Projector.Forward(t.target.Encoder.Forward(x, false), false)
		t.b.Download(out.Repr[lo*rd:(lo+n)*rd], y.Buf)
		t.b.Download(out.Proj[lo*pd:(lo+n)*pd], z.Buf)
		t.b.Download(out.Pred[lo*pd:(lo+n)*pd], q.Buf)
		t.b.Download(out.Target[lo*pd:(lo+n)*pd], zt.Buf)
	})
}

// EmbedRepr computes only the online encoder's representations of split's
// images idx (n × ReprDim rows) into out, reusing it when large enough: what
// kNN banks and linear probes need, at a fraction of Embed's cost.
func (t *Trainer) EmbedRepr(split *data.Split, idx []int, out []float32) []float32 {
	rd := t.online.Encoder.OutShape().C
	out = grow(out, len(idx)*rd)
	t.forEachChunk(split, idx, func(lo, n int, x nn.Tensor) {
		y := t.online.Encoder.Forward(x, false)
		t.b.Download(out[lo*rd:(lo+n)*rd], y.Buf)
	})
	return out
}

// forEachChunk makes the un-augmented images idx, in chunks of evalChunk,
// and calls f with each chunk's offset, size and input tensor.
func (t *Trainer) forEachChunk(split *data.Split, idx []int, f func(lo, n int, x nn.Tensor)) {
	size := t.shape.Size()
	e := &t.emb
	if e.input == nil {
		e.input = t.b.Alloc(evalChunk * size)
	}
	dev := t.deviceAugmenter(split)
	if dev == nil && e.host == nil {
		e.host = make([]float32, evalChunk*size)
	}
	for lo := 0; lo < len(idx); lo += evalChunk {
		n := min(evalChunk, len(idx)-lo)
		in := e.input
		if n < evalChunk {
			in = e.input.Slice(0, n*size)
		}
		if dev != nil {
			dev.Plain(in, idx[lo:lo+n])
		} else {
			t.aug.Plain(e.host[:n*size], split, idx[lo:lo+n])
			t.b.Upload(in, e.host[:n*size])
		}
		f(lo, n, nn.Tensor{Buf: in, N: n, Groups: 1, Shape: t.shape})
	}
}

// deviceAugmenter returns the device augmenter of split, uploading the
// split on first use, or nil where views are made on the host (or the
// upload fails: the host path then serves, as before).
func (t *Trainer) deviceAugmenter(split *data.Split) augment.DeviceAugmenter {
	if t.daug == nil {
		return nil
	}
	if split == t.train {
		return t.daug
	}
	e := &t.emb
	if a, ok := e.dev[split]; ok {
		return a
	}
	var a augment.DeviceAugmenter
	if split.C == t.shape.C {
		var err error
		if a, err = t.b.(augment.DeviceBackend).NewAugmenter(split, t.cfg.Augment, t.shape.C, t.shape.H, t.shape.W); err != nil {
			a = nil
		}
	}
	if e.dev == nil {
		e.dev = map[*data.Split]augment.DeviceAugmenter{}
	}
	e.dev[split] = a
	return a
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
