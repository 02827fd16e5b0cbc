#!/usr/bin/env bash
# The one test command (README "Tests"; .ci/run calls exactly this).
# As root it first installs what the GPU-path tests need: Mesa's software Vulkan (lavapipe), so the
# wgpu equivalence tests really run (and must: GRAPHREACH_REQUIRE_WGPU=1), and NVRTC 13.0 from PyPI,
# so every kernels/*.cu is compile-checked (GRAPHREACH_REQUIRE_NVRTC=1).
set -euo pipefail
cd "$(dirname "$0")/.."

lvp() { ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; }
if ! lvp && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1
fi
if lvp; then export GRAPHREACH_REQUIRE_WGPU=1; fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR; fi

if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
  python3 -m pip install -q "nvidia-cuda-nvrtc==13.0.*" || echo "note: could not install NVRTC; the .cu compile check will be skipped"
  nvrtc_dir=$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null || true)
  if [ -n "$nvrtc_dir" ] && [ -e "$nvrtc_dir/libnvrtc.so.13" ]; then
    export LD_LIBRARY_PATH="$nvrtc_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export GRAPHREACH_REQUIRE_NVRTC=1
  fi
fi

# The library builds without the command line (clap) and without the GPU features.
cargo check --lib --no-default-features
cargo test --release --all-targets

# The Snakemake workflow over the study's units (issue 12): the quick preset through the local profile and
# through a real one-node Slurm cluster (started here as root, stopped afterwards even on failure), with
# faults injected, against `graphreach experiment run`; then the GPU-sharing rules with the stand-in binary
# (no GPU here). Slurm tests are skipped with a printed reason only where the packages cannot be installed.
GRAPHREACH_WORKFLOW_TESTS=contract,local,local-kill,local-lockwait,local-hardkill,slurm,slurm-fault,slurm-hardkill \
  bash tests/workflow/run_workflow_tests.sh target/release/graphreach experiments/quick.toml
GRAPHREACH_WORKFLOW_TESTS=local-gpu,slurm-gpu bash tests/workflow/run_workflow_tests.sh tests/workflow/fake-graphreach.py
