#!/usr/bin/env bash
# Builds, on an x86-64 machine with Rust, everything scripts/gpu-check.sh runs on a GPU machine
# that has no Rust toolchain and no package registry:
#
#   gpu-bundle/graphreach          the release binary (cuda + wgpu; libcuda, libnvrtc and
#                                  libcublas are loaded at run time, nothing is linked)
#   gpu-bundle/tests/NAME          the GPU test binaries (every kernel against the CPU twin)
#   gpu-bundle/MANIFEST.txt        commit, toolchain, glibc, sizes and sha256 of every file
#
# The folder is git-ignored and stays under 64 MiB (binaries stripped). No data is bundled: the
# benchmark graphs and the simulated Perturb-seq data are generated on the GPU machine by the
# binary itself (`gen:` presets, `graphreach simulate`), and the GO inputs are in data/go of the
# repository checkout the check runs from.
#
# Usage: scripts/gpu-bundle.sh [OUT_DIR]      (default gpu-bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu-bundle}
TESTS=(backend_equivalence jaccard_equivalence gears_gpu shaders backend_select)
LIMIT=$((64 * 1024 * 1024))

cargo build --release --bin graphreach
args=()
for t in "${TESTS[@]}"; do args+=(--test "$t"); done
json=$(cargo test --release --no-run --message-format=json "${args[@]}")

rm -rf "$OUT"
mkdir -p "$OUT/tests"
copy() { # copy SRC DEST, stripped when `strip` is available
  cp "$1" "$2"
  if command -v strip >/dev/null; then strip "$2"; fi
  chmod +x "$2"
}
copy target/release/graphreach "$OUT/graphreach"
for t in "${TESTS[@]}"; do
  # The test target's executable from cargo's JSON messages (one "compiler-artifact" line per target).
  exe=$(printf '%s\n' "$json" | grep '"reason":"compiler-artifact"' | grep "\"name\":\"$t\"" | grep '"kind":\["test"\]' \
        | grep -o '"executable":"[^"]*"' | head -n1 | sed 's/"executable":"\(.*\)"/\1/')
  if [ -z "$exe" ] || [ ! -x "$exe" ]; then
    echo "gpu-bundle: no executable found for test target $t" >&2
    exit 1
  fi
  copy "$exe" "$OUT/tests/$t"
done

{
  echo "graphreach GPU bundle (built by scripts/gpu-bundle.sh; run with scripts/gpu-check.sh)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(rustc --version)"
  echo "glibc of the build machine: $(ldd --version 2>/dev/null | head -n1)"
  if command -v objdump >/dev/null; then
    echo "needs glibc >= $(objdump -T "$OUT/graphreach" "$OUT"/tests/* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)"
  fi
  echo "files (bytes, sha256):"
  (cd "$OUT" && find . -type f ! -name MANIFEST.txt | sort | while read -r f; do
     echo "  $f $(wc -c <"$f") $(sha256sum "$f" | cut -d' ' -f1)"
   done)
} >"$OUT/MANIFEST.txt"

total=$(du -sb "$OUT" | cut -f1)
echo "gpu-bundle: $OUT holds $total bytes ($(( total / 1024 / 1024 )) MiB)"
if [ "$total" -gt "$LIMIT" ]; then
  echo "gpu-bundle: over the 64 MiB limit" >&2
  exit 1
fi
