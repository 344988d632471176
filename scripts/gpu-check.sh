#!/bin/sh
# The GPU check of the CUDA backend, in two halves:
#
#   scripts/gpu-check.sh prepare   here (Go + the CUDA toolkit, no GPU needed):
#                                  builds the cuda test and bench binaries into .gpu/
#   scripts/gpu-check.sh run       on the GPU machine (no Go there), in one call:
#                                  (a) conformance: every backend op vs the CPU backend
#                                  (b) whole BYOL steps, CPU vs CUDA
#                                  (c) benchmarks: SGEMM, convolutions, training throughput
#                                      with each convolution algorithm, live lab, and a
#                                      per-kernel profile of the steps
#                                  (d) the same configurations in PyTorch on the same GPU
#   scripts/gpu-check.sh rerun     the short confirmation after a change (about 2 minutes):
#                                  (a), (b) and the resnet18 and small steps with the
#                                  binary's own defaults against PyTorch, then the summary
#
# With the device tool: run(command="sh scripts/gpu-check.sh run", carry=[".gpu"],
# timeout_s=540).
# Results go to $OUT (or /tmp/gpu-check) and to stdout, ending with a
# Markdown summary against the issue's targets (scripts/gpu-summary.py).
set -eu
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
	mkdir -p .gpu
	grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
	go test -c -tags cuda -ldflags=-s -o .gpu/cuda.test ./core/backend/cuda
	go build -tags cuda -ldflags=-s -o .gpu/byol-lab ./cmd/byol-lab
	ls -la .gpu
	;;
run | rerun)
	mode=$1
	out=${OUT:-/tmp/gpu-check}
	mkdir -p "$out"
	step() { echo; echo "=== $*"; }
	summary() {
		step summary
		timeout 20 python3 scripts/gpu-summary.py "$out" | tee "$out/summary.md"
	}
	# Every part has its own time limit, so one hang cannot eat the lease,
	# and all of them share a budget (GPU_CHECK_SECONDS, default 500: give
	# the device call about 40 s more) that keeps the last 20 s for the
	# summary, so a slow run still ends with one and with every file so far.
	end=$(($(date +%s) + ${GPU_CHECK_SECONDS:-500} - 20))
	t() {
		lim=$1
		shift
		left=$((end - $(date +%s)))
		if [ "$left" -lt 5 ]; then
			echo "!!! skipped, out of time: $*"
			return 0
		fi
		[ "$lim" -le "$left" ] || lim=$left
		timeout "$lim" "$@" || echo "!!! exit $? from: $*"
	}

	step device
	nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
	python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())'

	step "(a)+(b) conformance and whole steps vs the CPU backend"
	t 90 .gpu/cuda.test -test.v -test.count=1 >"$out/conformance.txt" 2>&1
	grep -E '^(--- |ok|FAIL|PASS)|panic' "$out/conformance.txt" | grep -v '^--- PASS' || true
	echo "passed: $(grep -c -- '--- PASS' "$out/conformance.txt"), failed: $(grep -c -- '--- FAIL' "$out/conformance.txt")"

	# (c)+(d): ours and PyTorch's step, same model, batch, augmentations on the GPU.
	# Then --profile times every kernel of a few more steps (CUDA events
	# around each launch): where the step's GPU time goes.
	# Every convolution algorithm (im2col+GEMM, implicit GEMM, Winograd
	# F(2×2) and F(4×4), and auto: the fastest per layer, timed on first use,
	# which lists its choices) takes its turn on one trainer, so the fastest
	# can become the default.
	# A rerun keeps the binary's defaults and skips the profile.
	for cfg in "resnet18 512 2 6 3" "small 256 5 30 10"; do
		set -- $cfg
		extra="--conv im2col,implicit,winograd,winograd4,auto --profile $5"
		[ "$mode" = run ] || extra=
		step "(c)+(d) training step: arch $1, batch $2, shapes"
		t 120 .gpu/byol-lab bench --device cuda $extra --dataset shapes --arch "$1" --batch "$2" --warmup "$3" --timed "$4" 2>&1 | tee -a "$out/bench.txt"
		t 60 python3 bench/torch_byol.py --device cuda --dataset shapes --arch "$1" --batch "$2" --warmup "$3" --steps "$4" 2>&1 | tee -a "$out/bench.txt"
	done
	if [ "$mode" = rerun ]; then
		summary
		exit 0
	fi

	step "(c)+(d) SGEMM: ours, then torch.mm"
	t 60 .gpu/cuda.test -test.run '^$' -test.bench Sgemm -test.benchtime 5x 2>&1 | tee "$out/gemm.txt"
	step "(c) convolutions: im2col+GEMM, implicit GEMM, Winograd F(2×2), F(4×4), per layer and pass"
	t 60 .gpu/cuda.test -test.run '^$' -test.bench Conv -test.benchtime 5x 2>&1 | tee "$out/conv.txt"
	t 45 python3 bench/torch_gemm.py --device cuda 32x262144x27 64x65536x288 128x16384x576 64x288x65536 64x262144x576 512x4096x4608 512x512x512 2>&1 | tee "$out/gemm_torch.txt"

	step "(c) live lab: 4 runs on the GPU"
	t 40 .gpu/byol-lab bench --device cuda --lab 4 --seconds 8 2>&1 | tee "$out/lab.txt"

	step "(c)+(d) training step: arch tiny, batch 256, mnist-sized shapes"
	t 40 .gpu/byol-lab bench --device cuda --dataset shapes --arch tiny --batch 256 --warmup 5 --timed 30 2>&1 | tee -a "$out/bench.txt"
	t 40 python3 bench/torch_byol.py --device cuda --dataset shapes --arch tiny --batch 256 --warmup 5 --steps 30 2>&1 | tee -a "$out/bench.txt"

	summary
	;;
*)
	echo "usage: $0 prepare|run|rerun" >&2
	exit 2
	;;
esac
