#!/usr/bin/env bash
# Side-by-side CPU timing of graphreach's GEARS trainer and PyTorch GEARS (cell-gears 0.1.2) on
# the same data, split, GO graph and thread count, run back to back (run by hand).
#
#   scripts/bench_gears_cpu.sh                      # defaults below
#   EPOCHS=2 SEEDS="0 1 2" THREADS=2 scripts/bench_gears_cpu.sh
#
# Environment (defaults):
#   WORK=target/gears_cpu_bench      working folder (prepared data, split, runs, GEARS files)
#   RAW=tests/fixtures/papalexi2021_lowmoi_counts.h5ad   raw counts (real Papalexi 2021 screen)
#   CELL_TYPE=THP-1                  passed to `graphreach prepare`
#   GRAPH=builtin:go-human  GRAPH_TSV=data/go/go_graph_k20.tsv.gz   the same GO graph for both
#   SPLIT_SEED=1                     `graphreach split --scheme simulation --seed`
#   EPOCHS=1  SEEDS="0 1"  THREADS=2
#   PT_SEEDS=$SEEDS                  seeds for PyTorch GEARS (a subset when it is too slow)
#   REUSE_PYTORCH=0                  1: keep an existing $WORK/pytorch_seedS.json instead of
#                                    rerunning PyTorch GEARS (it is slow on a loaded 2-core machine)
#   GRAPHREACH=target/release/graphreach (built with `cargo build --release --no-default-features`
#   when missing)   PYTHON=/work/gears-venv/bin/python (torch, torch-geometric, cell-gears==0.1.2)
#
# Both tools train hidden 64, batch 32, lr 1e-3, on the training perturbations of the split plus
# control cells, and evaluate the held-out test perturbations. graphreach runs with
# RAYON_NUM_THREADS=$THREADS, PyTorch with torch.set_num_threads($THREADS) (and OMP/MKL threads).
# "train loop" is the wall time of the training steps of one epoch (graphreach: train_log.tsv
# `seconds`; GEARS: from the start of the epoch to its per-epoch evaluation); CPU is process
# user+system time over the same span. The first PyTorch run builds GEARS's per-cell graph cache
# (several minutes); it is reused afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-target/gears_cpu_bench}
RAW=${RAW:-tests/fixtures/papalexi2021_lowmoi_counts.h5ad}
CELL_TYPE=${CELL_TYPE:-THP-1}
GRAPH=${GRAPH:-builtin:go-human}
GRAPH_TSV=${GRAPH_TSV:-data/go/go_graph_k20.tsv.gz}
SPLIT_SEED=${SPLIT_SEED:-1}
EPOCHS=${EPOCHS:-1}
SEEDS=${SEEDS:-"0 1"}
THREADS=${THREADS:-2}
PT_SEEDS=${PT_SEEDS:-$SEEDS}
GRAPHREACH=${GRAPHREACH:-target/release/graphreach}
PYTHON=${PYTHON:-/work/gears-venv/bin/python}

if [ ! -x "$GRAPHREACH" ]; then
    cargo build --release --no-default-features
fi
mkdir -p "$WORK"
DATA="$WORK/papalexi.h5ad"
if [ ! -f "$DATA" ]; then
    "$GRAPHREACH" prepare "$RAW" --cell-type "$CELL_TYPE" --graph "$GRAPH" --out "$DATA"
fi
if [ ! -f "$WORK/split/test.txt" ]; then
    "$GRAPHREACH" split "$DATA" --scheme simulation --seed "$SPLIT_SEED" --out "$WORK/split" --force
fi
# `graphreach split` leaves ctrl out of train.txt ("always training"); `graphreach train` adds the
# control cells itself (as GEARS trains on them); listing ctrl explicitly changes nothing.
(grep -v '^ctrl$' "$WORK/split/train.txt"; echo ctrl) > "$WORK/split/train_with_ctrl.txt"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; threads $THREADS; epochs $EPOCHS; seeds $SEEDS"

for seed in $SEEDS; do
    out="$WORK/graphreach_seed$seed"
    echo "== graphreach seed $seed"
    RAYON_NUM_THREADS=$THREADS "$GRAPHREACH" train --data "$DATA" --graph "$GRAPH" \
        --train "$WORK/split/train_with_ctrl.txt" --val "$WORK/split/val.txt" --test "$WORK/split/test.txt" \
        --epochs "$EPOCHS" --seed "$seed" --out "$out" --force 2>&1 | grep -E "^epoch|^gears " || true
    case " $PT_SEEDS " in *" $seed "*) ;; *) continue ;; esac
    echo "== pytorch-gears seed $seed"
    if [ "${REUSE_PYTORCH:-0}" = 1 ] && [ -f "$WORK/pytorch_seed$seed.json" ]; then
        echo "(REUSE_PYTORCH=1: keeping $WORK/pytorch_seed$seed.json from an earlier run)"
        continue
    fi
    OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS "$PYTHON" scripts/gears_pytorch_epoch.py \
        --h5ad "$DATA" --graph-tsv "$GRAPH_TSV" \
        --train "$WORK/split/train.txt" --val "$WORK/split/val.txt" --test "$WORK/split/test.txt" \
        --epochs "$EPOCHS" --threads "$THREADS" --seed "$seed" --workdir "$WORK/gears_files" \
        --out "$WORK/pytorch_seed$seed.json" 2>&1 | grep -E "^epoch|^test:" || true
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PYTHON" - "$WORK" $SEEDS <<'EOF'
import json, sys, statistics as st
work, seeds = sys.argv[1], sys.argv[2:]
rows = []
for s in seeds:
    with open(f"{work}/graphreach_seed{s}/train_log.tsv") as f:
        head = f.readline().rstrip("\n").split("\t")
        log = [dict(zip(head, l.rstrip("\n").split("\t"))) for l in f if l.strip()]
    with open(f"{work}/graphreach_seed{s}/metrics.json") as f:
        m = json.load(f)["model"]
    for e in log:
        rows.append(("graphreach", s, int(e["epoch"]), float(e["seconds"]), float(e.get("cpu_seconds", "nan")), int(e["steps"]),
                     m["mse_de"], m["pearson_delta"]))
    try:
        with open(f"{work}/pytorch_seed{s}.json") as f:
            g = json.load(f)
    except FileNotFoundError:
        continue
    for e in g["epochs"]:
        rows.append(("pytorch-gears", s, e["epoch"], e["train_loop_s"], e["train_loop_cpu_s"], g["steps_per_epoch"],
                     g["test_metrics"]["mse_de"], g["test_metrics"].get("pearson_delta", float("nan"))))
print()
print("| tool | seed | epoch | train loop wall (s) | train loop CPU (s) | steps | ms/step (wall) | test mse_de | test pearson_delta |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} | {r[4]:.2f} | {r[5]} | {1e3 * r[3] / r[5]:.1f} | {r[6]:.4f} | {r[7]:.4f} |")
def mean(tool, i):
    v = [r[i] for r in rows if r[0] == tool]
    return st.mean(v) if v else float("nan")
gw, pw = mean("graphreach", 3), mean("pytorch-gears", 3)
gc, pc = mean("graphreach", 4), mean("pytorch-gears", 4)
print()
print(f"mean seconds per training epoch: graphreach {gw:.2f} wall / {gc:.2f} CPU, pytorch-gears {pw:.2f} wall / {pc:.2f} CPU")
print(f"speed-up (pytorch / graphreach): {pw / gw:.1f}x wall, {pc / gc:.1f}x CPU")
for tool in ("graphreach", "pytorch-gears"):
    v = sorted({(r[1], r[6]) for r in rows if r[0] == tool})
    print(f"{tool} test mse_de per seed: " + ", ".join(f"seed {s} {x:.4f}" for s, x in v))
EOF
