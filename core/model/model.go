// Package model builds BYOL's networks from layers: the encoders (mlp, tiny,
// small, resnet18) and the MLP heads used as projector and predictor.
package model

import (
	"fmt"
	"math"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/nn"
)

// Archs lists the encoder architectures.
var Archs = []string{"mlp", "tiny", "small", "resnet18"}

// NewEncoder builds encoder arch for inputs of shape in, registering its
// parameters in ps under the prefix name. width scales resnet18's channels
// (1 = the standard 64-128-256-512) and is ignored by the other archs.
func NewEncoder(b backend.Backend, ps *nn.Params, name, arch string, in nn.Shape, width float64) (*nn.Sequential, error) {
	switch arch {
	case "mlp":
		return mlp(b, ps, name, in), nil
	case "tiny":
		return convNet(b, ps, name, in, [3]int{16, 32, 64}), nil
	case "small":
		return convNet(b, ps, name, in, [3]int{32, 64, 128}), nil
	case "resnet18":
		if !(width > 0) || width > 8 {
			return nil, fmt.Errorf("model: resnet18 width multiplier %v outside (0, 8]", width)
		}
		return resnet18(b, ps, name, in, width), nil
	}
	return nil, fmt.Errorf("model: unknown arch %q (want one of %v)", arch, Archs)
}

// convBNReLU appends conv → BatchNorm → ReLU and returns the output shape.
func convBNReLU(b backend.Backend, ps *nn.Params, name string, in nn.Shape, cout, k, stride int, layers *[]nn.Layer) nn.Shape {
	c := nn.NewConv2d(b, ps, name+".conv", in, cout, k, stride, k/2)
	s := c.OutShape()
	*layers = append(*layers, c, nn.NewBatchNorm(b, ps, name+".bn", s), nn.NewReLU(b, s))
	return s
}

// convNet is three 3×3 conv-BN-ReLU stages with strides 1-2-2 and global
// average pooling: small, fast, and enough to learn shapes and digits.
func convNet(b backend.Backend, ps *nn.Params, name string, in nn.Shape, widths [3]int) *nn.Sequential {
	var layers []nn.Layer
	s := in
	for i, w := range widths {
		stride := 2
		if i == 0 {
			stride = 1
		}
		s = convBNReLU(b, ps, fmt.Sprintf("%s.%d", name, i), s, w, 3, stride, &layers)
	}
	layers = append(layers, nn.NewGlobalAvgPool(b, s))
	return nn.NewSequential(in, layers...)
}

// mlp flattens the image and applies two Linear-BN-ReLU layers (512 → 256).
func mlp(b backend.Backend, ps *nn.Params, name string, in nn.Shape) *nn.Sequential {
	layers := []nn.Layer{nn.NewFlatten(in)}
	d := in.Size()
	for i, w := range []int{512, 256} {
		layers = append(layers,
			nn.NewLinear(b, ps, fmt.Sprintf("%s.%d.fc", name, i), d, w, false),
			nn.NewBatchNorm(b, ps, fmt.Sprintf("%s.%d.bn", name, i), nn.Vec(w)),
			nn.NewReLU(b, nn.Vec(w)))
		d = w
	}
	return nn.NewSequential(in, layers...)
}

// resnet18 is the CIFAR variant: a 3×3 stride-1 stem and no max-pool, so
// 32×32 inputs keep enough resolution, then four stages of two basic blocks.
func resnet18(b backend.Backend, ps *nn.Params, name string, in nn.Shape, width float64) *nn.Sequential {
	var layers []nn.Layer
	ch := func(c int) int { return max(1, int(math.Round(float64(c)*width))) }
	s := convBNReLU(b, ps, name+".stem", in, ch(64), 3, 1, &layers)
	for stage, c := range []int{64, 128, 256, 512} {
		for blk := 0; blk < 2; blk++ {
			stride := 1
			if stage > 0 && blk == 0 {
				stride = 2
			}
			bb := nn.NewBasicBlock(b, ps, fmt.Sprintf("%s.layer%d.%d", name, stage+1, blk), s, ch(c), stride)
			layers = append(layers, bb)
			s = bb.OutShape()
		}
	}
	layers = append(layers, nn.NewGlobalAvgPool(b, s))
	return nn.NewSequential(in, layers...)
}

// NewHead builds the projector/predictor MLP: Linear → BatchNorm → ReLU →
// Linear (BatchNorm left out when bn is false, the collapse ablation).
func NewHead(b backend.Backend, ps *nn.Params, name string, in, hidden, out int, bn bool) *nn.Sequential {
	layers := []nn.Layer{nn.NewLinear(b, ps, name+".0", in, hidden, true)}
	if bn {
		layers = append(layers, nn.NewBatchNorm(b, ps, name+".1", nn.Vec(hidden)))
	}
	layers = append(layers, nn.NewReLU(b, nn.Vec(hidden)), nn.NewLinear(b, ps, name+".3", hidden, out, true))
	return nn.NewSequential(nn.Vec(in), layers...)
}
