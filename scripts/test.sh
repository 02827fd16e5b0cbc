#!/usr/bin/env bash
# The one test command (README "Tests"; .ci/run calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --all-targets
