#!/bin/sh
# Regenerates byol.ptx and byol.fatbin from the sources with nvcc
# (deterministic without -lineinfo/-G). Run through `go generate ./kernels`.
# OUT_DIR writes them elsewhere (the test that checks they are current).
set -eu
cd "$(dirname "$0")"
NVCC=${NVCC:-nvcc}
out=${OUT_DIR:-.}
# The CPU emulator's kernel table first: it needs no nvcc.
[ -n "${OUT_DIR:-}" ] || go run ./emu/gen -dir emu
$NVCC -ptx -arch=compute_80 -O3 -std=c++17 -o "$out/byol.ptx" byol.cu
$NVCC -fatbin -O3 -std=c++17 \
  -gencode arch=compute_80,code=sm_80 \
  -gencode arch=compute_90,code=sm_90 \
  -gencode arch=compute_80,code=compute_80 \
  -o "$out/byol.fatbin" byol.cu
