#!/usr/bin/env python3
"""Test-only stand-in for `graphreach experiment plan|run-unit|report|run` (see /work/coord/STUDY_CONTRACT.md).

It follows the study contract with a fixed small study, so that workflow/Snakefile can be tested before the real
study exists and on machines where a real one would take too long:
  - plan: one-shot units (method x seed x cycle, no dependencies) and active-learning chains (cycle c depends on
    cycle c-1 of the same method and seed); writes DIR/config.toml and DIR/plan.jsonl, prints the plan.
  - run-unit: takes DIR/units/<id>/.lock (flock; a second concurrent run of the same unit exits 75), checks the
    dependencies' markers, runs `steps` steps of `step_seconds` each with a checkpoint after every step (a killed
    unit resumes from it), writes metrics.json, then the marker done.json last by rename.
  - report: DIR/report/results.tsv, one row per unit in plan order (train_seconds is the only timing column).
  - run: plan + every run-unit (up to --jobs at once, dependencies first) + report.
Nothing here is a result: the "score" is a hash of the unit id and its dependencies' scores.
If FAKE_GRAPHREACH_LOG is set, every completed unit appends "complete <id>" and "interval <id> <start> <end>" (epoch
seconds of its last attempt) to it, and "resume <id> <step>" on a resume, so tests can count completions and overlaps.
"""
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib

USAGE = """usage: fake-graphreach.py experiment plan CONFIG --out DIR --format jsonl
       fake-graphreach.py experiment run-unit DIR UNIT_ID
       fake-graphreach.py experiment report DIR
       fake-graphreach.py experiment run CONFIG --out DIR [--jobs N]"""
EX_LOCKED = 75
HEADER = ["dataset", "method", "fold", "seed", "cycle", "noise", "n_train", "days", "score", "train_seconds"]


class Fail(Exception):
    """An error reported as `error: ...` with exit code 1."""


def write_atomic(path, text):
    """Writes text to path through a temporary file and a rename."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def event(line):
    """Appends one line to $FAKE_GRAPHREACH_LOG (if set), atomically for concurrent writers."""
    path = os.environ.get("FAKE_GRAPHREACH_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def load_config(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
        cfg = tomllib.loads(raw.decode("utf-8-sig"))
    except OSError as e:
        raise Fail(f"cannot read config {path}: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        raise Fail(f"{path}: {e}")
    return cfg, raw


def make_plan(cfg, out, me):
    name = cfg.get("name", "fake")
    ds = cfg.get("dataset", "toy")
    cycles = int(cfg.get("cycles", 2))
    res = {"threads": int(cfg.get("threads", 1)), "mem_mb": int(cfg.get("mem_mb", 500)), "gpu": int(cfg.get("gpu", 0))}
    units = []

    def unit(method, seed, cycle, deps):
        uid = f"{name}__{ds}__{method}__n0.0__f01__s{seed}__c{cycle}"
        units.append({"id": uid, "dataset": ds, "method": method, "noise": 0.0, "fold": 1, "seed": seed,
                      "cycle": cycle, "deps": deps, "dir": f"units/{uid}", "marker": f"units/{uid}/done.json",
                      **res, "command": [me, "experiment", "run-unit", out, uid]})
        return uid

    for method in cfg.get("one_shot", ["graphreach", "random"]):
        for seed in cfg.get("seeds", [0]):
            for c in range(1, cycles + 1):
                unit(method, seed, c, [])
    for method in cfg.get("active_learning", ["typiclust"]):
        for seed in cfg.get("seeds", [0]):
            prev = []
            for c in range(1, cycles + 1):
                prev = [unit(method, seed, c, prev)]
    return units


def cmd_plan(args):
    if len(args) != 5 or args[1] != "--out" or args[3] != "--format" or args[4] != "jsonl":
        raise Fail(USAGE)
    cfg_path, out = args[0], os.path.abspath(args[2])
    cfg, raw = load_config(cfg_path)
    os.makedirs(out, exist_ok=True)
    saved = os.path.join(out, "config.toml")
    if os.path.exists(saved):
        with open(saved, "rb") as f:
            if f.read() != raw:
                raise Fail(f"{out} was planned with a different config ({saved}); use a new --out directory")
    else:
        write_atomic(saved, raw.decode("utf-8-sig"))
    me = os.path.abspath(sys.argv[0])
    text = "".join(json.dumps(u) + "\n" for u in make_plan(cfg, out, me))
    plan = os.path.join(out, "plan.jsonl")
    if not os.path.exists(plan) or open(plan).read() != text:
        write_atomic(plan, text)
    sys.stdout.write(text)


def read_plan(out):
    path = os.path.join(out, "plan.jsonl")
    try:
        with open(path) as f:
            units = [json.loads(line) for line in f if line.strip()]
    except OSError:
        raise Fail(f"{path} not found: run `experiment plan CONFIG --out {out} --format jsonl` first")
    cfg, _ = load_config(os.path.join(out, "config.toml"))
    return units, cfg


def score_of(out, uid):
    with open(os.path.join(out, "units", uid, "metrics.json")) as f:
        return json.load(f)["score"]


def cmd_run_unit(args):
    if len(args) != 2:
        raise Fail(USAGE)
    out, uid = os.path.abspath(args[0]), args[1]
    units, cfg = read_plan(out)
    by_id = {u["id"]: u for u in units}
    if uid not in by_id:
        raise Fail(f"unknown unit {uid!r} (not in {out}/plan.jsonl)")
    u = by_id[uid]
    udir, marker = os.path.join(out, u["dir"]), os.path.join(out, u["marker"])
    if os.path.exists(marker):
        print(f"{uid}: already complete")
        return
    for d in u["deps"]:
        if not os.path.exists(os.path.join(out, by_id[d]["marker"])):
            raise Fail(f"{uid}: dependency {d} is not complete")
    os.makedirs(udir, exist_ok=True)
    lock_path = os.path.join(udir, ".lock")
    lock = open(lock_path, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        print(f"error: unit {uid} is being run by another process ({lock_path} held by {holder})", file=sys.stderr)
        sys.exit(EX_LOCKED)
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid={os.getpid()} host={os.uname().nodename}\n")
    lock.flush()
    if os.path.exists(marker):  # finished by the previous holder of the lock
        print(f"{uid}: already complete")
        return

    steps, step_s = int(cfg.get("steps", 4)), float(cfg.get("step_seconds", 0.5))
    ckpt = os.path.join(udir, "checkpoint.json")
    state = hashlib.sha256(uid.encode() + b"".join(str(score_of(out, d)).encode() for d in u["deps"])).hexdigest()
    start_step, elapsed = 0, 0.0
    if os.path.exists(ckpt):
        with open(ckpt) as f:
            c = json.load(f)
        start_step, state, elapsed = c["step"], c["state"], c["seconds"]
        print(f"{uid}: resumed from checkpoint at step {start_step}/{steps}")
        event(f"resume {uid} {start_step}")
    t0, wall0 = time.monotonic(), time.time()
    for step in range(start_step, steps):
        print(f"{uid}: step {step + 1}/{steps}", flush=True)
        time.sleep(step_s)
        state = hashlib.sha256(f"{state}:{step}".encode()).hexdigest()
        write_atomic(ckpt, json.dumps({"step": step + 1, "state": state,
                                       "seconds": elapsed + time.monotonic() - t0}))
    seconds = elapsed + time.monotonic() - t0
    metrics = {"id": uid, "score": int(state[:8], 16) / 2**32, "n_train": 10 * u["cycle"], "days": 30 * u["cycle"],
               "train_seconds": round(seconds, 3)}
    write_atomic(os.path.join(udir, "metrics.json"), json.dumps(metrics, indent=1) + "\n")
    os.remove(ckpt)
    write_atomic(marker, json.dumps({"id": uid, "complete": True}) + "\n")
    event(f"complete {uid}")
    event(f"interval {uid} {wall0:.3f} {time.time():.3f}")
    print(f"{uid}: complete")


def cmd_report(args):
    if len(args) != 1:
        raise Fail(USAGE)
    out = os.path.abspath(args[0])
    units, _ = read_plan(out)
    rows = ["\t".join(HEADER)]
    for u in units:
        if not os.path.exists(os.path.join(out, u["marker"])):
            raise Fail(f"unit {u['id']} is not complete; run it first")
        with open(os.path.join(out, u["dir"], "metrics.json")) as f:
            m = json.load(f)
        rows.append("\t".join(str(v) for v in [u["dataset"], u["method"], u["fold"], u["seed"], u["cycle"],
                                               u["noise"], m["n_train"], m["days"], f"{m['score']:.6f}",
                                               m["train_seconds"]]))
    os.makedirs(os.path.join(out, "report"), exist_ok=True)
    write_atomic(os.path.join(out, "report", "results.tsv"), "\n".join(rows) + "\n")
    print(f"wrote {out}/report/results.tsv ({len(units)} units)")


def cmd_run(args):
    jobs = 1
    if "--jobs" in args:
        i = args.index("--jobs")
        jobs = int(args[i + 1])
        args = args[:i] + args[i + 2:]
    if len(args) != 3 or args[1] != "--out":
        raise Fail(USAGE)
    out = os.path.abspath(args[2])
    me = os.path.abspath(sys.argv[0])
    subprocess.run([sys.executable, me, "experiment", "plan", args[0], "--out", out, "--format", "jsonl"],
                   check=True, stdout=subprocess.DEVNULL)
    units, _ = read_plan(out)
    done = {u["id"] for u in units if os.path.exists(os.path.join(out, u["marker"]))}
    todo = [u for u in units if u["id"] not in done]
    running = {}
    while todo or running:
        for u in list(todo):
            if len(running) >= jobs:
                break
            if all(d in done for d in u["deps"]):
                todo.remove(u)
                running[u["id"]] = subprocess.Popen([sys.executable, me, "experiment", "run-unit", out, u["id"]],
                                                    stdout=subprocess.DEVNULL)
        time.sleep(0.05)
        for uid, p in list(running.items()):
            if p.poll() is not None:
                del running[uid]
                if p.returncode != 0:
                    raise Fail(f"unit {uid} failed (exit {p.returncode})")
                done.add(uid)
    cmd_report([out])


def main():
    a = sys.argv[1:]
    if len(a) < 2 or a[0] != "experiment":
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    cmds = {"plan": cmd_plan, "run-unit": cmd_run_unit, "report": cmd_report, "run": cmd_run}
    if a[1] not in cmds:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    try:
        cmds[a[1]](a[2:])
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
