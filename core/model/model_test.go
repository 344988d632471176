package model

import (
	"math/rand/v2"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/nn"
)

// Parameter counts are an independent check of the architectures: the
// CIFAR ResNet-18 without its classifier has 11,168,832 parameters in
// PyTorch (torchvision's BasicBlock layout, 3×3 stem, no max-pool).
func TestEncoderShapesAndSizes(t *testing.T) {
	rgb := nn.Shape{C: 3, H: 32, W: 32}
	for _, tc := range []struct {
		arch   string
		in     nn.Shape
		width  float64
		out    int
		params int
	}{
		{"tiny", nn.Shape{C: 1, H: 28, W: 28}, 1, 64, (16*1*9 + 32) + (32*16*9 + 64) + (64*32*9 + 128)},
		{"small", rgb, 1, 128, (32*3*9 + 64) + (64*32*9 + 128) + (128*64*9 + 256)},
		{"mlp", nn.Shape{C: 1, H: 28, W: 28}, 1, 256, 784*512 + 1024 + 512*256 + 512},
		{"resnet18", rgb, 1, 512, 11168832},
	} {
		b := cpu.New(nil)
		ps := &nn.Params{}
		enc, err := NewEncoder(b, ps, "encoder", tc.arch, tc.in, tc.width)
		if err != nil {
			t.Fatal(err)
		}
		if got := enc.OutShape(); got != nn.Vec(tc.out) {
			t.Errorf("%s: output shape %v, want %d-d", tc.arch, got, tc.out)
		}
		if ps.Len() != tc.params {
			t.Errorf("%s: %d parameters, want %d", tc.arch, ps.Len(), tc.params)
		}
	}
	if _, err := NewEncoder(cpu.New(nil), &nn.Params{}, "e", "vgg", rgb, 1); err == nil {
		t.Error("unknown arch accepted")
	}
	if _, err := NewEncoder(cpu.New(nil), &nn.Params{}, "e", "resnet18", rgb, 0); err == nil {
		t.Error("width 0 accepted")
	}
}

// A narrow ResNet-18 runs forward and backward on a small batch, and its
// gradients are finite and non-zero in every parameter tensor.
func TestResNetForwardBackward(t *testing.T) {
	b := cpu.New(nil)
	ps := &nn.Params{}
	in := nn.Shape{C: 3, H: 16, W: 16}
	enc, err := NewEncoder(b, ps, "encoder", "resnet18", in, 0.125)
	if err != nil {
		t.Fatal(err)
	}
	head := NewHead(b, ps, "projector", enc.OutShape().C, 16, 8, true)
	ps.Alloc(b, rand.New(rand.NewPCG(1, 2)))
	const n = 4
	x := b.Alloc(n * in.Size())
	r := rand.New(rand.NewPCG(3, 4))
	xs := cpu.Data(x)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	y := head.Forward(enc.Forward(nn.Tensor{Buf: x, N: n, Groups: 1, Shape: in}, true), true)
	if y.Shape != nn.Vec(8) || y.N != n {
		t.Fatalf("output %v×%d", y.Shape, y.N)
	}
	dy := b.Alloc(y.Len())
	ds := cpu.Data(dy)
	for i := range ds {
		ds[i] = float32(r.NormFloat64())
	}
	enc.Backward(head.Backward(nn.Tensor{Buf: dy, N: n, Groups: 1, Shape: y.Shape}, true), false)
	g := cpu.Data(ps.G)
	for _, p := range ps.List {
		var s float64
		for _, v := range g[p.Off : p.Off+p.Len()] {
			s += float64(v) * float64(v)
		}
		if !(s > 0) || s > 1e12 {
			t.Errorf("%s: gradient norm² %v", p.Name, s)
		}
	}
}
