#!/usr/bin/env bash
# Tests of the Snakemake workflow (workflow/Snakefile) against a graphreach binary, locally and on a real one-node
# Slurm cluster (scripts/slurm-local.sh), with faults injected.
#
#   bash tests/workflow/run_workflow_tests.sh BIN [CONFIG]
#
# BIN is the graphreach binary (e.g. target/release/graphreach) or the stand-in tests/workflow/fake-graphreach.py;
# CONFIG defaults to experiments/quick.toml (tests/workflow/fake-study.toml for the stand-in).
# Tests:
#   contract   plan is idempotent; run-unit refuses a unit whose lock is held (flock on DIR/units/<id>/.lock) with
#              exit 75 and writes nothing
#   local      the local profile gives the results.tsv of `BIN experiment run CONFIG --jobs 2` (timing columns
#              aside) and the same files; a second run does nothing; a deleted marker brings back that unit alone
#   local-kill a unit process killed mid-way (SIGKILL); the rerun completes it, no unit completes twice
#   slurm      the Slurm profile on the one-node cluster: same results, every unit its own Slurm job (job id in
#              each unit's log, in Snakemake's log and in squeue)
#   slurm-fault one running job cancelled (scancel) and one unit process killed; the rerun completes, no unit lost,
#              none completed twice, the same results.tsv
#   local-lockwait a unit whose lock another process holds: its job waits (run-unit exit 75), then runs it once
#   local-gpu  (stand-in) GPU units share the GPU up to gpu_slots: together with 4 slots, one at a time with 1
#   slurm-gpu  (stand-in) GPU units get --gpus=1 (one at a time on the node's one GPU) or, with slurm_gpu=shard,
#              --gres=shard:1, and see CUDA_VISIBLE_DEVICES; without a GPU the node offers a stand-in device node
#   local-hardkill, slurm-hardkill  Snakemake itself killed (SIGKILL) while units run; `--unlock` and an immediate
#              rerun (jobs of the killed run still going) complete every unit once, with the same results
# The Slurm tests are skipped, with the reason printed, only where the cluster cannot be had (not root, packages
# not installable); any other failure fails. The cluster is stopped at the end, also when a test fails, if this
# script started it. Set GRAPHREACH_WORKFLOW_TESTS to a comma list to run a subset; WORKFLOW_TEST_DIR to keep the
# work folder (default: a temporary one, removed on success).
# Ends with the line "N passed, N failed, N skipped"; exit 1 if any test failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BIN [CONFIG]" >&2; exit 2; }
BIN=$1
case "$BIN" in */*) BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN") ;; *) BIN=$(command -v "$BIN") ;; esac
[ -x "$BIN" ] || { echo "error: $1 is not an executable" >&2; exit 2; }
case "$(basename "$BIN")" in fake-graphreach*) FAKE=1; def_cfg=$root/tests/workflow/fake-study.toml ;;
  *) FAKE=0; def_cfg=$root/experiments/quick.toml ;; esac
CONFIG=$(cd "$(dirname "${2:-$def_cfg}")" && pwd)/$(basename "${2:-$def_cfg}")
[ -f "$CONFIG" ] || { echo "error: config $CONFIG not found" >&2; exit 2; }
TESTS=${GRAPHREACH_WORKFLOW_TESTS:-contract,local,local-kill,local-lockwait,local-gpu,local-hardkill,slurm,slurm-fault,slurm-gpu,slurm-hardkill}
W=${WORKFLOW_TEST_DIR:-$(mktemp -d /tmp/graphreach-wf.XXXXXX)}
mkdir -p "$W"
SNAKEFILE=$root/workflow/Snakefile
STEP_TIMEOUT=${WORKFLOW_STEP_TIMEOUT:-1200}
passed=0 failed=0 skipped=0 started_cluster=0 bg_pid=""
T0=$SECONDS

note() { echo "[workflow-tests $((SECONDS - T0))s] $*"; }
ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1: $2"; }
skip() { skipped=$((skipped + 1)); echo "skip - $1: $2"; }
want() { case ",$TESTS," in *",$1,"*) return 0 ;; esac; return 1; }

cleanup() {
  if [ -n "$bg_pid" ] && [ -d "/proc/$bg_pid" ]; then kill -INT "$bg_pid" 2>/dev/null; sleep 3; kill -KILL "$bg_pid" 2>/dev/null; fi
  if [ "$started_cluster" = 1 ]; then bash "$root/scripts/slurm-local.sh" stop || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------------------------------------------
note "work folder $W; binary $BIN; config $CONFIG"
if ! command -v python3 >/dev/null || ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "skip - all: no Python >= 3.11 for snakemake 9"; echo "0 passed, 0 failed, 1 skipped"; exit 0
fi
bash "$root/scripts/workflow-env.sh" || { bad setup "scripts/workflow-env.sh failed"; echo "$passed passed, $failed failed, $skipped skipped"; exit 1; }
SMK="$(bash "$root/scripts/workflow-env.sh" --print-path)/bin/snakemake"

# Runs snakemake from its own working folder $W/wd-$1 (profile $2, out dir $3); log in $W/$4.log, unit logs in
# $W/unitlogs-$4; further arguments go to --config (KEY=VALUE). The study config is $SMK_CONFIG (default $CONFIG).
smk() {
  local wd=$W/wd-$1 profile=$2 out=$3 log=$W/$4.log name=$4
  shift 4
  mkdir -p "$wd"
  (cd "$wd" && timeout --foreground "$STEP_TIMEOUT" "$SMK" -s "$SNAKEFILE" --profile "$root/workflow/profiles/$profile" \
     --config experiment="${SMK_CONFIG:-$CONFIG}" out="$out" bin="$BIN" logs="$W/unitlogs-$name" "$@") > "$log" 2>&1
}

# results.tsv without its timing column(s) (named *_seconds).
strip_timing() {
  python3 - "$1" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
keep = [i for i, h in enumerate(rows[0]) if not h.endswith("_seconds")]
for r in rows:
    print("\t".join(r[i] for i in keep))
EOF
}

# Same results.tsv (timing aside) and the same set of files as the reference run.
same_as_ref() {
  local out=$1 d
  [ -f "$out/report/results.tsv" ] || { echo "no $out/report/results.tsv"; return 1; }
  d=$(diff <(strip_timing "$REF/report/results.tsv") <(strip_timing "$out/report/results.tsv")) \
    || { echo "results.tsv differs from experiment run:"; echo "$d" | head -20; return 1; }
  d=$(diff <(cd "$REF" && find . -type f | sort) <(cd "$out" && find . -type f | sort)) \
    || { echo "files differ from experiment run:"; echo "$d" | head -20; return 1; }
}

units_of() { python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1]) if l.strip()]' "$1/plan.jsonl"; }
marker_of() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    if l.strip() and json.loads(l)["id"] == sys.argv[2]: print(sys.argv[3] + "/" + json.loads(l)["marker"])' "$1/plan.jsonl" "$2" "$1"; }
# Unit ids that have dependents (the start of an active-learning chain), one per line.
with_dependents() { python3 -c 'import json,sys
us=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
deps={d for u in us for d in u["deps"]}
[print(u["id"]) for u in us if u["id"] in deps]' "$1/plan.jsonl"; }
# "path inode mtime_ns sha" of every marker present.
marker_stamps() { python3 -c 'import json,os,sys,hashlib
for l in open(sys.argv[1] + "/plan.jsonl"):
    if not l.strip(): continue
    p = os.path.join(sys.argv[1], json.loads(l)["marker"])
    if os.path.exists(p):
        s = os.stat(p); print(p, s.st_ino, s.st_mtime_ns, hashlib.sha256(open(p,"rb").read()).hexdigest())' "$1"; }
# Completions per unit from the stand-in's event log: prints ids completed more than once.
twice() { [ -f "$1" ] && grep '^complete ' "$1" | sort | uniq -d | sed 's/^complete //'; }
# Largest number of units that ran at the same time, from the stand-in's "interval" events in file $1.
max_overlap() { python3 -c 'import sys
ev = []
for l in open(sys.argv[1]):
    f = l.split()
    if f and f[0] == "interval":
        ev += [(float(f[2]), 1), (float(f[3]), -1)]
n = m = 0
for _, d in sorted(ev, key=lambda e: (e[0], e[1])):
    n += d; m = max(m, n)
print(m)' "$1"; }

# Number of unit jobs a Snakemake log shows (local runs print "localrule unit:", Slurm runs "rule unit:").
unit_jobs() { grep -c -E '^(local)?rule unit:' "$1"; }

# A study of 4 GPU units (stand-in only), for the GPU resource tests.
GPU_CONFIG=$W/gpu-study.toml
if [ "$FAKE" = 1 ]; then
  { grep -v -E '^(one_shot|active_learning|cycles|gpu|name) *=' "$CONFIG"
    printf 'name = "gpu"\none_shot = ["graphreach", "random"]\nactive_learning = []\ncycles = 1\ngpu = 1\n'; } > "$GPU_CONFIG"
fi

# --- reference: experiment run --------------------------------------------------------------------------------
REF=$W/ref
note "reference: experiment run --jobs 2"
if ! FAKE_GRAPHREACH_LOG=$W/ref.events "$BIN" experiment run "$CONFIG" --out "$REF" --jobs 2 > "$W/ref.log" 2>&1; then
  bad reference "experiment run failed: $(tail -5 "$W/ref.log")"; echo "$passed passed, $failed failed, $skipped skipped"; exit 1
fi
NUNITS=$(units_of "$REF" | wc -l)
note "reference done: $NUNITS units"

# --- contract ---------------------------------------------------------------------------------------------------
if want contract; then
  C=$W/contract; msg=""
  "$BIN" experiment plan "$CONFIG" --out "$C" --format jsonl > "$W/plan1.jsonl" 2>"$W/plan.err" || msg="plan failed: $(cat "$W/plan.err")"
  if [ -z "$msg" ]; then
    s1=$(cd "$C" && find . -type f -exec sha256sum {} + | sort)
    "$BIN" experiment plan "$CONFIG" --out "$C" --format jsonl > "$W/plan2.jsonl" 2>>"$W/plan.err" || msg="second plan failed"
    [ -z "$msg" ] && [ "$s1" != "$(cd "$C" && find . -type f -exec sha256sum {} + | sort)" ] && msg="a second plan changed DIR"
    [ -z "$msg" ] && ! cmp -s "$W/plan1.jsonl" "$W/plan2.jsonl" && msg="a second plan printed another plan"
  fi
  if [ -z "$msg" ]; then
    u=$(units_of "$C" 2>/dev/null | head -n1); mkdir -p "$C/units/$u"
    # Hold the unit's lock as another process would; run-unit must refuse and write nothing.
    exec 9>>"$C/units/$u/.lock"
    flock -n 9 || msg="cannot take $C/units/$u/.lock"
    if [ -n "$msg" ]; then :
    elif timeout 60 "$BIN" experiment run-unit "$C" "$u" > "$W/locked.log" 2>&1 9>&-; then msg="run-unit ran although $C/units/$u/.lock was held"
    elif [ -e "$(marker_of "$C" "$u")" ]; then msg="run-unit wrote the marker although the lock was held"
    elif ! grep -qi lock "$W/locked.log"; then msg="the refusal does not mention the lock: $(head -3 "$W/locked.log")"
    else
      "$BIN" experiment run-unit "$C" "$u" > /dev/null 2>&1 9>&-; rc=$?
      [ "$rc" = 75 ] || msg="run-unit refused a held lock with exit $rc, not 75 (the workflow waits only on 75)"
    fi
    exec 9>&-
    if [ -z "$msg" ]; then
      timeout 600 "$BIN" experiment run-unit "$C" "$u" > "$W/unlocked.log" 2>&1 && [ -e "$(marker_of "$C" "$u")" ] \
        || msg="run-unit failed once the lock was free: $(tail -3 "$W/unlocked.log")"
    fi
  fi
  [ -z "$msg" ] && ok contract || bad contract "$msg"
fi

# --- local --------------------------------------------------------------------------------------------------------
if want local; then
  L=$W/local; msg=""
  note "local profile"
  t=$SECONDS
  export FAKE_GRAPHREACH_LOG=$W/local.events
  smk local local "$L" local || msg="snakemake failed: $(tail -15 "$W/local.log")"
  note "local profile: $((SECONDS - t)) s for $NUNITS units"
  [ -z "$msg" ] && { msg=$(same_as_ref "$L") || true; }
  if [ -z "$msg" ]; then
    before=$(marker_stamps "$L")
    smk local local "$L" local-again || msg="second snakemake failed: $(tail -15 "$W/local-again.log")"
    [ -z "$msg" ] && [ "$before" != "$(marker_stamps "$L")" ] && msg="a second run changed a finished unit's marker"
    [ -z "$msg" ] && [ "$(unit_jobs "$W/local-again.log")" != 0 ] && msg="a second run ran units again"
  fi
  if [ -z "$msg" ]; then
    # Delete the marker of a unit that others depend on: only that unit (and the report) must run again.
    v=$(with_dependents "$L" 2>/dev/null | head -n1); [ -n "$v" ] || v=$(units_of "$L" 2>/dev/null | head -n1)
    rm -f "$(marker_of "$L" "$v")"
    smk local local "$L" local-redo || msg="snakemake after deleting a marker failed: $(tail -15 "$W/local-redo.log")"
    n=$(unit_jobs "$W/local-redo.log")
    [ -z "$msg" ] && [ "$n" != 1 ] && msg="deleting one marker ran $n units again (expected 1: $v)"
    [ -z "$msg" ] && ! grep -q "uid=$v\$" "$W/local-redo.log" && msg="the unit rerun is not $v"
    [ -z "$msg" ] && { msg=$(same_as_ref "$L") || true; }
  fi
  [ -z "$msg" ] && [ "$FAKE" = 1 ] && [ -n "$(twice "$W/local.events" | grep -v -x "$v")" ] && msg="units completed twice: $(twice "$W/local.events")"
  unset FAKE_GRAPHREACH_LOG
  [ -z "$msg" ] && ok local || bad local "$msg"
fi

# Runs snakemake in the background (profile $1, out $2, name $3), kills one unit process mid-way and, on Slurm,
# cancels one running job; then reruns and checks the outcome.
fault_test() {
  local profile=$1 out=$2 name=$3 msg="" killed="" cancelled="" rc stamps n missing faults
  export FAKE_GRAPHREACH_LOG=$W/$name.events
  smk "$name" "$profile" "$out" "$name-1" & bg_pid=$!
  faults="--kill"; [ "$profile" = slurm ] && faults="--kill --scancel"
  # The stand-in checkpoints after every step: stop units only after their first checkpoint, so the rerun must resume.
  [ "$FAKE" = 1 ] && faults="$faults --require checkpoint.json"
  # shellcheck disable=SC2086
  python3 "$root/tests/workflow/inject_faults.py" --out "$out" --watch "$bg_pid" $faults > "$W/$name-faults.log" 2>&1 \
    || msg="faults not injected: $(cat "$W/$name-faults.log")"
  cat "$W/$name-faults.log"
  killed=$(sed -n 's/^killed \([^ ]*\) .*/\1/p' "$W/$name-faults.log")
  cancelled=$(sed -n 's/^cancelled \([^ ]*\) .*/\1/p' "$W/$name-faults.log")
  wait "$bg_pid"; rc=$?; bg_pid=""
  [ -z "$msg" ] && [ "$rc" = 0 ] && msg="the faulted run exited 0"
  for u in $killed $cancelled; do
    [ -z "$msg" ] && [ -e "$(marker_of "$out" "$u")" ] && msg="unit $u has a marker although it was stopped"
  done
  if [ -z "$msg" ]; then
    stamps=$(marker_stamps "$out")
    missing=$((NUNITS - $(echo -n "$stamps" | grep -c .)))
    note "$name: first run exited $rc with $missing of $NUNITS units unfinished; rerunning"
    smk "$name" "$profile" "$out" "$name-2" || msg="the rerun failed: $(tail -15 "$W/$name-2.log")"
    n=$(unit_jobs "$W/$name-2.log")
    [ -z "$msg" ] && [ "$n" != "$missing" ] && msg="the rerun ran $n units, but $missing had no marker"
    [ -z "$msg" ] && [ "$(marker_stamps "$out" | grep -c -F -x -f <(echo "$stamps"))" != "$(echo -n "$stamps" | grep -c .)" ] \
      && msg="the rerun rewrote markers of finished units"
    [ -z "$msg" ] && [ "$(marker_stamps "$out" | wc -l)" != "$NUNITS" ] && msg="units lost: $(marker_stamps "$out" | wc -l) of $NUNITS markers"
    [ -z "$msg" ] && { msg=$(same_as_ref "$out") || true; }
  fi
  if [ -z "$msg" ] && [ "$FAKE" = 1 ]; then
    [ -n "$(twice "$W/$name.events")" ] && msg="units completed twice: $(twice "$W/$name.events")"
    [ -z "$msg" ] && [ "$(grep -c '^complete ' "$W/$name.events")" != "$NUNITS" ] && msg="$(grep -c '^complete ' "$W/$name.events") completions for $NUNITS units"
    for u in $killed $cancelled; do
      [ -z "$msg" ] && ! grep -q "^resume $u " "$W/$name.events" && msg="the stopped unit $u did not resume from its checkpoint"
    done
  fi
  unset FAKE_GRAPHREACH_LOG
  FAULT_MSG=$msg
}

# Kills Snakemake itself (SIGKILL) once some units are done and others run (profile $1, out $2, name $3); its jobs
# go on (on Slurm: in the queue). `--unlock` and an immediate rerun must finish the study with every unit completed
# once: a job that finds its unit's lock held waits (run-unit exit 75), a job that finds the marker skips the unit.
hardkill_test() {
  local profile=$1 out=$2 name=$3 msg="" wd=$W/wd-$3 p t done_n n
  export FAKE_GRAPHREACH_LOG=$W/$name.events
  mkdir -p "$wd"
  (cd "$wd" && exec "$SMK" -s "$SNAKEFILE" --profile "$root/workflow/profiles/$profile" \
     --config experiment="$CONFIG" out="$out" bin="$BIN" logs="$W/unitlogs-$name") > "$W/$name-1.log" 2>&1 & p=$!
  t=$SECONDS; done_n=0
  while [ $((SECONDS - t)) -lt 600 ] && [ -d "/proc/$p" ]; do
    done_n=$(marker_stamps "$out" 2>/dev/null | wc -l)
    [ "$done_n" -ge 2 ] && [ "$done_n" -le $((NUNITS - 3)) ] && break
    sleep 0.3
  done
  if [ -d "/proc/$p" ] && [ "$done_n" -ge 2 ]; then
    kill -KILL "$p"; wait "$p" 2>/dev/null
    note "$name: killed Snakemake (pid $p) with $done_n of $NUNITS units done"
    (cd "$wd" && "$SMK" -s "$SNAKEFILE" --profile "$root/workflow/profiles/$profile" --unlock \
       --config experiment="$CONFIG" out="$out" bin="$BIN") > "$W/$name-unlock.log" 2>&1 || msg="--unlock failed: $(tail -5 "$W/$name-unlock.log")"
    [ -z "$msg" ] && { smk "$name" "$profile" "$out" "$name-2" || msg="the rerun failed: $(tail -15 "$W/$name-2.log")"; }
    # On Slurm, jobs of the killed run may still be finishing: wait for them before counting.
    if [ "$profile" = slurm ]; then
      t=$SECONDS
      while [ $((SECONDS - t)) -lt 300 ] && [ -n "$(squeue -h -t PD,R,CG -o %i)" ]; do sleep 1; done
    fi
    [ -z "$msg" ] && [ "$(marker_stamps "$out" | wc -l)" != "$NUNITS" ] && msg="units lost: $(marker_stamps "$out" | wc -l) of $NUNITS markers"
    [ -z "$msg" ] && { msg=$(same_as_ref "$out") || true; }
    if [ -z "$msg" ] && [ "$FAKE" = 1 ]; then
      [ -n "$(twice "$W/$name.events")" ] && msg="units completed twice: $(twice "$W/$name.events" | tr '\n' ' ')"
      n=$(grep -c '^complete ' "$W/$name.events")
      [ -z "$msg" ] && [ "$n" != "$NUNITS" ] && msg="$n completions for $NUNITS units"
      # On Slurm, jobs of the killed run finish units that the rerun also submitted: those jobs must have skipped
      # the unit (its marker is never deleted by Snakemake), which the counts above prove; say how often it happened.
      note "$name: $(grep -l 'already complete' "$W/unitlogs-$name-2"/*.log 2>/dev/null | wc -l) rerun jobs found their unit completed by a job of the killed run"
    fi
  else
    wait "$p" 2>/dev/null
    msg="Snakemake ended before it could be killed mid-way ($done_n units done)"
  fi
  unset FAKE_GRAPHREACH_LOG
  FAULT_MSG=$msg
}

if want local-kill; then
  note "local fault test"
  fault_test local "$W/local-kill" local-kill
  [ -z "$FAULT_MSG" ] && ok local-kill || bad local-kill "$FAULT_MSG"
fi

if want local-lockwait; then
  # A unit whose lock another process holds: its job waits (run-unit exit 75) and runs the unit once the lock is free.
  note "local: a unit's lock held by another process"
  LW=$W/local-lockwait; msg=""
  export FAKE_GRAPHREACH_LOG=$W/local-lockwait.events
  "$BIN" experiment plan "$CONFIG" --out "$LW" --format jsonl > /dev/null
  u=$(units_of "$LW" 2>/dev/null | tail -n1); mkdir -p "$LW/units/$u"
  exec 9>>"$LW/units/$u/.lock"; flock -n 9
  smk local-lockwait local "$LW" local-lockwait 9>&- & p=$!
  t=$SECONDS
  until grep -qs 'locked by another process' "$W/unitlogs-local-lockwait/$u.log" || [ $((SECONDS - t)) -ge 600 ] || [ ! -d "/proc/$p" ]; do sleep 0.5; done
  grep -qs 'locked by another process' "$W/unitlogs-local-lockwait/$u.log" || msg="the job of $u did not wait for the held lock"
  sleep 2; exec 9>&-
  wait "$p" || msg="${msg:-snakemake failed: $(tail -15 "$W/local-lockwait.log")}"
  [ -z "$msg" ] && { msg=$(same_as_ref "$LW") || true; }
  [ -z "$msg" ] && [ "$FAKE" = 1 ] && [ "$(grep -c "^complete $u\$" "$W/local-lockwait.events")" != 1 ] && msg="$u did not complete exactly once"
  unset FAKE_GRAPHREACH_LOG
  [ -z "$msg" ] && ok local-lockwait || bad local-lockwait "$msg"
fi

if want local-gpu; then
  if [ "$FAKE" != 1 ]; then skip local-gpu "needs the stand-in's GPU study"
  else
    # One gpu_slot: GPU units run one at a time although 2 cores are free; 2 slots: they may share the GPU.
    note "local: GPU units and gpu_slots"
    msg=""
    export FAKE_GRAPHREACH_LOG=$W/local-gpu.events
    SMK_CONFIG=$GPU_CONFIG smk local-gpu local "$W/local-gpu" local-gpu || msg="snakemake failed: $(tail -15 "$W/local-gpu.log")"
    unset FAKE_GRAPHREACH_LOG
    [ -z "$msg" ] && [ "$(max_overlap "$W/local-gpu.events")" -lt 2 ] && msg="with 4 gpu_slots the GPU units never ran together"
    if [ -z "$msg" ]; then
      export FAKE_GRAPHREACH_LOG=$W/local-gpu1.events
      (cd "$W/wd-local-gpu" && timeout --foreground "$STEP_TIMEOUT" "$SMK" -s "$SNAKEFILE" --profile "$root/workflow/profiles/local" \
         --resources gpu_slots=1 --config experiment="$GPU_CONFIG" out="$W/local-gpu1" bin="$BIN" logs="$W/unitlogs-local-gpu1") \
         > "$W/local-gpu1.log" 2>&1 || msg="snakemake --resources gpu_slots=1 failed: $(tail -15 "$W/local-gpu1.log")"
      unset FAKE_GRAPHREACH_LOG
      [ -z "$msg" ] && [ "$(max_overlap "$W/local-gpu1.events")" != 1 ] && msg="with 1 gpu_slot GPU units ran together"
    fi
    [ -z "$msg" ] && ok local-gpu || bad local-gpu "$msg"
  fi
fi

if want local-hardkill; then
  note "local: Snakemake killed"
  hardkill_test local "$W/local-hardkill" local-hardkill
  [ -z "$FAULT_MSG" ] && ok local-hardkill || bad local-hardkill "$FAULT_MSG"
fi

# --- slurm ---------------------------------------------------------------------------------------------------------
if want slurm || want slurm-fault || want slurm-gpu || want slurm-hardkill; then
  slurm_ok=0
  if bash "$root/scripts/slurm-local.sh" status >/dev/null 2>&1; then slurm_ok=1; note "using the running one-node cluster"
  else
    note "starting the one-node Slurm cluster"
    t=$SECONDS
    # Without a GPU, a stand-in device node lets the node offer gres gpu/shard, so the GPU requests are tested too.
    if ! ls /dev/nvidia0 >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && mkdir -p "$W/gpu" && mknod "$W/gpu/nvidia0" c 195 0 2>/dev/null; then
      export GRAPHREACH_SLURM_GPU_DEVICES=$W/gpu/nvidia0
    fi
    bash "$root/scripts/slurm-local.sh" start > "$W/slurm-start.log" 2>&1; rc=$?
    unset GRAPHREACH_SLURM_GPU_DEVICES
    cat "$W/slurm-start.log"
    case $rc in
      0) slurm_ok=1; started_cluster=1; note "cluster up in $((SECONDS - t)) s" ;;
      3) for t in slurm slurm-fault slurm-gpu slurm-hardkill; do
           want $t && skip $t "$(grep unavailable "$W/slurm-start.log" | head -1)"
         done ;;
      *) started_cluster=1
         for t in slurm slurm-fault slurm-gpu slurm-hardkill; do
           want $t && bad $t "scripts/slurm-local.sh start failed (exit $rc)"
         done ;;
    esac
  fi
  eval "$(bash "$root/scripts/slurm-local.sh" env)"
fi

if [ "${slurm_ok:-0}" = 1 ] && want slurm; then
  S=$W/slurm; msg=""
  note "slurm profile"
  t=$SECONDS
  export FAKE_GRAPHREACH_LOG=$W/slurm.events
  smk slurm slurm "$S" slurm || msg="snakemake failed: $(tail -20 "$W/slurm.log")"
  note "slurm profile: $((SECONDS - t)) s for $NUNITS units"
  [ -z "$msg" ] && { msg=$(same_as_ref "$S") || true; }
  if [ -z "$msg" ]; then
    # Every unit ran in its own Slurm job: the job id in each unit's log, Snakemake's submission lines, squeue.
    ids=$(cat "$W"/unitlogs-slurm/*.log | sed -n 's/^unit .* slurm_job=\([0-9][0-9]*\) .*/\1/p' | sort -n)
    nlogs=$(find "$W"/unitlogs-slurm/ -name '*.log' ! -name report.log | wc -l)
    [ "$(echo "$ids" | grep -c .)" != "$NUNITS" ] && msg="$(echo "$ids" | grep -c .) of $NUNITS unit logs name a Slurm job ($nlogs logs)"
    [ -z "$msg" ] && [ "$(echo "$ids" | uniq | wc -l)" != "$NUNITS" ] && msg="units shared Slurm jobs: $(echo $ids)"
    sub=$(sed -n 's/.*has been submitted with SLURM jobid \([0-9]*\) .*/\1/p' "$W/slurm.log" | sort -n)
    [ -z "$msg" ] && [ "$sub" != "$ids" ] && msg="Snakemake's submitted job ids differ from the units' job ids"
    for j in $ids; do
      [ -z "$msg" ] && [ "$(squeue -h -t all -j "$j" -o %T 2>/dev/null)" != COMPLETED ] && msg="squeue does not show job $j COMPLETED"
    done
  fi
  [ -z "$msg" ] && [ "$FAKE" = 1 ] && [ -n "$(twice "$W/slurm.events")" ] && msg="units completed twice: $(twice "$W/slurm.events")"
  unset FAKE_GRAPHREACH_LOG
  [ -z "$msg" ] && ok slurm || bad slurm "$msg"
fi

if [ "${slurm_ok:-0}" = 1 ] && want slurm-fault; then
  note "slurm fault test"
  fault_test slurm "$W/slurm-fault" slurm-fault
  [ -z "$FAULT_MSG" ] && ok slurm-fault || bad slurm-fault "$FAULT_MSG"
fi

if [ "${slurm_ok:-0}" = 1 ] && want slurm-gpu; then
  if [ "$FAKE" != 1 ]; then skip slurm-gpu "needs the stand-in's GPU study"
  elif ! sinfo -h -o %G | grep -q 'gpu:'; then skip slurm-gpu "the cluster offers no gres gpu"
  else
    note "slurm: GPU units (--gpus=1, then --gres=shard:1)"
    msg=""
    for mode in gpu shard; do
      [ -z "$msg" ] || break
      export FAKE_GRAPHREACH_LOG=$W/slurm-$mode.events
      SMK_CONFIG=$GPU_CONFIG smk slurm-$mode slurm "$W/slurm-$mode" slurm-$mode slurm_gpu=$mode \
        || msg="snakemake ($mode) failed: $(tail -15 "$W/slurm-$mode.log")"
      unset FAKE_GRAPHREACH_LOG
      [ -z "$msg" ] && [ "$(grep -l 'slurm_job=[0-9].* gpus=[0-9]' "$W/unitlogs-slurm-$mode"/*.log | wc -l)" != 4 ] \
        && msg="not every GPU unit ran in a Slurm job with a GPU (CUDA_VISIBLE_DEVICES) in $mode mode"
      ids=$(sed -n 's/.*submitted with SLURM jobid \([0-9]*\) .*/\1/p' "$W/slurm-$mode.log" | paste -sd,)
      want_tres=gres:gpu:1; [ "$mode" = shard ] && want_tres=gres:shard:1
      # --gpus shows as TRES per job, --gres as TRES per node.
      tres=$(squeue -h -t all -j "$ids" -O 'tres-per-job:40,tres-per-node:40' | tr -s ' ' '\n' | grep -v -x -e N/A -e '' | sort -u)
      [ -z "$msg" ] && [ "$tres" != "$want_tres" ] && msg="$mode mode: the jobs asked for $(echo $tres), not $want_tres"
      # One GPU: whole-GPU jobs run one at a time.
      [ -z "$msg" ] && [ "$mode" = gpu ] && [ "$(max_overlap "$W/slurm-gpu.events")" != 1 ] && msg="two jobs held the one GPU at once"
    done
    [ -z "$msg" ] && ok slurm-gpu || bad slurm-gpu "$msg"
  fi
fi

if [ "${slurm_ok:-0}" = 1 ] && want slurm-hardkill; then
  note "slurm: Snakemake killed"
  hardkill_test slurm "$W/slurm-hardkill" slurm-hardkill
  [ -z "$FAULT_MSG" ] && ok slurm-hardkill || bad slurm-hardkill "$FAULT_MSG"
fi

note "done in $((SECONDS - T0)) s"
if [ "$failed" = 0 ] && [ -z "${WORKFLOW_TEST_DIR:-}" ]; then rm -rf "$W"; else echo "work folder kept: $W"; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
