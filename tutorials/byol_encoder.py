"""Load the encoder of a byol-lab checkpoint into PyTorch.

    python3 tutorials/byol_encoder.py runs/mnist/checkpoint.safetensors

reads the checkpoint with the standard library alone (the safetensors
package is not needed), rebuilds the online encoder f_theta as a
torch.nn.Module, loads its weights and BatchNorm statistics, and prints what
it built. In your own code:

    from byol_encoder import load_encoder
    encoder, config = load_encoder("runs/mnist/checkpoint.safetensors")
    y = encoder(images)  # images: N x C x H x W floats in [0, 1]

The encoder normalises the images as byol-lab does and runs in eval mode, so
y is the representation byol-lab's kNN and linear probe evaluate
(tutorials/export_test.go checks that it matches byol-lab's own output).
"""
import json
import math
import struct
import sys
from collections import OrderedDict

import torch
from torch import nn


def read_safetensors(path):
    """Return ({name: float32 tensor}, metadata) of a .safetensors file.

    The format is an 8-byte little-endian header length, a JSON header
    (dtype, shape and data_offsets of each tensor; string metadata under
    "__metadata__"), then the raw little-endian data.
    """
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, h in header.items():
        if h["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {h['dtype']}, want F32")
        a, b = h["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(h["shape"])
    return tensors, meta


def state_dict(tensors, meta, net="online"):
    """Split a network's flat buffers into PyTorch-style named tensors.

    byol-lab keeps each network's parameters in one flat buffer
    ("online.params") and its BatchNorm running statistics in another
    ("online.state"). The "layout" metadata gives every parameter's name,
    offset and shape; the statistics follow the BatchNorm layers in the
    order they were built, running mean then running variance. A BatchNorm
    layer is the one 1-D parameter named ".weight" (convolutions and the
    encoders' linear layers have no bias; the heads' biases are ".bias").
    """
    layout = json.loads(meta["layout"])
    flat, stats = tensors[net + ".params"], tensors[net + ".state"]
    sd, off = OrderedDict(), 0
    for p in layout:
        n = math.prod(p["shape"])
        if p["offset"] + n > flat.numel():
            break  # the target network stops before the predictor
        sd[p["name"]] = flat[p["offset"]:p["offset"] + n].reshape(p["shape"])
        if len(p["shape"]) == 1 and p["name"].endswith(".weight"):
            bn, c = p["name"][: -len(".weight")], p["shape"][0]
            sd[bn + ".running_mean"] = stats[off:off + c]
            sd[bn + ".running_var"] = stats[off + c:off + 2 * c]
            off += 2 * c
    return sd


def conv_bn_relu(cin, cout, k, stride):
    # byol-lab: a k x k convolution without bias, padding k // 2, then
    # BatchNorm (eps 1e-5) and ReLU; names "conv" and "bn" as in its layout.
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
        bn=nn.BatchNorm2d(cout, eps=1e-5),
        relu=nn.ReLU()))


class BasicBlock(nn.Module):
    """ResNet's block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()  # the identity
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Encoder(nn.Module):
    """f_theta: images in [0, 1] (N x C x H x W) -> representation y (N x D)."""

    def __init__(self, config, first_weight_shape):
        super().__init__()
        norm = config["augment"]["normalize"]
        self.register_buffer("mean", torch.tensor(norm["mean"]).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(norm["std"]).view(1, -1, 1, 1))
        arch, body = config["arch"], OrderedDict()
        if arch in ("tiny", "small"):
            # Three 3x3 conv-BN-ReLU stages, strides 1-2-2, global average pool.
            c = first_weight_shape[1]
            for i, w in enumerate({"tiny": (16, 32, 64), "small": (32, 64, 128)}[arch]):
                body[str(i)] = conv_bn_relu(c, w, 3, 1 if i == 0 else 2)
                c = w
        elif arch == "resnet18":
            # The CIFAR variant: 3x3 stride-1 stem, no max-pool, 4 stages of 2 blocks.
            def ch(c):
                return max(1, math.floor(c * config["width"] + 0.5))
            c = ch(64)
            body["stem"] = conv_bn_relu(first_weight_shape[1], c, 3, 1)
            for stage, w in enumerate((64, 128, 256, 512)):
                blocks = OrderedDict()
                for i in range(2):
                    blocks[str(i)] = BasicBlock(c, ch(w), 2 if stage > 0 and i == 0 else 1)
                    c = ch(w)
                body[f"layer{stage + 1}"] = nn.Sequential(blocks)
        elif arch == "mlp":
            # Flatten, then two Linear (no bias)-BN-ReLU layers: 512, 256.
            d = first_weight_shape[1]
            for i, w in enumerate((512, 256)):
                body[str(i)] = nn.Sequential(OrderedDict(
                    fc=nn.Linear(d, w, bias=False), bn=nn.BatchNorm1d(w), relu=nn.ReLU()))
                d = w
        else:
            raise ValueError(f"unknown arch {arch!r}")
        self.arch = arch
        self.body = nn.Sequential(body)

    def forward(self, images):
        x = (images - self.mean) / self.std
        if self.arch == "mlp":
            return self.body(x.flatten(1))
        return self.body(x).mean(dim=(2, 3))


def load_encoder(path):
    """Return (the online encoder in eval mode, the training config)."""
    tensors, meta = read_safetensors(path)
    config = json.loads(meta["config"])
    sd = state_dict(tensors, meta)
    enc = OrderedDict((k[len("encoder."):], v) for k, v in sd.items() if k.startswith("encoder."))
    encoder = Encoder(config, next(iter(enc.values())).shape)
    missing, unexpected = encoder.body.load_state_dict(enc, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return encoder.eval(), config


if __name__ == "__main__":
    encoder, config = load_encoder(sys.argv[1])
    _, meta = read_safetensors(sys.argv[1])
    c, h, w = (1, 28, 28) if config["dataset"] == "mnist" else (3, 32, 32)
    with torch.no_grad():
        y = encoder(torch.rand(4, c, h, w))
    n = sum(p.numel() for p in encoder.parameters())
    print(f"{config['arch']} encoder trained {meta['step']} steps on {config['dataset']}: "
          f"{n} parameters, {c}x{h}x{w} images -> representations of {y.shape[1]} dimensions")
