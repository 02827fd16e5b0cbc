#!/usr/bin/env python3
"""Writes tests/fixtures/deg_ad/: a small SYNTHETIC random expression table (not Perturb-seq data)
and what SciPy / statsmodels compute on it, so tests/deg_test.rs can check graphreach's
Anderson-Darling DEG count (src/data/anderson.rs, src/data/deg_test.rs) against them.

Run by hand (not in CI), in a virtual environment with numpy, scipy and statsmodels:

    python3 -m venv /tmp/degvenv && /tmp/degvenv/bin/pip install numpy scipy statsmodels
    /tmp/degvenv/bin/python scripts/make_deg_fixture.py tests/fixtures/deg_ad

The values look like log-normalised sparse counts: Poisson/negative-binomial counts with most genes
mostly zero, library sizes drawn from a short list (so normalised values tie across cells), a few
genes left as raw integers (heavy ties), one gene zero everywhere (SciPy refuses it; graphreach
reports p = 1), one gene zero in every control cell. Five perturbation groups of different sizes
shift some genes up or down (two of them only weakly, so that the two FDR families give
different counts) so that some p-values are floored at 0.001, some capped at 0.25, and
some interpolated. Values are float32, as graphreach stores expression.

Outputs:
  values.tsv          condition, then one column per gene; one row per cell
  expected_tests.tsv  perturbation, gene, statistic, pvalue: anderson_ksamp([perturbed, ctrl]) midrank
  expected_counts.tsv perturbation, degs_screen, degs_perturbation: multipletests(fdr_bh, alpha 0.05)
                      over all (perturbation, gene) p-values / over each perturbation's genes
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy.stats import anderson_ksamp
from statsmodels.stats.multitest import multipletests

SEED = 20240613
N_GENES = 30
N_CTRL = 400
GROUPS = {"A+ctrl": 6, "B+ctrl": 25, "C+ctrl": 40, "D+ctrl": 70, "E+ctrl": 120}
EFFECT_SD = {"A+ctrl": 1.2, "B+ctrl": 1.2, "C+ctrl": 0.35, "D+ctrl": 0.25, "E+ctrl": 1.2}


def main(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    base = np.exp(rng.uniform(np.log(0.02), np.log(20.0), N_GENES))  # mean UMIs per cell
    base[0] = 0.0  # zero everywhere
    base[1] = 0.0  # zero in the controls; perturbations switch it on below
    raw_int = {2, 3, 4}  # left as raw integers
    libs = np.array([6000, 8000, 9000, 10000, 12000, 15000])
    names, rows = [], []
    for cond, n in [("ctrl", N_CTRL)] + list(GROUPS.items()):
        lfc = np.zeros(N_GENES)
        if cond != "ctrl":
            k = rng.choice(np.arange(2, N_GENES), size=8, replace=False)
            lfc[k] = rng.normal(0.0, EFFECT_SD[cond], size=8)
            base1 = 0.05 * (list(GROUPS).index(cond) + 1)
        for _ in range(n):
            lib = rng.choice(libs)
            mu = base * np.exp(lfc) * lib / 10000.0
            if cond != "ctrl":
                mu[1] = base1
            theta = 2.0
            counts = rng.poisson(rng.gamma(theta, mu / theta))
            x = np.log1p(counts * 1e4 / lib)
            x[list(raw_int)] = counts[list(raw_int)]
            rows.append(x.astype(np.float32))
            names.append(cond)
    x = np.array(rows, dtype=np.float32)
    cond = np.array(names)
    ctrl = x[cond == "ctrl"].astype(np.float64)
    out.mkdir(parents=True, exist_ok=True)
    fmt = lambda v: repr(float(v))  # shortest text that round-trips the float32 value
    with open(out / "values.tsv", "w") as f:
        f.write("condition\t" + "\t".join(f"g{j}" for j in range(N_GENES)) + "\n")
        for c, r in zip(cond, x):
            f.write(c + "\t" + "\t".join(fmt(v) for v in r) + "\n")
    pvals = np.ones((len(GROUPS), N_GENES))
    with open(out / "expected_tests.tsv", "w") as f:
        f.write("perturbation\tgene\tstatistic\tpvalue\n")
        for i, g in enumerate(GROUPS):
            pert = x[cond == g].astype(np.float64)
            for j in range(N_GENES):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        r = anderson_ksamp([pert[:, j], ctrl[:, j]])
                    stat, p = r.statistic, r.pvalue
                except ValueError:  # a single distinct value: graphreach reports p = 1
                    stat, p = float("nan"), 1.0
                pvals[i, j] = p
                f.write(f"{g}\tg{j}\t{fmt(stat)}\t{fmt(p)}\n")
    screen = multipletests(pvals.ravel(), alpha=0.05, method="fdr_bh")[0].reshape(pvals.shape).sum(1)
    per = [multipletests(row, alpha=0.05, method="fdr_bh")[0].sum() for row in pvals]
    with open(out / "expected_counts.tsv", "w") as f:
        f.write("perturbation\tdegs_screen\tdegs_perturbation\n")
        for g, a, b in zip(GROUPS, screen, per):
            f.write(f"{g}\t{int(a)}\t{int(b)}\n")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")
    print(f"p floored: {(pvals == 0.001).sum()}, capped: {(pvals == 0.25).sum()}, between: {((pvals > 0.001) & (pvals < 0.25)).sum()}")
    print("DEGs screen-wide:", screen.tolist(), "per perturbation:", per)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/deg_ad"))
