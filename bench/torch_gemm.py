#!/usr/bin/env python3
"""SGEMM reference: GFLOP/s of torch.mm (and, on the CPU, numpy's np.dot).

C[M,N] = A[M,K] @ B[K,N] in float32 at 4096x4096x4096 and at each MxNxK shape
given. On CUDA each shape runs with TF32 off (plain fp32) and on, timed with
CUDA events; on the CPU torch.mm and np.dot (OpenBLAS in numpy's wheels) run
with --threads threads, timed with perf_counter. The median of --runs runs
after --warmup untimed ones counts; GFLOP/s = 2*M*N*K / time. Prints one JSON
line per shape.
"""
import argparse
import json
import os
import statistics
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("shapes", nargs="*", help="extra shapes as MxNxK, e.g. 512x512x4608")
ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
ap.add_argument("--runs", type=int, default=10, help="timed runs per shape (median)")
ap.add_argument("--warmup", type=int, default=3, help="untimed runs per shape first")
ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch and numpy (0: their defaults)")
args = ap.parse_args()

# BLAS libraries read their thread count when loaded: set it before importing.
if args.threads > 0:
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

if args.threads > 0:
    torch.set_num_threads(args.threads)


def set_tf32(on):
    """TF32 in cuBLAS matmuls, through the API the installed torch has."""
    if hasattr(torch.backends, "fp32_precision"):  # torch >= 2.9
        torch.backends.cuda.matmul.fp32_precision = "tf32" if on else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = on


def median_ms(fn, use_events):
    """Median wall time of fn() in ms over args.runs runs."""
    for _ in range(args.warmup):
        fn()
    times = []
    for _ in range(args.runs):
        if use_events:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def loaded_blas():
    """Names of the BLAS libraries loaded in this process (Linux), to tell
    OpenBLAS from MKL or the reference BLAS."""
    try:
        with open("/proc/self/maps") as f:
            libs = {os.path.basename(line.split()[-1]) for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        return sorted(lib for lib in libs if ".so" in lib)
    except OSError:
        return []


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def main():
    shapes = ["4096x4096x4096"] + [s for s in args.shapes if s != "4096x4096x4096"]
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    head = {"impl": "pytorch", "torch": torch.__version__, "device": args.device}
    if cuda:
        head["gpu_name"] = torch.cuda.get_device_name(dev)
    else:
        head.update(cpu=cpu_name(), threads=torch.get_num_threads(), numpy=np.__version__)
    for s in shapes:
        m, n, k = (int(v) for v in s.lower().split("x"))
        gflop = 2 * m * n * k / 1e9
        a = torch.randn(m, k, device=dev)
        b = torch.randn(k, n, device=dev)
        c = torch.empty(m, n, device=dev)
        row = dict(head, shape=s, m=m, n=n, k=k, runs=args.runs)
        modes = [("fp32", False), ("tf32", True)] if cuda else [("fp32", False)]  # TF32 is a GPU mode
        for name, tf32 in modes:
            set_tf32(tf32)
            ms = median_ms(lambda: torch.mm(a, b, out=c), cuda)
            row["torch_%s_ms" % name] = round(ms, 4)
            row["torch_%s_gflops" % name] = round(gflop / (ms / 1000), 1)
        set_tf32(False)
        if not cuda:
            an, bn = a.numpy(), b.numpy()
            cn = np.empty((m, n), dtype=np.float32)
            ms = median_ms(lambda: np.dot(an, bn, out=cn), False)
            row.update(numpy_ms=round(ms, 4), numpy_gflops=round(gflop / (ms / 1000), 1), blas=loaded_blas())
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
