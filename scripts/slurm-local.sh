#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing the workflow (workflow/README.md) without a real cluster.
#
#   bash scripts/slurm-local.sh start    # installs the Debian packages if missing, starts munged, slurmctld, slurmd
#   bash scripts/slurm-local.sh status   # sinfo + squeue (exit 0 when the node answers, 3 when not running)
#   bash scripts/slurm-local.sh stop     # cancels the jobs, ends the daemons, removes the state (logs stay)
#   eval "$(bash scripts/slurm-local.sh env)"   # points sbatch/squeue/sinfo of this shell at the cluster
#
# Runs as root, without systemd (apt on containers does not start services). Everything lives under one
# directory, $GRAPHREACH_SLURM_DIR (default /tmp/graphreach-slurm): slurm.conf (generated at every start: node
# name = `hostname -s`, CPUs and memory from `slurmd -C`, no accounting, no cgroups), its own munge key and
# socket, the controller state, the slurmd spool, pid files and log/. Outside it only one symlink,
# /etc/slurm/slurm.conf -> $GRAPHREACH_SLURM_DIR/slurm.conf, is made (and removed by stop): Snakemake's job-step
# plugin drops SLURM_CONF from the environment of the `srun` it runs inside each job, so srun must find the
# configuration at its default place. A real /etc/slurm/slurm.conf is never replaced: start refuses instead.
# /etc/munge is not touched (the cluster has its own munge key and socket).
#
# If /dev/nvidia0 exists, the node offers its GPUs as gres `gpu` (one job per GPU) and `shard`
# ($GRAPHREACH_SLURM_SHARDS_PER_GPU, default 4, jobs sharing one GPU). $GRAPHREACH_SLURM_GPU_DEVICES (a space-separated
# list of character devices) replaces the /dev/nvidiaN found; the tests use it with a stand-in device node to check
# the GPU requests on a machine without a GPU.
#
# Other settings: GRAPHREACH_SLURM_PORT (slurmctld port, default 6817; slurmd uses the next one),
# GRAPHREACH_SLURM_TIMEOUT (seconds to wait for the node to become idle, default 90).
# Exit codes: 0 ok, 1 failure (with the daemons' log tails), 2 usage, 3 unavailable here (not root, packages
# cannot be installed) or, for status, not running.
set -euo pipefail

D=${GRAPHREACH_SLURM_DIR:-/tmp/graphreach-slurm}
PORT=${GRAPHREACH_SLURM_PORT:-6817}
TIMEOUT=${GRAPHREACH_SLURM_TIMEOUT:-90}
SHARDS=${GRAPHREACH_SLURM_SHARDS_PER_GPU:-4}
GPU_DEVICES=${GRAPHREACH_SLURM_GPU_DEVICES:-$(for f in /dev/nvidia[0-9] /dev/nvidia[0-9][0-9]; do if [ -c "$f" ]; then printf '%s ' "$f"; fi; done)}
CONF=$D/slurm.conf
ETC_CONF=/etc/slurm/slurm.conf
SOCK=$D/munge/munge.socket.2
export SLURM_CONF=$CONF

say() { echo "slurm-local: $*"; }
die() { echo "slurm-local: error: $*" >&2; exit 1; }
unavailable() { echo "slurm-local: unavailable: $*" >&2; exit 3; }

# Prints the pid in pid file $1 if that process is alive and its command name is $2.
live_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(tr -dc 0-9 < "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}

# Installs slurmctld, slurmd, slurm-client and munge from Debian when a command is missing.
ensure_packages() {
  local missing=0 c
  for c in slurmctld slurmd sinfo squeue sbatch scancel munged munge unmunge; do
    command -v "$c" >/dev/null || missing=1
  done
  [ $missing = 0 ] && return 0
  command -v apt-get >/dev/null || unavailable "Slurm/munge are not installed and there is no apt-get"
  say "installing slurmctld slurmd slurm-client munge (Debian, no recommends)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           slurmctld slurmd slurm-client munge >/dev/null; }; then
    unavailable "apt-get could not install slurmctld slurmd slurm-client munge"
  fi
}

node_state() { sinfo -h -N -o %t 2>/dev/null | head -n1 | tr -d '*~#!%$@^-'; }

running() {
  live_pid "$D/munge/munged.pid" munged >/dev/null && live_pid "$D/slurmctld.pid" slurmctld >/dev/null \
    && live_pid "$D/slurmd.pid" slurmd >/dev/null && [ -f "$CONF" ]
}

log_tails() {
  local f
  for f in "$D"/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2; tail -n 25 "$f" >&2
  done
}

write_conf() {
  local host cpu_line gres_types="" node_gres="" gpus dev
  host=$(hostname -s)
  # `slurmd -C` prints the node line with this machine's real CPUs and memory (RealMemory must not exceed it).
  cpu_line=$(slurmd -C | head -n1)
  case "$cpu_line" in NodeName=*) ;; *) die "unexpected 'slurmd -C' output: $cpu_line";; esac
  cpu_line=${cpu_line#NodeName=* }
  gpus=0
  : > "$D/gres.conf"
  for dev in $GPU_DEVICES; do
    [ -c "$dev" ] || continue
    # Debian's build has no gpu_nvml plugin: name each device file.
    echo "NodeName=$host Name=gpu File=$dev" >> "$D/gres.conf"
    gpus=$((gpus + 1))
  done
  if [ "$gpus" -gt 0 ]; then
    gres_types="GresTypes=gpu,shard"
    node_gres="Gres=gpu:$gpus,shard:$((gpus * SHARDS))"
    echo "NodeName=$host Name=shard Count=$((gpus * SHARDS))" >> "$D/gres.conf"
  fi
  cat > "$CONF" <<EOF
# Generated by scripts/slurm-local.sh at $(date -u +%FT%TZ); rewritten at every start.
ClusterName=graphreach-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$D/ctld
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting database: what works in a container without systemd.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
# Finished jobs stay visible to squeue (the workflow's status command without slurmdbd) for a day.
MinJobAge=86400
MaxJobCount=100000
KillWait=5
InactiveLimit=0
SlurmdTimeout=300
MpiDefault=none
$gres_types
NodeName=$host NodeAddr=127.0.0.1 $cpu_line $node_gres State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  [ "$(id -u)" = 0 ] || unavailable "needs root (it starts munged, slurmctld and slurmd)"
  ensure_packages
  if running && [ "$(node_state)" != "" ]; then
    say "already running ($CONF)"; status_cmd; return 0
  fi
  stop_cmd quiet
  if [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    [ "$(readlink "$ETC_CONF" 2>/dev/null)" = "$CONF" ] \
      || unavailable "$ETC_CONF exists and is not this script's link: this machine has its own Slurm; use it"
  fi
  mkdir -p "$D/log" "$D/ctld" "$D/spool" "$D/munge" /etc/slurm
  ln -sfn "$CONF" "$ETC_CONF"
  : > "$D/log/munged.log"; : > "$D/log/slurmctld.log"; : > "$D/log/slurmd.log"
  chown munge:munge "$D/munge" "$D/log/munged.log"; chmod 0755 "$D/munge"
  # A fresh key for this cluster only (munged insists on owner munge and mode 0400/0600).
  head -c 1024 /dev/urandom > "$D/munge/munge.key"
  chown munge:munge "$D/munge/munge.key"; chmod 0400 "$D/munge/munge.key"
  write_conf

  runuser -u munge -- munged --key-file="$D/munge/munge.key" --socket="$SOCK" --pid-file="$D/munge/munged.pid" \
    --log-file="$D/log/munged.log" --seed-file="$D/munge/munged.seed" \
    || { log_tails; stop_cmd quiet; die "munged did not start"; }
  munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null \
    || { log_tails; stop_cmd quiet; die "munge credential round trip failed"; }

  # GRAPHREACH_SLURM_DIR in the daemons' environment lets `stop` recognise their job-step processes.
  GRAPHREACH_SLURM_DIR=$D slurmctld -f "$CONF" || { log_tails; stop_cmd quiet; die "slurmctld did not start"; }
  GRAPHREACH_SLURM_DIR=$D slurmd -f "$CONF" || { log_tails; stop_cmd quiet; die "slurmd did not start"; }

  local t0=$SECONDS st=""
  while [ $((SECONDS - t0)) -lt "$TIMEOUT" ]; do
    st=$(node_state)
    if [ "$st" = idle ] || [ "$st" = mix ] || [ "$st" = alloc ]; then
      say "node $(hostname -s) is $st after $((SECONDS - t0)) s"
      say "clients: export SLURM_CONF=$CONF"
      return 0
    fi
    sleep 1
  done
  echo "slurm-local: error: the node did not become idle within ${TIMEOUT} s (state: '${st:-no answer}')" >&2
  sinfo -N -l >&2 || true
  log_tails
  stop_cmd quiet
  exit 1
}

# Ends the process in pid file $1 (command name $2): TERM, then KILL after 10 s.
end_daemon() {
  local pid
  pid=$(live_pid "$1" "$2") || { rm -f "$1"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
  [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

stop_cmd() {
  local quiet=${1:-} ids pid
  if live_pid "$D/slurmctld.pid" slurmctld >/dev/null && [ -f "$CONF" ]; then
    ids=$(squeue -h -t PD,R,CG,S,CF -o %i 2>/dev/null || true)
    if [ -n "$ids" ]; then
      [ -n "$quiet" ] || say "cancelling jobs: $(echo $ids)"
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null || true
      for _ in $(seq 1 30); do
        [ -z "$(squeue -h -t PD,R,CG,S,CF -o %i 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  end_daemon "$D/slurmd.pid" slurmd
  end_daemon "$D/slurmctld.pid" slurmctld
  end_daemon "$D/munge/munged.pid" munged
  # Job-step daemons that outlived slurmd: only those started by this cluster (marked in their environment).
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmstepd ] || continue
    tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "GRAPHREACH_SLURM_DIR=$D" || continue
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$D/ctld" "$D/spool" "$D/munge" "$D/slurm.conf" "$D/gres.conf"
  if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then rm -f "$ETC_CONF"; fi
  [ -n "$quiet" ] || say "stopped; state removed (logs kept in $D/log)"
}

status_cmd() {
  if ! running; then say "not running ($D)"; return 3; fi
  echo "SLURM_CONF=$CONF"
  sinfo -N -o '%N %t %c %m %G' || return 1
  squeue -t all -o '%.8i %.10T %.12M %.30j %k' || return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop_cmd ;;
  status) status_cmd ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
