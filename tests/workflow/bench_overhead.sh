#!/usr/bin/env bash
# Scheduling overhead per unit: the same N units of known length run by `experiment run --jobs P`, by Snakemake
# with the local profile (--cores P) and by Snakemake on the one-node Slurm cluster (P CPUs), with the stand-in
# tests/workflow/fake-graphreach.py (each unit sleeps; nothing is computed, so the difference is pure overhead).
#
#   bash tests/workflow/bench_overhead.sh [N_UNITS_PER_METHOD_SEED] [UNIT_SECONDS]     (defaults 2 and 4)
#
# 8 x N units (4 one-shot methods x 2 seeds x N cycles, all independent). Prints one TSV row per runner:
# wall seconds, units/hour, and overhead per unit = (wall x P - units x unit_seconds) / units, in slot-seconds
# (P = the machine's cores). Starts and stops the one-node cluster if it is not running (as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cycles=${1:-2}
unit_s=${2:-4}
P=$(nproc)
W=$(mktemp -d /tmp/graphreach-bench.XXXXXX)
fake=$root/tests/workflow/fake-graphreach.py
cat > "$W/bench.toml" <<EOF
# Benchmark study for the stand-in: independent units of one step of $unit_s s.
name = "bench"
one_shot = ["graphreach", "maxspec", "random", "hybrid"]
active_learning = []
seeds = [0, 1]
cycles = $cycles
steps = 1
step_seconds = $unit_s
EOF
n=$((4 * 2 * cycles))
bash "$root/scripts/workflow-env.sh" >/dev/null
smk="$(bash "$root/scripts/workflow-env.sh" --print-path)/bin/snakemake"
started=0
cleanup() { [ "$started" = 1 ] && bash "$root/scripts/slurm-local.sh" stop >/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

row() { # name wall
  awk -v name="$1" -v wall="$2" -v n="$n" -v u="$unit_s" -v p="$P" 'BEGIN {
    printf "%s\t%d\t%.1f\t%.0f\t%.1f\n", name, n, wall, n * 3600 / wall, (wall * p - n * u) / n }'
}
now() { date +%s%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

echo "# $n units of $unit_s s, $P slots, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'runner\tunits\twall_s\tunits_per_hour\toverhead_slot_s_per_unit\n'
t=$(now); "$fake" experiment run "$W/bench.toml" --out "$W/run" --jobs "$P" >/dev/null
row "experiment run --jobs $P" "$(since "$t")"

mkdir -p "$W/wd-local" "$W/wd-slurm"
t=$(now)
(cd "$W/wd-local" && "$smk" -s "$root/workflow/Snakefile" --profile "$root/workflow/profiles/local" --cores "$P" \
  --config experiment="$W/bench.toml" out="$W/local" bin="$fake" > "$W/local.log" 2>&1)
row "snakemake local --cores $P" "$(since "$t")"

if ! bash "$root/scripts/slurm-local.sh" status >/dev/null 2>&1; then
  bash "$root/scripts/slurm-local.sh" start >/dev/null; started=1
fi
eval "$(bash "$root/scripts/slurm-local.sh" env)"
t=$(now)
(cd "$W/wd-slurm" && "$smk" -s "$root/workflow/Snakefile" --profile "$root/workflow/profiles/slurm" \
  --config experiment="$W/bench.toml" out="$W/slurm" bin="$fake" > "$W/slurm.log" 2>&1)
row "snakemake slurm (one node, $P CPUs)" "$(since "$t")"
# Time inside the Slurm jobs (start to end, from squeue) beyond the unit's own work: Snakemake's job step.
ids=$(sed -n 's/.*submitted with SLURM jobid \([0-9]*\) .*/\1/p' "$W/slurm.log" | paste -sd,)
squeue -h -t all -j "$ids" -o '%S %e' | python3 -c '
import sys, datetime as d
p = lambda s: d.datetime.fromisoformat(s)
runs = [(p(b) - p(a)).total_seconds() for a, b in (l.split() for l in sys.stdin if l.strip())]
if runs: print(f"# slurm jobs: {len(runs)}, mean time in job {sum(runs)/len(runs):.1f} s for a {sys.argv[1]} s unit")
' "$unit_s"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
