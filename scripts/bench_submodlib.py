#!/usr/bin/env python3
"""GraphReach with submodlib's C++ lazy greedy, for the side-by-side benchmark of issue 5.

Reads the same edge list `graphreach` reads (tab-separated `u<TAB>v[<TAB>w]` lines, no header, integer node ids, as written
by `graphreach graph gen --preset NAME --out FILE`), builds the L-hop balls in the `in` direction
(graphreach's default: a hop from v goes to the sources u of edges u -> v; each ball holds its
centre), feeds them to `submodlib.SetCoverFunction` as cover sets (one set per node, all nodes as
candidates, unit concept weights) and maximises with `optimizer="LazyGreedy"`.

Prints the phase times on stderr and, with --out, writes the picks as `rank<TAB>node<TAB>gain`
so they can be compared with `graphreach select --format tsv`. Run it under
`/usr/bin/time -f "%e s %M KB"` for the end-to-end wall time and peak RSS.

    python3 scripts/bench_submodlib.py /tmp/b_genome.tsv --hops 2 --budget 500 --out picks.tsv
"""

import argparse
import sys
import time

import numpy as np
import scipy.sparse as sp


def load_edges(path):
    """Integer edge list -> (n, src, dst) with non-positive weights dropped (as graphreach does).
    Parsed with pandas' C reader, so the Python side is not slowed down by a line loop."""
    import pandas as pd

    df = pd.read_csv(path, sep="\t", header=None, comment="#")
    src = df[0].to_numpy(dtype=np.int64)
    dst = df[1].to_numpy(dtype=np.int64)
    n = int(max(src.max(), dst.max())) + 1 if len(src) else 0
    if df.shape[1] >= 3:
        keep = df[2].to_numpy(dtype=np.float64) > 0
        src, dst = src[keep], dst[keep]
    return n, src, dst


def balls(n, src, dst, hops):
    """Row v of the result = nodes within `hops` in-hops of v (v included), as a CSR pattern."""
    # Row v of the hop matrix lists the sources u of edges u -> v, plus v itself.
    hop = sp.csr_matrix((np.ones(len(src), dtype=np.int32), (dst, src)), shape=(n, n))
    hop = ((hop + sp.identity(n, dtype=np.int32, format="csr")) > 0).astype(np.int32)
    ball = sp.identity(n, dtype=np.int32, format="csr")
    for _ in range(hops):
        ball = ((hop @ ball) > 0).astype(np.int32)
    ball.sort_indices()
    return ball


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("graph", help="edge list written by `graphreach graph gen`")
    ap.add_argument("--hops", type=int, default=2)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--out", help="write the picks as rank<TAB>node<TAB>gain")
    a = ap.parse_args()

    ti = time.perf_counter()
    from submodlib import SetCoverFunction  # imports numba, scikit-learn, ...: timed separately

    t0 = time.perf_counter()
    n, src, dst = load_edges(a.graph)
    t1 = time.perf_counter()
    b = balls(n, src, dst, a.hops)
    cover = [set(b.indices[b.indptr[i]:b.indptr[i + 1]].tolist()) for i in range(n)]
    members = int(b.nnz)
    del b
    t2 = time.perf_counter()

    f = SetCoverFunction(n=n, cover_set=cover, num_concepts=n)
    t3 = time.perf_counter()
    picks = f.maximize(budget=a.budget, optimizer="LazyGreedy", stopIfZeroGain=False,
                       stopIfNegativeGain=False, verbose=False, show_progress=False)
    t4 = time.perf_counter()

    covered = set()
    for node, _ in picks:
        covered |= cover[node]
    print(f"submodlib: n={n} edges={len(src)} hops={a.hops} budget={a.budget} ball_members={members} "
          f"objective={len(covered)}", file=sys.stderr)
    print(f"submodlib: load {t1 - t0:.2f} s, balls+cover sets {t2 - t1:.2f} s, SetCover init {t3 - t2:.2f} s, "
          f"LazyGreedy {t4 - t3:.2f} s, total {t4 - t0:.2f} s (+ import {t0 - ti:.2f} s)", file=sys.stderr)
    if a.out:
        with open(a.out, "w") as f_out:
            for rank, (node, gain) in enumerate(picks, 1):
                f_out.write(f"{rank}\t{node}\t{int(round(gain))}\n")


if __name__ == "__main__":
    main()
