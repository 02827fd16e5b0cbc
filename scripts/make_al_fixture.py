#!/usr/bin/env python3
"""Produce the reference-parity fixture for graphreach's TypiClust and ACS-FW (issue 10, item 3).

Run by hand, never by CI, in a throw-away environment (nothing goes into the repository):

    python3 -m venv /tmp/alvenv
    /tmp/alvenv/bin/pip install numpy scikit-learn pandas
    /tmp/alvenv/bin/python scripts/make_al_fixture.py --out tests/fixtures/al

(the versions actually used are written into each case's expected.json). Nothing is downloaded.

What it reproduces, read from (not copied from) the reference code:
  * TypiClust: Genentech/iterative-perturb-seq `iterpert/query_strategies/typiclust.py`
    (query(): PCA when the feature dimension exceeds the threshold, k-means into |L| + n clusters,
    clusters sorted by (labelled count, -size) with pandas, round-robin, typicality with
    `NearestNeighbors(n_neighbors = K + 1)` and K = min(20, |A| // 2), argmax).
  * ACS-FW: `iterpert/query_strategies/kernel_based_active_learning.py` calling bmdal
    (dholzmueller/bmdal_reg `bmdal/algorithms.py` select(), `features.py` scale_tfm /
    acs_rf_tfm / ACSRFDataTransform, `feature_maps.py` robust_cholesky, `selection.py`
    IterativeSelectionMethod.select / FrankWolfeSelectionMethod) with
    kernel_transforms=[('acs-rf', [512, 0.1, None])], selection_method='fw', P-mode.

Deliberate, documented deviations so the picks are reproducible and comparable:
  * k-means: the reference calls `KMeans(k)` (unseeded k-means++) for k <= 50. Here the initial
    centres come from `sklearn.cluster.kmeans_plusplus(random_state=...)`, their point names are
    recorded, and `KMeans(k, init=centres, n_init=1)` runs Lloyd from them. The Rust test feeds
    the same points as initial centres.
  * torch: bmdal's torch ops are reproduced in numpy (torch is not installed: its PyPI wheel pulls
    gigabytes of CUDA libraries). The ops are elementwise/matmul/cholesky/inverse/argmax, whose
    semantics numpy shares (argmax: first maximum). `torch.randn(d, 512)` is replaced by draws
    from `numpy.random.default_rng(seed)`, rounded to 6 decimals and recorded (draws.tsv.gz); the
    Rust test feeds the same numbers.
  * dtype: bmdal computes in the features' dtype (float64 after sklearn's PCA, float32 without
    PCA). This script computes in float64 throughout, as graphreach does; for the no-PCA case it
    also runs a float32 pass and records whether its picks agree (`acs_fw_float32_same_picks`).
  * PCA threshold: the reference reduces when the dimension exceeds 10,000. A 120 x 10,001
    fixture would be megabytes, so case `pca` LOWERS THE THRESHOLD TO 100 (dimension 128 > 100);
    the number of components is the reference's min(n_points, 100). Case `nopca` has dimension
    24 (no PCA at either threshold). The threshold used is in expected.json (`pca_threshold`).
  * Embedding values are rounded to 6 decimals before use, so the TSV holds them exactly.

Problem: 120 perturbations `XXXX+ctrl` (random 4-letter genes), rows written in a shuffled order
(the reference sorts them by name through pandas' groupby; so must graphreach); 30 labelled
(listed as bare gene names), 90 candidates, budget 12, so TypiClust clusters into 42 <= 50
(the reference's KMeans branch). Embeddings: a mixture of 9 Gaussian blobs of different sizes and
spreads; for `pca` plus a decaying-variance tail so the PCA spectrum has clear gaps.
"""

import argparse
import gzip
import json
import math
import os
import string

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

N_POINTS = 120
N_LABELLED = 30
BUDGET = 12
N_FEATURES = 512
SIGMA = 0.1
K_NN = 20


def make_names(rng):
    names = set()
    while len(names) < N_POINTS:
        names.add("".join(rng.choice(list(string.ascii_uppercase), 4)))
    return sorted(names)


def make_embeddings(rng, dim, tail):
    centres = rng.normal(0.0, 3.0, size=(9, dim))
    sizes = [30, 22, 18, 14, 11, 9, 7, 5, 4]
    spreads = [1.0, 0.6, 1.4, 0.8, 0.5, 1.1, 0.7, 0.9, 0.4]
    rows = []
    for c, (n, s) in enumerate(zip(sizes, spreads)):
        rows.append(centres[c] + rng.normal(0.0, s, size=(n, dim)))
    x = np.vstack(rows)
    if tail:
        x += rng.normal(0.0, 1.0, size=x.shape) * (1.0 / (1.0 + np.arange(dim) / 8.0))
    rng.shuffle(x)
    return np.round(x, 6)


def reference_typiclust(emb, labelled_mask, n, centres):
    """typiclust.py query() with KMeans(k) replaced by KMeans(k, init=centres, n_init=1)."""
    k = int(labelled_mask.sum()) + n
    km = KMeans(n_clusters=k, init=centres, n_init=1)
    km.fit_predict(emb)
    clusters = km.labels_.copy()
    labels = km.labels_.copy()
    labeled_list = np.where(labelled_mask)[0]
    ids, sizes = np.unique(clusters, return_counts=True)
    id2size = dict(zip(ids, sizes))
    sizes = np.array([id2size.get(i, 0) for i in range(k)])
    lab_counts = np.bincount(clusters[labeled_list], minlength=k)
    df = pd.DataFrame({"cluster_id": list(range(k)), "cluster_size": sizes, "existing_count": lab_counts, "neg_cluster_size": -sizes})
    df = df.sort_values(["existing_count", "neg_cluster_size"])
    clusters[labeled_list] = -1
    picks, scores = [], []
    i = 0
    while len(picks) < n:
        c = df.iloc[i % len(df)].cluster_id
        idx = (clusters == c).nonzero()[0]
        if len(idx) != 0:
            kk = min(K_NN, len(idx) // 2)
            nbrs = NearestNeighbors(n_neighbors=kk + 1, algorithm="auto", metric="euclidean").fit(emb[idx])
            dist, _ = nbrs.kneighbors(emb[idx])
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = dist[:, 1:].mean(axis=1)
                typ = 1 / (mean + 1e-5)
            j = int(typ.argmax())
            picks.append(int(idx[j]))
            scores.append(None if kk == 0 else float(typ[j]))
            clusters[idx[j]] = -1
        i += 1
    return picks, scores, labels, int(km.n_iter_)


def robust_cholesky(m):
    m = m.copy()
    eps = 1e-5 * np.trace(m) / m.shape[-1] + 1e-30
    for _ in range(15):
        try:
            L = np.linalg.cholesky(m)
            if not np.isnan(L).any():
                return L
        except np.linalg.LinAlgError:
            pass
        m += eps * np.eye(m.shape[-1], dtype=m.dtype)
        eps *= 2
    raise RuntimeError("Could not Cholesky decompose the matrix")


def reference_acs_fw(x_train, x_pool, n, draws, dtype):
    """bmdal select(base_kernel='linear', kernel_transforms=[('acs-rf', [512, 0.1, None])],
    selection_method='fw', sel_with_train=False), torch ops in numpy."""
    x_train = x_train.astype(dtype)
    x_pool = x_pool.astype(dtype)
    e = draws.astype(dtype)
    # scale_tfm(factor=None) on the train features: 1/sqrt(mean of the kernel diagonal)
    factor = 1.0 / math.sqrt(float(np.mean(np.sum(x_train * x_train, axis=1))))
    x_train = x_train * dtype(factor)
    x_pool = x_pool * dtype(factor)
    # acs_rf_tfm(512, 0.1)
    d = x_train.shape[1]
    xxw = x_train.T @ x_train + (SIGMA**2) * np.eye(d, dtype=dtype)
    L = robust_cholesky(xxw)
    L_inv = np.linalg.inv(L)
    theta_cov = L_inv.T @ L_inv
    theta = L_inv.T @ e
    k = np.sum((x_pool @ theta_cov) * x_pool, axis=-1)[:, None]
    const = 0.5 * np.log(1 + k / SIGMA**2)
    z = x_pool @ theta
    phi = math.sqrt(1 / d) * (const - 0.5 / SIGMA**2 * (z**2 + k))
    phi = phi.astype(dtype)
    # FrankWolfeSelectionMethod (P-mode: features = pool only)
    sqrt_diag = np.sqrt(np.sum(phi * phi, axis=1))
    r = sqrt_diag.sum()
    u = phi / (sqrt_diag[:, None] + 1e-30)
    target = phi.sum(axis=0)
    cur = np.zeros(phi.shape[1], dtype=dtype)
    picks, scores = [], []
    selected = np.zeros(len(phi), dtype=bool)
    for _ in range(n):
        s = u @ (target - cur)
        s[picks] = -np.inf
        j = int(np.argmax(s))
        if j < 0 or j >= len(phi) or selected[j]:
            raise RuntimeError("Frank-Wolfe broke down; the fixture needs a well-posed problem")
        res = target - cur
        diff = r * u[j] - cur
        gamma = np.dot(diff, res) / np.dot(diff, diff)
        cur = (1 - gamma) * cur + gamma * r * u[j]
        picks.append(j)
        scores.append(float(s[j]))
        selected[j] = True
    return picks, scores


def fmt(v):
    return repr(float(v))


def write_case(out, case, dim, threshold, seed):
    rng = np.random.default_rng(seed)
    genes = make_names(rng)
    emb = make_embeddings(rng, dim, tail=(case == "pca"))
    conds = [g + "+ctrl" for g in genes]
    # The file lists rows in a shuffled order; the reference's pert_list is sorted by name.
    file_order = rng.permutation(N_POINTS)
    lab_genes = sorted(rng.choice(genes, N_LABELLED, replace=False).tolist())
    cand_genes = [g for g in genes if g not in set(lab_genes)]
    rng.shuffle(cand_genes)

    pert_list = np.array(sorted(conds))  # pandas groupby order
    row_of = {c: i for i, c in enumerate(conds)}
    x = np.stack([emb[row_of[p]] for p in pert_list])
    labelled_mask = np.isin(pert_list, [g + "+ctrl" for g in lab_genes])

    pca_components = None
    explained = None
    if dim > threshold:
        pca_components = min(x.shape[0], 100)
        pca = PCA(n_components=pca_components)
        work = pca.fit_transform(x)
        explained = float(sum(pca.explained_variance_ratio_))
    else:
        work = x

    k = int(labelled_mask.sum()) + BUDGET
    _, centre_idx = kmeans_plusplus(work, n_clusters=k, random_state=seed + 1)
    centres = work[centre_idx]
    tc_picks, tc_scores, tc_labels, n_iter = reference_typiclust(work, labelled_mask, BUDGET, centres)

    wdim = work.shape[1]
    draws = np.round(np.random.default_rng(seed + 2).standard_normal((wdim, N_FEATURES)), 6)
    x_pool = work[~labelled_mask]
    x_train = work[labelled_mask]
    pool_names = pert_list[~labelled_mask]
    fw_picks, fw_scores = reference_acs_fw(x_train, x_pool, BUDGET, draws, np.float64)
    same32 = None
    if pca_components is None:
        p32, _ = reference_acs_fw(x_train, x_pool, BUDGET, draws, np.float32)
        same32 = p32 == fw_picks

    d = os.path.join(out, case)
    os.makedirs(d, exist_ok=True)
    with gzip.open(os.path.join(d, "embeddings.tsv.gz"), "wt", compresslevel=9) as f:
        f.write("# graphreach-embeddings\n# synthetic: Gaussian blobs made by scripts/make_al_fixture.py\n")
        f.write("perturbation\t" + "\t".join(f"d{j}" for j in range(dim)) + "\n")
        for r in file_order:
            f.write(conds[r] + "\t" + "\t".join(f"{v:.6f}" for v in emb[r]) + "\n")
    with open(os.path.join(d, "labelled.txt"), "w") as f:
        f.write("".join(g + "\n" for g in lab_genes))
    with open(os.path.join(d, "candidates.txt"), "w") as f:
        f.write("".join(g + "\n" for g in cand_genes))
    with gzip.open(os.path.join(d, "draws.tsv.gz"), "wt", compresslevel=9) as f:
        for row in draws:
            f.write("\t".join(f"{v:.6f}" for v in row) + "\n")
    expected = {
        "synthetic": True,
        "generator": "scripts/make_al_fixture.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "pandas": pd.__version__},
        "seed": seed,
        "dim": dim,
        "pca_threshold": threshold,
        "pca_components": pca_components,
        "pca_explained_ratio": explained,
        "budget": BUDGET,
        "n_features": N_FEATURES,
        "sigma": SIGMA,
        "kmeans_initial_centres": [str(pert_list[i]) for i in centre_idx],
        "kmeans_labels": {str(p): int(c) for p, c in zip(pert_list, tc_labels)},
        "kmeans_iterations": n_iter,
        "typiclust_picks": [str(pert_list[i]) for i in tc_picks],
        "typiclust_typicality": tc_scores,
        "acs_fw_picks": [str(pool_names[i]) for i in fw_picks],
        "acs_fw_scores": fw_scores,
        "acs_fw_float32_same_picks": same32,
    }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"{case}: dim {dim}, PCA {pca_components}, k {k}, Lloyd iterations {n_iter}")
    print(f"  typiclust {expected['typiclust_picks']}")
    print(f"  acs-fw    {expected['acs_fw_picks']} (float32 same picks: {same32})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/al")
    a = ap.parse_args()
    write_case(a.out, "pca", dim=128, threshold=100, seed=101)
    write_case(a.out, "nopca", dim=24, threshold=10_000, seed=202)


if __name__ == "__main__":
    main()
