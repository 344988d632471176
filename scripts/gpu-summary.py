#!/usr/bin/env python3
"""Summarise a `scripts/gpu-check.sh run` results folder as Markdown tables.

    python3 scripts/gpu-summary.py DIR

DIR holds what the check wrote: bench.txt (byol-lab's `bench` lines, one
per convolution algorithm, PyTorch's JSON line for the same arch and batch,
and the kernel profiles), gemm.txt (`go test -bench Sgemm`), conv.txt
(`go test -bench Conv`), gemm_torch.txt (torch_gemm.py),
lab.txt and conformance.txt. Prints the issue's targets with ours, PyTorch's
and the ratio, so a GPU session's notes need no arithmetic by hand. Standard
library only (the GPU machine has python3 but no network).
"""
import json
import os
import re
import sys

# The targets: training-step speed ratio over PyTorch eager.
STEP_TARGETS = {("small", 256): 2.0, ("resnet18", 512): 1.0}

BENCH = re.compile(r"dataset=(\S+) arch=(\S+) batch=(\d+) .*?(?: conv=(\S+))?: ([\d.]+) ms/step, (\d+) img/s")
CONV = re.compile(r"^BenchmarkConv/(.+)/(forward|backward_data|backward_filter)/(im2col|implicit|winograd4|winograd)\S*\s+\d+\s+\d+ ns/op\s+([\d.]+) GFLOP/s")
SGEMM = re.compile(r"^BenchmarkSgemm/([^/]+)/(fp32|tf32)/m=(\d+),n=(\d+),k=(\d+)\S*\s+\d+\s+\d+ ns/op\s+([\d.]+) GFLOP/s")
LAB = re.compile(r"lab run (\S+): ([\d.]+) steps/s, ([\d.]+) snapshots/s")


def read(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return []
    with open(p, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def steps(lines):
    """Rows (arch, batch, conv) -> [ours img/s, ours ms]; PyTorch's (arch, batch) -> [img/s, ms]."""
    ours, torch = {}, {}
    for line in lines:
        m = BENCH.search(line)
        if m:
            ours[(m.group(2), int(m.group(3)), m.group(4) or "")] = [float(m.group(6)), float(m.group(5))]
            continue
        if line.startswith("{"):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if "img_per_s" in r and "arch" in r:
                torch[(r["arch"], int(r["batch"]))] = [r["img_per_s"], r["ms_per_step"]]
    return ours, torch


def profiles(lines):
    """The kernel profiles in bench.txt: (arch, batch, conv) -> table lines."""
    out, key, table = {}, None, None
    for line in lines:
        m = BENCH.search(line)
        if m:
            key, table = (m.group(2), int(m.group(3)), m.group(4) or ""), None
        elif line.startswith("kernel profile over") and key:
            table = out.setdefault(key, [])
        elif table is not None:
            if not line.strip() or line.startswith("{"):
                table = None
            else:
                table.append(line)
    return out


def auto_choices(lines):
    """conv=auto's per-layer choices in bench.txt: (arch, batch) -> lines."""
    out, key, table = {}, None, None
    for line in lines:
        m = BENCH.search(line)
        if m:
            key, table = (m.group(2), int(m.group(3))), None
        elif line.startswith("conv=auto chose") and key:
            table = out.setdefault(key, [])
        elif table is not None:
            if line.startswith("  "):
                table.append(line.strip())
            else:
                table = None
    return out


def fmt(x, spec="{:,.0f}"):
    return "–" if x is None else spec.format(x)


def main(d):
    bench = read(d, "bench.txt")
    print("| BYOL step | byol-lab img/s (ms) | PyTorch img/s (ms) | ratio | target |")
    print("|---|---|---|---|---|")
    ours_steps, torch_steps = steps(bench)
    for (arch, batch, conv), (o, oms) in sorted(ours_steps.items()):
        t, tms = torch_steps.get((arch, batch), [None, None])
        ratio = o / t if o and t else None
        target = STEP_TARGETS.get((arch, batch))
        verdict = "" if target is None or ratio is None else ("≥ %g× %s" % (target, "✔" if ratio >= target else "✘"))
        print("| %s, batch %d%s | %s (%s) | %s (%s) | %s | %s |" % (
            arch, batch, ", conv " + conv if conv else "", fmt(o), fmt(oms, "{:.1f} ms"), fmt(t),
            fmt(tms, "{:.1f} ms"), fmt(ratio, "{:.2f}×"), verdict))

    convs = {}
    for line in read(d, "conv.txt"):
        m = CONV.match(line)
        if m:
            convs.setdefault((m.group(1).replace("_", " "), m.group(2).replace("_", " ")), {})[m.group(3)] = float(m.group(4))
    if convs:
        print()
        print("| convolution (pass), GFLOP/s (direct-conv FLOPs) | im2col | implicit | winograd | winograd4 | best / im2col |")
        print("|---|---|---|---|---|---|")
        for (layer, op), r in convs.items():
            a = r.get("im2col")
            best = max(r.values())
            print("| %s (%s) | %s | %s | %s | %s | %s |" % (
                layer, op, fmt(a), fmt(r.get("implicit")), fmt(r.get("winograd")), fmt(r.get("winograd4")),
                fmt(best / a if a else None, "{:.2f}×")))

    ours = {}
    for line in read(d, "gemm.txt"):
        m = SGEMM.match(line)
        if m:
            # The first of a shape is its plain (no transpose) variant.
            ours.setdefault((m.group(2), "%sx%sx%s" % m.group(3, 4, 5)), (m.group(1), float(m.group(6))))
    torch = {}
    for line in read(d, "gemm_torch.txt"):
        if line.startswith("{"):
            r = json.loads(line)
            torch[r["shape"]] = r
    if ours:
        print()
        print("| SGEMM M×N×K | ours GFLOP/s | torch.mm | % of cuBLAS |")
        print("|---|---|---|---|")
        for (prec, shape), (name, g) in ours.items():
            if prec != "fp32" or shape not in torch:
                continue
            t = torch[shape]["torch_fp32_gflops"]
            print("| %s (%s) | %s | %s | %.0f %% |" % (shape.replace("x", "×"), name, fmt(g), fmt(t), 100 * g / t))
        tf = ours.get(("tf32", "4096x4096x4096"))
        if tf and "4096x4096x4096" in torch:
            t = torch["4096x4096x4096"]["torch_tf32_gflops"]
            print("\nTF32 at 4096³: ours %s GFLOP/s, cuBLAS %s (%.0f %%)" % (fmt(tf[1]), fmt(t), 100 * tf[1] / t))

    lab = [LAB.search(l) for l in read(d, "lab.txt")]
    lab = [m for m in lab if m]
    if lab:
        snaps = [float(m.group(3)) for m in lab]
        print("\nLive lab: %d runs, %s snapshots/s per run (target ≥ 10 %s)" % (
            len(lab), " / ".join("%.1f" % s for s in snaps), "✔" if min(snaps) >= 10 else "✘"))

    conf = read(d, "conformance.txt")
    if conf:
        # Subtests count too: they are indented under their test.
        passed = sum(l.lstrip().startswith("--- PASS") for l in conf)
        failed = [l.strip() for l in conf if l.lstrip().startswith("--- FAIL")]
        print("\nConformance (tests and subtests): %d passed, %d failed%s" % (passed, len(failed), "".join("\n  " + l for l in failed)))

    for (arch, batch), table in sorted(auto_choices(bench).items()):
        print("\nconv=auto's choices, %s batch %d (layer, pass, choice, each algorithm's time):" % (arch, batch))
        for line in table:
            print("    " + line)

    for (arch, batch, conv), table in sorted(profiles(bench).items()):
        print("\nKernel profile, %s batch %d%s (top 8 of %d rows, then the total):" % (
            arch, batch, ", conv " + conv if conv else "", len(table) - 2))
        body = table[1:-1]
        for line in [table[0]] + body[:8] + [table[-1]]:
            print("    " + line)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
