#!/usr/bin/env bash
# cpu-compare.sh: byol-lab's CPU backend against PyTorch 1.13 (and numpy's
# OpenBLAS) on this machine, side by side: the same BYOL step (MNIST, batch
# 256, augmentations included) and the same SGEMM shapes, run alternately
# and repeated, with medians and ratios in one table. See bench/README.md.
#
#   bench/cpu-compare.sh                  # 3 rounds, 2 threads, tiny and small
#   bench/cpu-compare.sh -r 5 -a tiny     # 5 rounds, tiny only
#   bench/cpu-compare.sh --no-gemm        # training steps only
#
# The machine is shared: only numbers from one run of this script compare,
# and the load average is printed with them.
set -euo pipefail

rounds=3
threads=2
archs="tiny small"
timed=20
warmup=3
step=1
gemm=1
avx512=1
gemm_threads="1 2"
# The trainer's GEMMs as torch.mm would run them: linear layers (batch
# 2×256), per-image convolutions Cout × Ho·Wo × Cin·9, and the 7×7-output
# convolutions as byol-lab batches them (9 and 4 images to a GEMM).
shapes="512x512x64 512x64x512 512x512x512 64x512x512 16x784x9 32x196x144 64x49x288 64x441x288 128x49x1152 128x196x576 16x1024x27 1152x49x128 64x576x1024 1024x1024x1024"

usage() {
	cat <<EOF
usage: $0 [options]
  -r N          rounds (each runs every side once; default $rounds)
  -t N          threads for the training steps (default $threads)
  -a "ARCHS"    encoders (default "$archs")
  -s N          timed steps per run (default $timed; $warmup untimed first)
  -g "T..."     thread counts for SGEMM (default "$gemm_threads")
  -S "SHAPES"   SGEMM shapes MxNxK (default: the model's, and 1024³; 4096³ is always run)
  --no-step     skip the training steps
  --no-gemm     skip SGEMM
  --no-avx512   skip the PyTorch runs with ATEN_CPU_CAPABILITY=avx512 (plain,
                and tuned: also OMP_WAIT_POLICY=passive, which keeps PyTorch's
                OpenMP threads from spinning at barriers when other jobs hold
                the cores, and channels-last tensors, ~10% faster here)
Environment: PYTHON (default /usr/bin/python3: Debian's torch 1.13 and numpy),
OPENBLAS_CORETYPE (default Cooperlake: OpenBLAS 0.3.21 may not know the CPU).
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	-r) rounds=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	-a) archs=$2; shift 2 ;;
	-s) timed=$2; shift 2 ;;
	-g) gemm_threads=$2; shift 2 ;;
	-S) shapes=$2; shift 2 ;;
	--no-step) step=0; shift ;;
	--no-gemm) gemm=0; shift ;;
	--no-avx512) avx512=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-/usr/bin/python3}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Cooperlake}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results # lines: key impl round value

log() { echo "$*" >&2; }

log "building byol-lab and the SGEMM benchmark"
(cd "$root" && go build -o "$work/byol-lab" ./cmd/byol-lab && go test -c -o "$work/gemm.test" ./core/backend/cpu/gemm)

# median of the numbers on stdin ("-" if none)
median() {
	sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# get KEY IMPL: the median of the recorded values
get() { awk -v k="$1" -v i="$2" '$1 == k && $2 == i {print $4}' "$results" | median; }

# ratio KEY A B...: the median over rounds of A over the best of B... in
# the same round (the load drifts between rounds far more than within
# one), to two decimals
ratio() {
	k=$1 a=$2
	shift 2
	awk -v k="$k" -v a="$a" -v bs=" $* " '$1 == k && $2 == a {x[$3] = $4}
		$1 == k && index(bs, " " $2 " ") && $4 > y[$3] {y[$3] = $4}
		END { for (r in x) if (y[r] > 0) print x[r] / y[r] }' "$results" |
		median | awk '{ if ($1 == "-") print "-"; else printf "%.2f\n", $1 }'
}

run_ours() { # arch
	"$work/byol-lab" bench --dataset mnist --arch "$1" --batch 256 --threads "$threads" \
		--warmup "$warmup" --timed "$timed" | sed -n 's/.* \([0-9.]*\) img\/s.*/\1/p'
}

run_torch() { # arch capability [omp-wait-policy extra-flags]
	env ${2:+ATEN_CPU_CAPABILITY=$2} ${3:+OMP_WAIT_POLICY=$3} "$py" "$root/bench/torch_byol.py" --device cpu --dataset mnist \
		--arch "$1" --batch 256 --threads "$threads" --steps "$timed" --warmup "$warmup" ${4:-} |
		sed -n 's/.*"img_per_s": \([0-9.]*\).*/\1/p'
}

record() { # key impl round value
	[ -n "$4" ] && echo "$1 $2 $3 $4" >>"$results"
	log "  $1 $2: ${4:-failed}"
}

touch "$results"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if [ "$step" = 1 ]; then
	sides="ours torch"
	[ "$avx512" = 1 ] && sides="$sides torch512 torchtuned"
	for r in $(seq "$rounds"); do
		for arch in $archs; do
			# Alternate the order between rounds so neither side always
			# runs first after a quiet (or busy) spell.
			order=$sides
			[ $((r % 2)) = 0 ] && order=$(echo "$sides" | tr ' ' '\n' | tac | tr '\n' ' ')
			log "round $r/$rounds, $arch: $order"
			for s in $order; do
				case $s in
				ours) record "step-$arch" ours "$r" "$(run_ours "$arch")" ;;
				torch) record "step-$arch" torch "$r" "$(run_torch "$arch" "")" ;;
				torch512) record "step-$arch" torch512 "$r" "$(run_torch "$arch" avx512)" ;;
				torchtuned) record "step-$arch" torchtuned "$r" "$(run_torch "$arch" avx512 passive --channels-last)" ;;
				esac
			done
		done
	done
fi

if [ "$gemm" = 1 ]; then
	# torch_gemm.py always times 4096³; so do we.
	csv=4096x4096x4096,$(echo "$shapes" | tr ' ' ',')
	for t in $gemm_threads; do
		for r in $(seq "$rounds"); do
			log "round $r/$rounds, SGEMM, $t thread(s)"
			SGEMM_SHAPES=$csv SGEMM_THREADS=$t "$work/gemm.test" -test.run '^$' \
				-test.bench 'SgemmShapes' -test.benchtime 300ms |
				awk -v t="$t" -v r="$r" '/^BenchmarkSgemmShapes/ {
					split($1, p, "/"); for (i = 2; i < NF; i++) if ($(i + 1) == "med-GFLOP/s") print "gemm-" p[2] "-" t, "ours", r, $i }' >>"$results"
			"$py" "$root/bench/torch_gemm.py" --device cpu --threads "$t" --runs 15 --warmup 3 $shapes |
				"$py" -c '
import json, sys
t, rnd = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    r = json.loads(line)
    k = "gemm-%s-%s" % (r["shape"], t)
    print(k, "numpy", rnd, r["numpy_gflops"])
    print(k, "torch", rnd, r["torch_fp32_gflops"])' "$t" "$r" >>"$results"
		done
	done
	ghz=$("$work/gemm.test" -test.run '^$' -test.bench 'Clock' -test.benchtime 10x |
		awk '/^BenchmarkClock/ { for (i = 2; i < NF; i++) if ($(i + 1) == "cpu-GHz") print $i }')
fi

echo
echo "byol-lab vs PyTorch $("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $rounds round(s); a ratio is the median of the ratios within each round"
if [ "$step" = 1 ]; then
	echo
	echo "BYOL training step, MNIST, batch 256, augmentations included, $threads threads (img/s)"
	echo "(torch-512: ATEN_CPU_CAPABILITY=avx512; torch-tuned: also OMP_WAIT_POLICY=passive and channels-last;"
	echo " vs-torch: byol-lab/torch; vs-best: byol-lab over the best PyTorch run of the round)"
	printf "%-6s %9s %9s %10s %11s %9s %8s\n" arch byol-lab torch torch-512 torch-tuned vs-torch vs-best
	for arch in $archs; do
		printf "%-6s %9s %9s %10s %11s %9s %8s\n" "$arch" "$(get "step-$arch" ours)" "$(get "step-$arch" torch)" \
			"$(get "step-$arch" torch512)" "$(get "step-$arch" torchtuned)" \
			"$(ratio "step-$arch" ours torch)" "$(ratio "step-$arch" ours torch torch512 torchtuned)"
	done
fi
if [ "$gemm" = 1 ]; then
	echo
	echo "SGEMM C = A·B, fp32 (GFLOP/s); peak = 32 FLOP/cycle/core × ${ghz:-?} GHz (measured)"
	printf "%-16s %3s %9s %9s %9s %9s %8s\n" MxNxK thr byol-lab numpy torch vs-numpy %peak
	for t in $gemm_threads; do
		for s in 4096x4096x4096 $shapes; do
			o=$(get "gemm-$s-$t" ours)
			n=$(get "gemm-$s-$t" numpy)
			tt=$(get "gemm-$s-$t" torch)
			peak=$(awk -v o="$o" -v g="${ghz:-0}" -v t="$t" 'BEGIN { if (o == "-" || g == 0) print "-"; else printf "%.0f%%", 100 * o / (32 * g * t) }')
			[ "$o$n" = "--" ] && continue
			printf "%-16s %3s %9s %9s %9s %9s %8s\n" "$s" "$t" "$o" "$n" "$tt" "$(ratio "gemm-$s-$t" ours numpy)" "$peak"
		done
	done
fi
