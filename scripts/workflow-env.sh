#!/usr/bin/env bash
# Creates (idempotently) the Python virtual environment that runs the cluster workflow (workflow/Snakefile):
# the exact pins of workflow/requirements.txt (snakemake 9.x and snakemake-executor-plugin-slurm), from PyPI.
#
#   bash scripts/workflow-env.sh            # creates or checks the environment, prints how to use it
#   source "$(bash scripts/workflow-env.sh --print-path)/bin/activate"
#
# Location: $GRAPHREACH_WORKFLOW_VENV, default .venv-workflow/ in the repository root (git-ignored, never
# part of the source). The interpreter: $PYTHON, default python3 (snakemake 9 needs Python >= 3.11).
# A second run with the same pins does nothing (a stamp file inside the environment records what was installed);
# after a change of workflow/requirements.txt it installs the difference.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${GRAPHREACH_WORKFLOW_VENV:-$root/.venv-workflow}
req=$root/workflow/requirements.txt
python=${PYTHON:-python3}

if [ "${1:-}" = --print-path ]; then echo "$venv"; exit 0; fi
if [ $# -gt 0 ]; then echo "usage: $0 [--print-path]" >&2; exit 2; fi

command -v "$python" >/dev/null || { echo "error: $python not found; set PYTHON to a Python >= 3.11" >&2; exit 1; }
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: snakemake 9 needs Python >= 3.11, but $python is $("$python" -V 2>&1); set PYTHON=..." >&2; exit 1
fi

stamp=$venv/.graphreach-requirements
want=$("$python" -c 'import sys; print(sys.version.split()[0])'; cat "$req")
if [ -x "$venv/bin/snakemake" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && "$venv/bin/snakemake" --version >/dev/null 2>&1; then
  echo "workflow environment up to date: $venv (snakemake $("$venv/bin/snakemake" --version))"
else
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
      # Debian's own python3 ships venv/ensurepip in a separate package.
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
        rm -rf "$venv"; "$python" -m venv "$venv"
      else
        echo "error: '$python -m venv' failed; install python3-venv (Debian) or set PYTHON" >&2; exit 1
      fi
    fi
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  "$venv/bin/snakemake" --version >/dev/null
  printf '%s\n' "$want" > "$stamp"
  echo "workflow environment ready: $venv (snakemake $("$venv/bin/snakemake" --version))"
fi
echo "use it with:  source $venv/bin/activate   (or call $venv/bin/snakemake directly)"
