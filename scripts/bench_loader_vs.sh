#!/usr/bin/env bash
# The user-file graph loader (graph::io::parse_edge_list) of earlier commits and of this tree, timed
# side by side in one process on the same bytes, interleaved run by run (BENCHMARKS.md, "Loading").
# Builds every library without default features (no GPU, no clap where optional; about 10 minutes on
# 2 cores). Every variant must produce the same CSR, or the run stops. With no FILE, uses
# go_graph_k20 (the human GO graph, GEARS's own file) as CSV, TSV and TSV.gz.
#   scripts/bench_loader_vs.sh COMMIT[,COMMIT...] [FILE...]
#   e.g. scripts/bench_loader_vs.sh "$(git merge-base wip/loaders e07ba0f)",afd31e9
set -euo pipefail
commits=${1:?usage: scripts/bench_loader_vs.sh COMMIT[,COMMIT...] [FILE...]}
shift
reps=${REPS:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${TMPDIR:-/tmp}/graphreach-loader-vs
rm -rf "$work/bench"
mkdir -p "$work/bench/src"

deps=""
calls=""
k=0
IFS=, read -ra list <<<"$commits"
for c in "${list[@]}"; do
  d="$work/v$k"
  sha=$(git -C "$root" rev-parse "$c^{commit}")
  # Extracted once per commit (a fresh copy would be rebuilt from scratch).
  if [ "$(cat "$d/.commit" 2>/dev/null)" != "$sha" ]; then
    rm -rf "$d"
    mkdir -p "$d"
    git -C "$root" archive "$c" | tar -x -C "$d"
    echo "$sha" >"$d/.commit"
    sed -i "s/^name = \"graphreach\"\$/name = \"graphreach-v$k\"/; /^default-run/d; /^\[\[bench\]\]/,+2d; /^\[\[bin\]\]/,+3d" "$d/Cargo.toml"
    rm -rf "$d/benches" "$d/tests" "$d/src/main.rs"
  fi
  deps+="v$k = { package = \"graphreach-v$k\", path = \"$d\", default-features = false }"$'\n'
  # Every commit since the loaders work takes raw bytes (gzip ok); the base commit took
  # decompressed bytes. Both accept the decompressed form, which costs the same copy of the input.
  calls+="        (\"$(git -C "$root" rev-parse --short "$c")\", Box::new(|| { let g = v$k::graph::io::parse_edge_list(&v$k::graph::io::decompress_if_gz(bytes.clone(), f).unwrap(), f).unwrap(); (g.out.indptr, g.out.indices, g.out.weights) })),"$'\n'
  k=$((k + 1))
done

cat >"$work/bench/Cargo.toml" <<EOF
[package]
name = "loader-vs"
version = "0.1.0"
edition = "2021"

[dependencies]
${deps}new = { package = "graphreach", path = "$root", default-features = false }

[profile.release]
codegen-units = 16
EOF
cp "$root/Cargo.lock" "$work/bench/Cargo.lock"
cat >"$work/bench/src/main.rs" <<EOF
use std::time::Instant;

type Csr = (Vec<u32>, Vec<u32>, Vec<f32>);

fn main() {
    let reps: usize = std::env::var("REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    for f in std::env::args().skip(1) {
        let f = f.as_str();
        let bytes = std::fs::read(f).unwrap();
        let variants: Vec<(&str, Box<dyn Fn() -> Csr + '_>)> = vec![
${calls}            ("this tree", Box::new(|| { let g = new::graph::io::parse_edge_list(&bytes, f).unwrap(); (g.out.indptr, g.out.indices, g.out.weights) })),
        ];
        let want = (variants.last().unwrap().1)();
        for (name, run) in &variants {
            assert!(run() == want, "{name} reads {f} differently");
        }
        let mut times = vec![Vec::new(); variants.len()];
        for _ in 0..reps {
            for (t, (_, run)) in times.iter_mut().zip(&variants) {
                let t0 = Instant::now();
                std::hint::black_box(run());
                t.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
        for t in &mut times {
            t.sort_by(f64::total_cmp);
        }
        let now = times.last().unwrap().clone();
        println!("{f} ({} edges, {reps} interleaved runs)", want.1.len());
        for ((name, _), t) in variants.iter().zip(&times) {
            println!("  {name:>10}\tmedian {:7.1} ms\tmin {:7.1} ms\tthis tree is {:.2}x faster (medians), {:.2}x (minima)",
                t[reps / 2], t[0], t[reps / 2] / now[reps / 2], t[0] / now[0]);
        }
    }
}
EOF
if [ $# -eq 0 ]; then
  gunzip -c "$root/data/go/go_graph_k20.tsv.gz" >"$work/go_k20.tsv"
  tr '\t' ',' <"$work/go_k20.tsv" >"$work/go_k20.csv"
  cp "$root/data/go/go_graph_k20.tsv.gz" "$work/go_k20.tsv.gz"
  set -- "$work/go_k20.csv" "$work/go_k20.tsv" "$work/go_k20.tsv.gz"
fi
CARGO_TARGET_DIR="$work/target" cargo build --release --quiet --manifest-path "$work/bench/Cargo.toml"
echo "$(date -u +%H:%M) UTC, $(nproc) cores, load:$(cut -d' ' -f1-3 /proc/loadavg), $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src || echo ' + uncommitted src changes')"
"$work/target/release/loader-vs" "$@"
