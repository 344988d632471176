#!/usr/bin/env python3
"""PyTorch reference for byol-lab's training-step throughput.

One BYOL step exactly as byol-lab's trainer (core/byol/trainer.go) does it:
two augmented views of B images -> online net (encoder, projector,
predictor) and target net (encoder, projector) -> symmetric 2-2cos loss ->
backward through the online net -> Adam -> EMA of the target with cosine tau.
The model (core/model), heads, optimiser defaults (core/byol/config.go) and
augmentation presets (core/augment/preset.go) are copied from byol-lab.

The data are random uint8 images of the dataset's shape, resident on the
device: the benchmark measures the training step (augmentations included),
not file loading or host-to-device copies.

Throughput is counted like `byol-lab bench`: img_per_s = B * steps / seconds,
where one step processes both views of B images (2B encoder passes).

Works with torch 1.13 .. 2.x; needs no torchvision.
"""
import argparse
import copy
import json
import math
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- presets --
# Each view's pipeline, in byol-lab's order: crop -> rotate -> flip -> jitter
# -> grayscale -> blur -> solarize -> noise -> clamp -> normalise. A missing
# key or None means the transform is off (Enabled=false in byol-lab).


def rgb_view():  # augment.rgbPreset: the paper's table scaled to 32 px
    return dict(crop=dict(p=1.0, area=(0.2, 1.0), aspect=(3 / 4, 4 / 3)),
                flip=0.5,
                jitter=dict(p=0.8, b=0.4, c=0.4, s=0.2, h=0.1, random_order=True),
                gray=0.2,
                blur=dict(p=1.0, sigma=(0.1, 2.0), k=3),
                solarize=dict(p=0.0, t=0.5))


def preset(dataset):
    """Returns (shape, [view0, view1], mean, std) as in augment.Preset."""
    if dataset == "mnist":
        v = dict(crop=dict(p=1.0, area=(0.5, 1.0), aspect=(3 / 4, 4 / 3)),
                 jitter=dict(p=0.8, b=0.4, c=0.4, s=0.0, h=0.0, random_order=False),
                 blur=dict(p=0.5, sigma=(0.1, 2.0), k=5),
                 noise=dict(p=0.5, std=0.1))
        return (1, 28, 28), [v, copy.deepcopy(v)], [0.1307], [0.3081]
    views = [rgb_view(), rgb_view()]
    views[1]["blur"]["p"] = 0.1       # the paper's asymmetric blur ...
    views[1]["solarize"]["p"] = 0.2   # ... and solarize
    if dataset == "cifar10":
        return (3, 32, 32), views, [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]
    for v in views:                   # shapes: free rotation, full hue turn
        v["jitter"]["h"] = 0.5
        v["crop"]["area"] = (0.25, 1.0)
        v["rotate"] = dict(p=1.0, degrees=180.0)
    return (3, 32, 32), views, [0.5], [0.5]


# ---------------------------------------------------------- augmentations --
# Batched, per-sample random parameters, all on x's device. A transform with
# probability p is computed for the whole batch and kept where a per-sample
# coin says so (byol-lab skips it per image instead).

def coin(B, p, dev):
    return torch.rand(B, device=dev) < p


def uniform(shape, lo, hi, dev):
    return lo + (hi - lo) * torch.rand(shape, device=dev)


def luma(x):  # ITU-R 601 grey, (B,1,H,W); a 1-channel image is its own grey
    if x.shape[1] == 1:
        return x
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def crop_resize(u8, c):
    """RandomResizedCrop (torchvision get_params, 10 tries then a central
    crop) resized bilinearly to the input size, as augment.sampleCrop/resize:
    sample positions clamp to the crop box, align_corners=False."""
    B, C, H, W = u8.shape
    dev = u8.device
    x = u8.float() / 255
    # Ten tries per sample at once; keep the first that fits.
    area = H * W * uniform((B, 10), *c["area"], dev)
    ar = torch.exp(uniform((B, 10), math.log(c["aspect"][0]), math.log(c["aspect"][1]), dev))
    w = torch.round(torch.sqrt(area * ar))  # torch.round is half-to-even like Python's
    h = torch.round(torch.sqrt(area / ar))
    ok = (w > 0) & (w <= W) & (h > 0) & (h <= H)
    first = ok.float().argmax(1, keepdim=True)
    found = ok.any(1)
    # Fallback: the whole image with its aspect ratio clipped to the range.
    fh, fw = H, W
    if W / H < c["aspect"][0]:
        fh = max(1, round(W / c["aspect"][0]))
    elif W / H > c["aspect"][1]:
        fw = max(1, round(H * c["aspect"][1]))
    w = torch.where(found, w.gather(1, first)[:, 0], torch.full_like(w[:, 0], fw))
    h = torch.where(found, h.gather(1, first)[:, 0], torch.full_like(h[:, 0], fh))
    top = torch.where(found, torch.floor(torch.rand(B, device=dev) * (H - h + 1)), torch.floor((H - h) / 2))
    left = torch.where(found, torch.floor(torch.rand(B, device=dev) * (W - w + 1)), torch.floor((W - w) / 2))
    # Samples that skip the crop use the whole image (an exact copy).
    keep = ~coin(B, c["p"], dev)
    top, left = top.masked_fill(keep, 0), left.masked_fill(keep, 0)
    h, w = torch.where(keep, torch.full_like(h, H), h), torch.where(keep, torch.full_like(w, W), w)

    def axis(off, n, size):  # source pixel per output pixel -> grid coordinate
        s = off[:, None] + (torch.arange(size, device=dev) + 0.5) * (n / size)[:, None] - 0.5
        s = torch.minimum(torch.maximum(s, off[:, None]), (off + n - 1)[:, None])
        return (2 * s + 1) / size - 1

    gx, gy = axis(left, w, W), axis(top, h, H)
    grid = torch.stack((gx[:, None, :].expand(B, H, W), gy[:, :, None].expand(B, H, W)), -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def rotate(x, r):
    """Rotation by U(-deg, deg) about the centre, bilinear, edges replicated
    (augment.rotate); samples that skip it get angle 0."""
    B, C, H, W = x.shape
    ang = uniform(B, -r["degrees"], r["degrees"], x.device) * (math.pi / 180)
    ang = ang * coin(B, r["p"], x.device)
    cs, sn = torch.cos(ang), torch.sin(ang)
    zero = torch.zeros_like(ang)
    theta = torch.stack((torch.stack((cs, sn * H / W, zero), 1),
                         torch.stack((-sn * W / H, cs, zero), 1)), 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def hue_shift(x, f):
    """Hue rotation by f turns (torchvision's rgb->hsv->rgb, in closed form)."""
    v, lo = x.amax(1), x.amin(1)
    cr = v - lo
    safe = torch.where(cr == 0, torch.ones_like(cr), cr)
    rc, gc, bc = ((v - x[:, i]) / safe for i in range(3))
    h = torch.where(v == x[:, 0], bc - gc, torch.where(v == x[:, 1], 2 + rc - bc, 4 + gc - rc))
    h = torch.remainder(torch.remainder(h / 6 + 1, 1) + f[:, None, None], 1)
    n = (5 - 2 * torch.arange(3, device=x.device, dtype=x.dtype))[None, :, None, None]  # 5, 3, 1
    k = torch.remainder(n + 6 * h[:, None], 6)  # HSV->RGB: v - chroma*clamp(min(k,4-k),0,1)
    return v[:, None] - cr[:, None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def jitter(x, j):
    """ColorJitter in RandomApply(p), per-sample factors and (for
    random_order) a per-sample order of brightness, contrast, saturation,
    hue. Each sample does one op per position; brightness, contrast and
    saturation are all clamp(f*x + (1-f)*target) with target 0, mean grey or
    per-pixel grey, so one blend serves all three."""
    B, C = x.shape[:2]
    dev = x.device
    strength = [j["b"], j["c"], j["s"], j["h"]]
    enabled = [s > 0 and (op < 2 or C == 3) for op, s in enumerate(strength)]
    fac = torch.stack([uniform(B, max(0.0, 1 - s), 1 + s, dev) for s in strength[:3]]
                      + [uniform(B, -j["h"], j["h"], dev)], 1)
    if j["random_order"]:
        order = torch.rand(B, 4, device=dev).argsort(1)
    else:
        order = torch.arange(4, device=dev).expand(B, 4)
    applied = coin(B, j["p"], dev)
    for k in range(4):
        if not j["random_order"] and not enabled[k]:
            continue  # fixed order: this position's op is off for everyone
        op = order[:, k]
        on = applied.clone()  # applied and this op enabled (no host-to-device copy: no sync)
        for i in range(4):
            if not enabled[i]:
                on &= op != i
        op = torch.where(on, op, torch.full_like(op, -1))  # -1: nothing
        out = x
        if any(enabled[:3]):
            f = fac.gather(1, op.clamp(min=0)[:, None])[:, :, None, None]
            g = luma(x)
            tgt = torch.where((op == 0)[:, None, None, None], torch.zeros_like(g),
                              torch.where((op == 1)[:, None, None, None], g.mean((1, 2, 3), keepdim=True), g))
            blend = torch.clamp(f * x + (1 - f) * tgt, 0, 1)
            out = torch.where(((op >= 0) & (op <= 2))[:, None, None, None], blend, out)
        if enabled[3]:
            out = torch.where((op == 3)[:, None, None, None], hue_shift(x, fac[:, 3]), out)
        x = out
    return x


def blur(x, b):
    """Gaussian blur, sigma ~ U(lo, hi), k x k, reflect padding, separable
    (augment.blur); samples that skip it get a delta kernel (exact copy)."""
    B, C, H, W = x.shape
    dev = x.device
    k, r = b["k"], b["k"] // 2
    sigma = uniform(B, *b["sigma"], dev)
    t = torch.arange(k, device=dev, dtype=x.dtype) - (k - 1) / 2
    ker = torch.exp(-0.5 * (t[None] / sigma[:, None]) ** 2)
    ker = ker / ker.sum(1, keepdim=True)
    delta = (t == 0).to(x.dtype).expand(B, k)
    ker = torch.where(coin(B, b["p"], dev)[:, None], ker, delta).repeat_interleave(C, 0)
    y = F.pad(x.reshape(1, B * C, H, W), (r, r, r, r), mode="reflect")
    y = F.conv2d(y, ker.view(B * C, 1, 1, k), groups=B * C)  # rows
    y = F.conv2d(y, ker.view(B * C, 1, k, 1), groups=B * C)  # columns
    return y.view(B, C, H, W)


def augment(u8, v, mean, std):
    """One view of a uint8 batch (B,C,H,W) -> normalised float32."""
    B, C = u8.shape[:2]
    dev = u8.device
    x = crop_resize(u8, v["crop"])
    if v.get("rotate"):
        x = rotate(x, v["rotate"])
    if v.get("flip"):
        x = torch.where(coin(B, v["flip"], dev)[:, None, None, None], x.flip(3), x)
    if v.get("jitter"):
        x = jitter(x, v["jitter"])
    if v.get("gray") and C == 3:
        x = torch.where(coin(B, v["gray"], dev)[:, None, None, None], luma(x).expand(-1, 3, -1, -1), x)
    if v.get("blur"):
        x = blur(x, v["blur"])
    s = v.get("solarize")
    if s and s["p"] > 0:
        x = torch.where(coin(B, s["p"], dev)[:, None, None, None] & (x >= s["t"]), 1 - x, x)
    n = v.get("noise")
    if n and n["p"] > 0:
        x = x + n["std"] * torch.randn_like(x) * coin(B, n["p"], dev)[:, None, None, None]
    return (x.clamp(0, 1) - mean) / std


# ------------------------------------------------------------------ model --
# core/model: conv without bias, BatchNorm (momentum 0.1, eps 1e-5), ReLU;
# PyTorch's default initialisation (byol-lab copies it).

def conv_bn_relu(cin, cout, k, stride):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class BasicBlock(nn.Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)); 1x1 conv + BN
    shortcut when the stride or width changes (nn.BasicBlock)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.main(x) + (x if self.short is None else self.short(x)))


def encoder(arch, shape, width):
    """Returns (module, output features) as model.NewEncoder."""
    c, h, w = shape
    if arch == "mlp":  # flatten, two Linear(no bias)-BN-ReLU layers 512 -> 256
        return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 512, bias=False), nn.BatchNorm1d(512),
                             nn.ReLU(inplace=True), nn.Linear(512, 256, bias=False), nn.BatchNorm1d(256),
                             nn.ReLU(inplace=True)), 256
    pool = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if arch in ("tiny", "small"):  # three 3x3 stages, strides 1-2-2, global average pool
        widths = (16, 32, 64) if arch == "tiny" else (32, 64, 128)
        layers, cin = [], c
        for i, wd in enumerate(widths):
            layers += conv_bn_relu(cin, wd, 3, 1 if i == 0 else 2)
            cin = wd
        return nn.Sequential(*layers, *pool), cin
    # resnet18, CIFAR variant: 3x3 stride-1 stem, no max-pool; Go's math.Round
    # rounds half away from zero, hence floor(x + 0.5).
    ch = lambda n: max(1, int(math.floor(n * width + 0.5)))  # noqa: E731
    layers, cin = conv_bn_relu(c, ch(64), 3, 1), ch(64)
    for stage, n in enumerate((64, 128, 256, 512)):
        for blk in range(2):
            layers.append(BasicBlock(cin, ch(n), 2 if stage > 0 and blk == 0 else 1))
            cin = ch(n)
    return nn.Sequential(*layers, *pool), cin


def head(cin, hidden, out, bn):
    """Projector / predictor: Linear -> BatchNorm (optional) -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(cin, hidden), *([nn.BatchNorm1d(hidden)] if bn else []),
                         nn.ReLU(inplace=True), nn.Linear(hidden, out))


def byol_loss(p, z):  # 2 - 2 cos(p, z) per row; F.normalize's eps is byol-lab's
    return 2 - 2 * (F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(1)


# ------------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--dataset", choices=["mnist", "shapes", "cifar10"], default="mnist")
    ap.add_argument("--arch", choices=["mlp", "tiny", "small", "resnet18"], default="tiny")
    ap.add_argument("--width", type=float, default=1.0, help="resnet18 channel multiplier")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=50, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--proj-hidden", type=int, default=512)
    ap.add_argument("--proj-out", type=int, default=64)
    ap.add_argument("--pred-hidden", type=int, default=512)
    ap.add_argument("--head-bn", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--total-steps", type=int, default=2000, help="run length of the tau schedule (byol-lab's steps)")
    ap.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=False,
                    help="allow TF32 in matmul and cuDNN (off: plain fp32; note cuDNN's own default is on)")
    ap.add_argument("--cudnn-benchmark", action=argparse.BooleanOptionalAction, default=True,
                    help="let cuDNN pick the fastest conv algorithms (shapes are fixed)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                    help="torch.compile the networks (torch >= 2; eager is the reference)")
    ap.add_argument("--sync-loss", action=argparse.BooleanOptionalAction, default=False,
                    help="read the loss back every step, as byol-lab does for its divergence check")
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                    help="--no-augment feeds the plain normalised images as both views (model-only cost)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    set_tf32(a.tf32)
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format

    shape, views, mean, std = preset(a.dataset)
    mean = torch.tensor(mean, device=dev).view(1, -1, 1, 1)
    std = torch.tensor(std, device=dev).view(1, -1, 1, 1)
    # Random uint8 images resident on the device (see the module docstring).
    data = torch.randint(0, 256, (max(8192, a.batch),) + shape, dtype=torch.uint8, device=dev)

    # Online: encoder + projector (the part the target mirrors) and predictor.
    enc, feat = encoder(a.arch, shape, a.width)
    body = nn.Sequential(enc, head(feat, a.proj_hidden, a.proj_out, a.head_bn)).to(dev, memory_format=fmt)
    pred = head(a.proj_out, a.pred_hidden, a.proj_out, a.head_bn).to(dev)
    target = copy.deepcopy(body).requires_grad_(False)  # xi = theta at the start
    for m in (body, pred, target):
        m.train()  # the target's BatchNorm also uses batch statistics, as in byol-lab
    online_w, target_w = list(body.parameters()), list(target.parameters())
    # byol-lab's defaults for every dataset: Adam (AdamW, no decay), lr 1e-3 x B/256, constant.
    opt = torch.optim.Adam(online_w + list(pred.parameters()), lr=1e-3 * a.batch / 256,
                           betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    f_body, f_pred, f_target = body, pred, target
    if a.compile:
        f_body, f_pred, f_target = torch.compile(body), torch.compile(pred), torch.compile(target)

    def step(k):
        u8 = data[torch.randint(data.shape[0], (a.batch,), device=dev)]
        if a.augment:
            v1 = augment(u8, views[0], mean, std).contiguous(memory_format=fmt)
            v2 = augment(u8, views[1], mean, std).contiguous(memory_format=fmt)
        else:
            v1 = v2 = ((u8.float() / 255 - mean) / std).contiguous(memory_format=fmt)
        # BatchNorm statistics are per view (byol-lab's per-view BN groups),
        # so each view is its own forward pass.
        p1, p2 = f_pred(f_body(v1)), f_pred(f_body(v2))
        with torch.no_grad():
            z1, z2 = f_target(v1), f_target(v2)
        loss = (byol_loss(p1, z2) + byol_loss(p2, z1)).mean()  # L + L~, averaged over B
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # EMA with tau_k = 1 - (1 - 0.99)(cos(pi k / K) + 1) / 2 over the weights
        # (BatchNorm running statistics are not averaged, as in byol-lab).
        tau = 1 - (1 - 0.99) * (math.cos(math.pi * min(k / a.total_steps, 1)) + 1) / 2
        with torch.no_grad():
            torch._foreach_mul_(target_w, tau)
            torch._foreach_add_(target_w, online_w, alpha=1 - tau)
        if a.sync_loss:
            loss.item()
        return loss

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for k in range(a.warmup):
        step(k)
    sync()
    t0 = time.perf_counter()
    for k in range(a.warmup, a.warmup + a.steps):
        loss = step(k)
    sync()
    secs = time.perf_counter() - t0

    out = {"impl": "pytorch", "torch": torch.__version__, "device": a.device}
    if dev.type == "cuda":
        out["gpu_name"] = torch.cuda.get_device_name(dev)
    else:
        out["cpu"] = cpu_name()
        out["threads"] = torch.get_num_threads()
    out.update({"arch": a.arch, "width": a.width, "batch": a.batch, "dataset": a.dataset, "tf32": a.tf32,
                "channels_last": a.channels_last, "compile": a.compile, "cudnn_benchmark": a.cudnn_benchmark,
                "sync_loss": a.sync_loss, "augment": a.augment, "steps": a.steps, "warmup": a.warmup,
                "img_per_s": round(a.batch * a.steps / secs, 1), "ms_per_step": round(1000 * secs / a.steps, 3),
                "loss": round(loss.item(), 4)})
    print(json.dumps(out))


def set_tf32(on):
    """TF32 in cuBLAS matmuls and cuDNN convolutions, through the API the
    installed torch has (fp32_precision from 2.9 on, allow_tf32 before)."""
    if hasattr(torch.backends, "fp32_precision"):
        torch.backends.cuda.matmul.fp32_precision = "tf32" if on else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if on else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on  # cuDNN's default is on


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
