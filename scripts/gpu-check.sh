#!/usr/bin/env bash
# One short run on a GPU machine that does every GPU check and measurement of graphreach (issue 14).
#
# The GPU machine needs no Rust toolchain and no package registry. Beforehand, on an x86-64 machine
# with Rust, run `scripts/gpu-bundle.sh`: it puts the release binary and the GPU test binaries in
# gpu-bundle/ (git-ignored, under 64 MiB). Carry the repository checkout with gpu-bundle/ to the
# GPU machine and run, from the repository root:
#
#   scripts/gpu-check.sh OUT_DIR
#
# Steps, each under its own timeout and all within GPU_CHECK_BUDGET_S (default 450 s, so the whole
# run stays under 8 minutes; a step the budget cannot fit any more is recorded as skipped):
#   env          machine, driver, glibc, and where libcuda / libnvrtc / libcublas were found
#   backends     `graphreach backends`
#   kernels      `graphreach backends --check-kernels` (NVRTC compile of every kernels/*.cu)
#   tests        the GPU test binaries with GRAPHREACH_REQUIRE_CUDA=1 (every kernel and the GEARS
#                trainer against the CPU twin; a missing GPU is a failure, not a skip); their wgpu
#                halves run only on NVIDIA's Vulkan driver, if the machine has it
#   b_genome     bench gen:b_genome, all candidates, budget 1,000, L=2, CPU and GPU
#   d_huge       bench gen:d_huge, all candidates, budget 5,000, L=1, CPU and GPU
#   c_large      bench gen:c_large, all candidates, budget 1,000, L=2: GPU speedup over the CPU (all
#                cores, and the CPU path again on 2 rayon threads, the target's 2-core baseline)
#   go_build     `graph build` of the 18,777 protein-coding genes on the CPU and the GPU (outputs compared)
#   gears_data   simulated Replogle K562 preset (SYNTHETIC; --scale GEARS_SCALE, default 0.5, about
#                90,000 cells), prepared at 5,000 HVGs, simulation split
#   gears_epoch  one GEARS epoch (batch 32, hidden 64) on the GPU, peak GPU memory from nvidia-smi
#   concurrent   trainings per hour: GPU_CHECK_UNITS (default 4) concurrent `graphreach train`
#                processes on one small simulated dataset, against one alone
#
# Results in OUT_DIR: summary.tsv (step, status, exit code, seconds, limit), metrics.tsv (step,
# metric, value), summary.json (both), logs/STEP.log and results/ (bench tables, GO build logs, the
# GEARS train log and metrics, GPU memory samples); the generated data and outputs, which are large
# (the prepared GEARS dataset is about 2 GB), go to GPU_CHECK_WORK_DIR (default OUT_DIR/work).
#
# Environment:
#   GPU_BUNDLE=DIR           the bundle (default gpu-bundle)
#   GPU_CHECK_BUDGET_S=N     total seconds for all steps (default 450)
#   GPU_CHECK_UNITS=N        concurrent trainings in `concurrent` (default 4; 2 in a dry run)
#   GEARS_SCALE=F            scale of the simulated Replogle preset (default 0.5)
#   GPU_CHECK_LIB_DIRS=D:D   extra folders to search for libcuda / libnvrtc / libcublas
#   GPU_CHECK_WORK_DIR=DIR   where generated data and outputs go (default OUT_DIR/work)
#   GPU_CHECK_STEPS="a b"    run only these steps (and env), e.g. to repeat the ones a run skipped
#   GPU_CHECK_LIMITS="a=N"   other per-step timeouts in seconds, e.g. "gears_epoch=300 d_huge=200"
#   GPU_CHECK_DRY_RUN=1      the same steps on a machine without a GPU: wgpu (lavapipe) instead of
#                            CUDA, tiny graphs and datasets, hidden size 8, GRAPHREACH_REQUIRE_WGPU=1
#                            and a fast subset of the tests; proves the script, measures nothing useful
#
# If libcuda.so.1 (the NVIDIA driver) is missing, the script says so and still runs every step
# (the CPU halves and wgpu still run; the CUDA parts fail and are recorded as failed).
# libnvrtc.so.13 and libcublas.so.13 come with the CUDA 13 toolkit (/usr/local/cuda/lib64) or the
# NVIDIA PyPI wheels (`nvidia-cuda-nvrtc==13.0.*`, `nvidia-cublas==13.*`, under
# site-packages/nvidia/cu13/lib, e.g. next to a PyTorch install). They are far larger than the
# 64 MiB bundle and the GPU machine has no registry, so the script does not ship them: it searches
# the usual places, adds what it finds to LD_LIBRARY_PATH, and reports what is missing. To provide
# them, download the wheels on a machine with a registry (`pip download --no-deps
# "nvidia-cuda-nvrtc==13.0.*" "nvidia-cublas==13.*"`), unzip them on the GPU machine and pass
# GPU_CHECK_LIB_DIRS=.../nvidia/cu13/lib.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SELF="$ROOT/scripts/gpu-check.sh"

DRY=${GPU_CHECK_DRY_RUN:-0}
if [ "$DRY" = 1 ]; then
  GPU=wgpu
  UNITS=${GPU_CHECK_UNITS:-2}
  TRAIN_EXTRA=(--hidden 8) # lavapipe runs the GEMM kernel slowly; the dry run only proves the script
else
  GPU=cuda
  UNITS=${GPU_CHECK_UNITS:-4}
  TRAIN_EXTRA=()
fi
GEARS_SCALE=${GEARS_SCALE:-0.5}

# ---------------------------------------------------------------------------------------------
# Steps (run as `gpu-check.sh --step NAME OUT_DIR` under `timeout` by the main part below).

metric() { printf '%s\t%s\t%s\n' "$STEP" "$1" "$2" >>"$OUT/metrics.tsv"; echo "metric $1 = $2"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
gr() { "$BIN" "$@"; }

# Runs `graphreach bench` and records the GPU's balls+greedy median and its speedup over the CPU.
bench() { # bench NAME GRAPH BUDGET HOPS REPEATS
  local out="$OUT/results/bench_$1.tsv"
  gr bench --graph "$2" --candidates all --budget "$3" --hops "$4" --backends "cpu,$GPU" --repeats "$5" | tee "$out" || return 1
  awk -F'\t' -v gpu="$GPU" '
    $1 == "cpu" && $3 == "balls+greedy" { print "cpu_balls_greedy_s\t" $4 }
    $1 == gpu && $3 == "load" { print gpu "_load_s\t" $4 }
    $1 == gpu && $3 == "balls" { print gpu "_balls_s\t" $4 }
    $1 == gpu && $3 == "greedy" { print gpu "_greedy_s\t" $4 }
    $1 == gpu && $3 == "balls+greedy" { print gpu "_balls_greedy_s\t" $4; print "speedup_vs_cpu\t" $5 }
    $1 == gpu && $3 == "skipped" { print gpu "_status\tskipped" }' "$out" |
    while IFS=$'\t' read -r k v; do metric "$k" "$v"; done
  awk -F'\t' -v gpu="$GPU" '$1 == gpu && $3 != "skipped" { found = 1 } END { exit !found }' "$out"
}

# A small simulated dataset for trainings: adamson preset, few genes.
small_dataset() { # small_dataset DIR
  gr simulate --preset adamson --scale 0.1 --seed 1 --out "$1/sim.h5ad" --force &&
    gr prepare "$1/sim.h5ad" --n-hvg "$2" --graph builtin:go-human --out "$1/prep.h5ad" --force &&
    gr split "$1/prep.h5ad" --scheme simulation --seed 1 --out "$1/split" --force
}

train() { # train DATA_DIR OUT_DIR EPOCHS [extra args]
  local d=$1 o=$2 e=$3
  shift 3
  gr train --data "$d/prep.h5ad" --graph builtin:go-human --train "$d/split/train.txt" --val "$d/split/val.txt" \
    --test "$d/split/test.txt" --epochs "$e" --backend "$GPU" --out "$o" --force --quiet "${TRAIN_EXTRA[@]}" "$@"
}

step_env() {
  uname -a; nproc; free -g 2>/dev/null || true
  ldd --version 2>&1 | head -n1
  echo "bundle: $BUNDLE"; head -n3 "$BUNDLE/MANIFEST.txt" 2>/dev/null || echo "no MANIFEST.txt in the bundle"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  cat "$OUT/libraries.tsv"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv
    metric gpu "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)"
    metric driver "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n1)"
  else
    echo "nvidia-smi not found"
    metric nvidia_smi missing
  fi
  metric cores "$(nproc)"
  metric glibc "$(ldd --version 2>&1 | head -n1 | awk '{print $NF}')"
}

step_backends() { gr backends; }

step_kernels() { gr backends --check-kernels --arch "${GPU_CHECK_ARCH:-compute_90}"; }

step_tests() {
  local failed=0 t filter
  if [ "$DRY" = 1 ]; then
    export GRAPHREACH_REQUIRE_WGPU=1
  else
    export GRAPHREACH_REQUIRE_CUDA=1
  fi
  export GRAPHREACH_PROJECT_DIR="$ROOT"
  for t in shaders backend_select backend_equivalence jaccard_equivalence gears_gpu; do
    filter=()
    if [ "$DRY" = 1 ]; then # lavapipe is slow: a fast subset per binary
      case $t in
        backend_equivalence) filter=(gains_and_commits) ;;
        jaccard_equivalence) filter=(random_instances) ;;
        gears_gpu) filter=(wgpu_training_step_is_one_submission) ;;
      esac
    fi
    echo "== $t ${filter[*]:-}"
    local t0; t0=$(now)
    if "$BUNDLE/tests/$t" "${filter[@]}" 2>&1; then metric "$t" "ok ($(since "$t0") s)"; else metric "$t" "FAILED ($(since "$t0") s)"; failed=1; fi
  done
  return $failed
}

step_b_genome() {
  if [ "$DRY" = 1 ]; then
    gr graph gen --nodes 3000 --draws 40000 --communities 30 --out "$WORK/b_small.tsv" --force && bench b_genome "$WORK/b_small.tsv" 100 2 3
  else
    bench b_genome gen:b_genome 1000 2 3
  fi
}

step_d_huge() {
  if [ "$DRY" = 1 ]; then
    gr graph gen --nodes 6000 --draws 60000 --communities 60 --out "$WORK/d_small.tsv" --force && bench d_huge "$WORK/d_small.tsv" 300 1 1
  else
    bench d_huge gen:d_huge 5000 1 3
  fi
}

step_c_large() {
  if [ "$DRY" = 1 ]; then
    gr graph gen --nodes 4000 --draws 50000 --communities 40 --out "$WORK/c_small.tsv" --force && bench c_large "$WORK/c_small.tsv" 100 2 3
  else
    bench c_large gen:c_large 1000 2 3 || return 1
  fi
  # The target is a speedup over the 2-core CPU: the CPU path once more on 2 rayon threads.
  local graph=gen:c_large budget=1000 cpu2 gpu
  [ "$DRY" = 1 ] && { graph="$WORK/c_small.tsv"; budget=100; }
  RAYON_NUM_THREADS=2 gr bench --graph "$graph" --candidates all --budget "$budget" --hops 2 --backends cpu --repeats 1 | tee "$OUT/results/bench_c_large_cpu2.tsv" || return 1
  cpu2=$(awk -F'\t' '$1 == "cpu" && $3 == "balls+greedy" { print $4 }' "$OUT/results/bench_c_large_cpu2.tsv")
  gpu=$(awk -F'\t' -v g="$GPU" '$1 == g && $3 == "balls+greedy" { print $4 }' "$OUT/results/bench_c_large.tsv")
  metric cpu_2_threads_balls_greedy_s "$cpu2"
  metric speedup_vs_2_thread_cpu "$(awk -v c="$cpu2" -v g="$gpu" 'BEGIN { printf "%.2f", c / g }')"
}

step_go_build() {
  local genes=(--protein-coding data/go/human_gene_info.tsv.gz) b t0 ok=0
  if [ "$DRY" = 1 ]; then
    head -n 400 data/go/k562universe_genes.txt >"$WORK/universe_small.txt"
    genes=(--universe "$WORK/universe_small.txt")
  fi
  for b in cpu "$GPU"; do
    t0=$(now)
    if gr graph build --gene2go data/go/human_gene2go_direct.tsv.gz "${genes[@]}" --backend "$b" --out "$WORK/go_$b.tsv" --force 2>&1 | tee "$OUT/results/go_$b.log"; then
      metric "${b}_command_s" "$(since "$t0")"
      metric "${b}_jaccard_topk_s" "$(grep -o 'jaccard+top-k [0-9.]* s' "$OUT/results/go_$b.log" | awk '{print $2}')"
    else
      metric "${b}_command_s" FAILED
      ok=1
    fi
  done
  if [ $ok = 0 ]; then
    if cmp -s "$WORK/go_cpu.tsv" "$WORK/go_$GPU.tsv"; then metric outputs_identical yes; else metric outputs_identical NO; ok=1; fi
    if [ "$DRY" != 1 ]; then
      if gzip -dc data/go/go_graph_k20.tsv.gz | cmp -s - "$WORK/go_$GPU.tsv"; then metric same_as_go_graph_k20 yes; else metric same_as_go_graph_k20 NO; fi
    fi
  fi
  return $ok
}

step_gears_data() {
  local d="$WORK/gears" t0
  mkdir -p "$d"
  t0=$(now)
  if [ "$DRY" = 1 ]; then
    gr simulate --preset adamson --scale 0.05 --seed 1 --out "$d/sim.h5ad" --force || return 1
    gr prepare "$d/sim.h5ad" --n-hvg 200 --graph builtin:go-human --out "$d/prep.h5ad" --force || return 1
  else
    gr simulate --preset replogle-k562-essential --scale "$GEARS_SCALE" --seed 1 --out "$d/sim.h5ad" --force || return 1
    metric simulate_s "$(since "$t0")"
    t0=$(now)
    gr prepare "$d/sim.h5ad" --n-hvg 5000 --graph builtin:go-human --out "$d/prep.h5ad" --force || return 1
    metric prepare_s "$(since "$t0")"
  fi
  rm -f "$d/sim.h5ad"
  gr split "$d/prep.h5ad" --scheme simulation --seed 1 --out "$d/split" --force || return 1
  gr dataset info "$d/prep.h5ad" | tee "$d/info.txt"
  metric cells "$(awk '$1 == "cells:" {print $2}' "$d/info.txt")"
  metric genes "$(awk '$1 == "genes:" {print $2}' "$d/info.txt")"
}

step_gears_epoch() {
  local d="$WORK/gears" o="$WORK/gears_train" smi="" rc t0 base peak
  [ -f "$d/prep.h5ad" ] || { echo "no dataset (gears_data failed or was skipped)"; return 1; }
  if command -v nvidia-smi >/dev/null; then
    base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -n1)
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$OUT/results/gpu_memory.csv" &
    smi=$!
  fi
  t0=$(now)
  train "$d" "$o" 1
  rc=$?
  metric command_s "$(since "$t0")"
  if [ -n "$smi" ]; then
    kill "$smi" 2>/dev/null
    wait "$smi" 2>/dev/null
    peak=$(sort -n "$OUT/results/gpu_memory.csv" | tail -n1)
    metric gpu_memory_before_mib "$base"
    metric gpu_memory_peak_mib "$peak"
    metric gpu_memory_peak_above_before_mib "$((peak - base))"
  else
    metric gpu_memory_peak_mib "NA (no nvidia-smi)"
  fi
  [ $rc = 0 ] || return $rc
  cp "$o/train_log.tsv" "$OUT/results/gears_train_log.tsv"
  cp "$o/metrics.json" "$OUT/results/gears_metrics.json"
  cat "$o/train_log.tsv"
  awk -F'\t' 'NR == 2 { print "steps\t" $5; print "epoch_s\t" $6; printf "ms_per_step\t%.3f\n", 1000 * $6 / $5; print "cpu_s\t" $9 }' "$o/train_log.tsv" |
    while IFS=$'\t' read -r k v; do metric "$k" "$v"; done
}

step_concurrent() {
  local d="$WORK/small" i t0 t1 tn pids=() failed=0 epochs=3 hvg=500
  [ "$DRY" = 1 ] && { epochs=1; hvg=100; }
  mkdir -p "$d"
  small_dataset "$d" "$hvg" || return 1
  t0=$(now)
  train "$d" "$WORK/unit_alone" "$epochs" || return 1
  t1=$(since "$t0")
  metric one_training_s "$t1"
  metric trainings_per_hour_alone "$(awk -v t="$t1" 'BEGIN { printf "%.0f", 3600 / t }')"
  t0=$(now)
  for i in $(seq "$UNITS"); do
    train "$d" "$WORK/unit_$i" "$epochs" --seed "$i" >"$OUT/logs/concurrent_unit_$i.log" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  tn=$(since "$t0")
  metric units "$UNITS"
  metric epochs_per_training "$epochs"
  metric concurrent_wall_s "$tn"
  metric trainings_per_hour_concurrent "$(awk -v t="$tn" -v n="$UNITS" 'BEGIN { printf "%.0f", 3600 * n / t }')"
  return $failed
}

if [ "${1:-}" = "--step" ]; then
  STEP=$2
  OUT=$3
  BUNDLE=${GPU_BUNDLE:-$ROOT/gpu-bundle}
  BIN="$BUNDLE/graphreach"
  WORK=${GPU_CHECK_WORK_DIR:-$OUT/work}
  "step_$STEP"
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# Main part: set-up, library discovery, then every step under its timeout.

OUT=${1:?usage: scripts/gpu-check.sh OUT_DIR (see the header of this script)}
mkdir -p "$OUT/logs" "$OUT/results" || exit 1
OUT=$(cd "$OUT" && pwd)
mkdir -p "${GPU_CHECK_WORK_DIR:-$OUT/work}" || exit 1
GPU_CHECK_WORK_DIR=$(cd "${GPU_CHECK_WORK_DIR:-$OUT/work}" && pwd)
export GPU_CHECK_WORK_DIR
BUNDLE=$(cd "${GPU_BUNDLE:-gpu-bundle}" 2>/dev/null && pwd) || { echo "gpu-check: no bundle folder ${GPU_BUNDLE:-gpu-bundle}; run scripts/gpu-bundle.sh first" >&2; exit 1; }
export GPU_BUNDLE=$BUNDLE
[ -x "$BUNDLE/graphreach" ] || { echo "gpu-check: $BUNDLE/graphreach missing; run scripts/gpu-bundle.sh first" >&2; exit 1; }
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR; fi
BUDGET=${GPU_CHECK_BUDGET_S:-450}
START=$(date +%s)
printf 'step\tstatus\texit_code\tseconds\tlimit_s\n' >"$OUT/summary.tsv"
printf 'step\tmetric\tvalue\n' >"$OUT/metrics.tsv"

# Library discovery: ldconfig, LD_LIBRARY_PATH, then the usual install places; found folders are
# added to LD_LIBRARY_PATH for every step.
candidates=()
IFS=: read -r -a extra <<<"${GPU_CHECK_LIB_DIRS:-}"
candidates+=("${extra[@]}" /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
for d in /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib /usr/local/lib/python3*/dist-packages/nvidia/cu13/lib \
         /usr/lib/python3/dist-packages/nvidia/cu13/lib /opt/conda/lib/python3*/site-packages/nvidia/cu13/lib "$HOME"/.local/lib/python3*/site-packages/nvidia/cu13/lib; do
  [ -d "$d" ] && candidates+=("$d")
done
if command -v python3 >/dev/null; then
  d=$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null) && [ -d "$d" ] && candidates+=("$d")
fi
printf 'library\tfound_in\n' >"$OUT/libraries.tsv"
missing_driver=0
for lib in libcuda.so.1 libnvrtc.so.13 libcublas.so.13 libcublasLt.so.13; do
  where=""
  if ldconfig -p 2>/dev/null | grep -q " $lib "; then
    where="ldconfig ($(ldconfig -p | grep " $lib " | head -n1 | sed 's/.*=> //'))"
  else
    IFS=: read -r -a ldp <<<"${LD_LIBRARY_PATH:-}"
    for d in "${ldp[@]}" "${candidates[@]}"; do
      if [ -n "$d" ] && [ -e "$d/$lib" ]; then
        where=$d
        case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) ;; *) export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;; esac
        break
      fi
    done
  fi
  printf '%s\t%s\n' "$lib" "${where:-MISSING}" >>"$OUT/libraries.tsv"
  if [ -z "$where" ]; then
    case $lib in
      libcuda.so.1) missing_driver=1
        echo "gpu-check: libcuda.so.1 (the NVIDIA driver) NOT FOUND: CUDA cannot run here; the other steps still run (their CUDA parts will fail)." >&2 ;;
      *) echo "gpu-check: $lib NOT FOUND (CUDA 13 toolkit lib64 or the nvidia pip wheels' nvidia/cu13/lib; pass GPU_CHECK_LIB_DIRS=DIR, see the header)" >&2 ;;
    esac
  fi
done
# wgpu: on the GPU machine only NVIDIA's Vulkan driver (the wgpu tests then run on the GPU too);
# without it, no Vulkan driver at all, so that a software adapter (lavapipe, tested in CI) does not
# spend the budget. The dry run keeps the machine's drivers (lavapipe).
if [ "$DRY" != 1 ]; then
  nv_icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -n1)
  if [ -n "$nv_icd" ]; then
    echo "gpu-check: wgpu on NVIDIA's Vulkan driver ($nv_icd)" >&2
  else
    nv_icd=/nonexistent/no-nvidia-vulkan-icd.json
    echo "gpu-check: no NVIDIA Vulkan driver: the wgpu halves of the tests are skipped (lavapipe is tested in CI)" >&2
  fi
  export VK_ICD_FILENAMES=$nv_icd VK_DRIVER_FILES=$nv_icd
fi

need=$(sed -n 's/^needs glibc >= //p' "$BUNDLE/MANIFEST.txt" 2>/dev/null)
have=$(ldd --version 2>&1 | head -n1 | awk '{print $NF}')
if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
  echo "gpu-check: this machine has glibc $have but the bundle needs $need: build the bundle on an older distribution" >&2
fi
[ "$DRY" = 1 ] && echo "gpu-check: DRY RUN: wgpu instead of CUDA, tiny sizes; nothing here is a GPU measurement" >&2

run_step() { # run_step NAME LIMIT_S
  local name=$1 limit=$2 left t0 rc status secs kv
  for kv in ${GPU_CHECK_LIMITS:-}; do
    [ "${kv%%=*}" = "$name" ] && limit=${kv#*=}
  done
  if [ -n "${GPU_CHECK_STEPS:-}" ] && [ "$name" != env ] && [[ " $GPU_CHECK_STEPS " != *" $name "* ]]; then
    printf '%s\tnot selected\tNA\t0\t0\n' "$name" >>"$OUT/summary.tsv"
    return
  fi
  left=$((BUDGET - ($(date +%s) - START) - 5))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    printf '%s\tskipped (budget)\tNA\t0\t0\n' "$name" >>"$OUT/summary.tsv"
    echo "== $name: skipped, the ${BUDGET} s budget is spent" >&2
    return
  fi
  echo "== $name (limit ${limit} s)" >&2
  t0=$(date +%s.%N)
  timeout -k 5 "$limit" "$SELF" --step "$name" "$OUT" >"$OUT/logs/$name.log" 2>&1
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    *) status=failed ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$secs" "$limit" >>"$OUT/summary.tsv"
  echo "   $status after $secs s (log: $OUT/logs/$name.log)" >&2
}

run_step env 15
run_step backends 30
run_step kernels 60
run_step tests 150
run_step b_genome 60
run_step d_huge 120
run_step c_large 120
run_step go_build 60
run_step gears_data 150
run_step gears_epoch 120
run_step concurrent 90

# summary.json from the two TSV files (values are strings; nothing here needs python).
{
  printf '{"dry_run": %s, "gpu_backend": "%s", "budget_s": %s, "total_s": %s, "libcuda_found": %s,\n' \
    "$([ "$DRY" = 1 ] && echo true || echo false)" "$GPU" "$BUDGET" "$(($(date +%s) - START))" "$([ $missing_driver = 0 ] && echo true || echo false)"
  awk -F'\t' 'function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
    NR > 1 { printf "%s{\"step\": %s, \"status\": %s, \"exit_code\": %s, \"seconds\": %s, \"limit_s\": %s}", (n++ ? ",\n  " : " \"steps\": [\n  "), q($1), q($2), q($3), $4, $5 }
    END { print "\n ]," }' "$OUT/summary.tsv"
  awk -F'\t' 'function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
    NR > 1 { printf "%s{\"step\": %s, \"metric\": %s, \"value\": %s}", (n++ ? ",\n  " : " \"metrics\": [\n  "), q($1), q($2), q($3) }
    END { if (!n) printf " \"metrics\": ["; print "\n ]}" }' "$OUT/metrics.tsv"
} >"$OUT/summary.json"

echo
column -t -s $'\t' "$OUT/summary.tsv" 2>/dev/null || cat "$OUT/summary.tsv"
echo
column -t -s $'\t' "$OUT/metrics.tsv" 2>/dev/null || cat "$OUT/metrics.tsv"
echo "gpu-check: results in $OUT (summary.tsv, metrics.tsv, summary.json, logs/) after $(($(date +%s) - START)) s"
awk -F'\t' 'NR > 1 && $2 != "ok" && $2 != "not selected" { bad = 1 } END { exit bad }' "$OUT/summary.tsv"
