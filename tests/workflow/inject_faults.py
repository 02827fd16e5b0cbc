#!/usr/bin/env python3
"""Test helper: injects faults into a running graphreach workflow (tests/workflow/run_workflow_tests.sh).

  inject_faults.py --out DIR --watch PID [--kill] [--scancel] [--timeout S] [--min-age S] [--require NAME]

Waits until a unit of DIR is mid-way (its `run-unit DIR ID` process runs and its folder holds more than the lock, or
the process has run for --min-age seconds; with --require, only once the file NAME is in the unit's folder), then with --scancel cancels the Slurm job running one such unit and with
--kill sends SIGKILL to the process of another. Stops when both are done, when process PID (the workflow) is gone,
or after --timeout seconds. Prints "cancelled UNIT JOBID" and "killed UNIT PID"; exit 0 when every fault requested
was injected, 1 otherwise.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time


def unit_processes(out):
    """{unit id: pid} of the `... run-unit OUT ID` processes on this machine (matched on argv)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        for i, a in enumerate(argv[:-2]):
            if a == "run-unit" and os.path.realpath(argv[i + 1]) == out:
                found[argv[i + 2]] = int(name)
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--watch", type=int, required=True)
    ap.add_argument("--kill", action="store_true")
    ap.add_argument("--scancel", action="store_true")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--min-age", type=float, default=1.0)
    ap.add_argument("--require", default=None)
    a = ap.parse_args()
    out = os.path.realpath(a.out)
    plan, first_seen, cancelled, killed = None, {}, None, None
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.timeout and os.path.exists(f"/proc/{a.watch}"):
        if (not a.scancel or cancelled) and (not a.kill or killed):
            break
        if plan is None and os.path.exists(os.path.join(out, "plan.jsonl")):
            with open(os.path.join(out, "plan.jsonl")) as f:
                plan = {u["id"]: u for u in map(json.loads, filter(str.strip, f))}
        if plan is None:
            time.sleep(0.1)
            continue
        procs = unit_processes(out)
        now = time.monotonic()
        for uid in procs:
            first_seen.setdefault(uid, now)

        def midway(uid):
            u = plan.get(uid)
            if u is None or uid not in procs or os.path.exists(os.path.join(out, u["marker"])):
                return False
            udir = os.path.join(out, u["dir"])
            if a.require:
                return os.path.exists(os.path.join(udir, a.require))
            extra = [e for e in (os.listdir(udir) if os.path.isdir(udir) else []) if e not in (".lock", "done.json")]
            return bool(extra) or now - first_seen[uid] >= a.min_age

        if a.scancel and not cancelled:
            q = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i|%k"], capture_output=True, text=True)
            for line in q.stdout.splitlines():
                jid, _, comment = line.partition("|")
                uid = comment.removeprefix("rule_unit_wildcards_")
                if uid != comment and midway(uid):
                    subprocess.run(["scancel", jid], check=True)
                    cancelled = uid
                    print(f"cancelled {uid} {jid}", flush=True)
                    break
        if a.kill and not killed:
            for uid, pid in procs.items():
                if uid != cancelled and midway(uid):
                    os.kill(pid, signal.SIGKILL)
                    killed = uid
                    print(f"killed {uid} {pid}", flush=True)
                    break
        time.sleep(0.05)
    ok = (cancelled or not a.scancel) and (killed or not a.kill)
    if not ok:
        print("could not inject every fault (no unit mid-way while the workflow ran)", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
