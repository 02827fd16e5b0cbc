#!/usr/bin/env python3
"""Time PyTorch GEARS (cell-gears 0.1.2) training epochs on the CPU, on graphreach's data.

Run by hand (not part of the test suite), normally through scripts/bench_gears_cpu.sh:

    /work/gears-venv/bin/python scripts/gears_pytorch_epoch.py \
        --h5ad papalexi.h5ad --graph-tsv go_graph_k20.tsv.gz \
        --train split/train.txt --val split/val.txt --test split/test.txt \
        --epochs 2 --threads 2 --seed 0 --workdir /tmp/gears_work --out gears_metrics.json

Inputs are exactly what graphreach uses:
  * --h5ad: a `graphreach prepare` output (GEARS perturb_processed.h5ad layout);
  * --graph-tsv: the GO graph as `source<TAB>target<TAB>importance` (the file behind
    `builtin:go-human`, data/go/go_graph_k20.tsv.gz); it is written out in GEARS's
    go_essential_all.csv format, and every node becomes a perturbable gene, so PyTorch GEARS
    builds its perturbation graph over the same nodes and edges (top k+1 = 21 per target,
    which keeps every edge of a k = 20 graph);
  * --train/--val/--test: `graphreach split` lists (one perturbation per line, `A` = `A+ctrl`);
    passed to GEARS as a `custom` split (ctrl always in train).

GEARS downloads gene2go_all.pkl, essential_all_data_pert_genes.pkl and go_essential_all/ from
Harvard Dataverse when they are missing; this script writes local versions at those paths in
--workdir first, so nothing is downloaded. gene2go_all.pkl maps every graph node to a placeholder
GO set: with the default perturbation graph GEARS uses only its keys.

Model settings: GEARS defaults (hidden 64, 20 neighbours, lr 1e-3 halved every epoch, weight
decay 5e-4), batch 32, torch.set_num_threads(--threads). Timing: the training loop of each epoch
(forward, loss, backward, clip, Adam over the train loader) is timed separately from GEARS's own
per-epoch evaluation of the train and validation sets (which graphreach does not do); both and the
total are reported, with process CPU time next to wall time (the machine may be shared).

Writes --out (JSON): per-epoch seconds (training loop, wall and CPU), the per-epoch evaluation
seconds, the total, and the test metrics of GEARS's best-validation model (compute_metrics:
mse, mse_de, pearson, pearson_de; plus pearson_delta and pearson_delta_de from
deeper_analysis, and mse_top20_de_non_dropout from non_dropout_analysis).
"""
import argparse
import gzip
import json
import os
import pickle
import random
import shutil
import sys
import time


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def read_list(path):
    out = []
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            s = s.split("\t")[0]
            if s == "ctrl":
                continue
            out.append(s if "+" in s else s + "+ctrl")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--h5ad", required=True)
    ap.add_argument("--graph-tsv", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)

    import gears.gears as gears_mod
    from gears import PertData, GEARS
    from gears.inference import compute_metrics, deeper_analysis, non_dropout_analysis

    t_setup = time.time()
    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    # GO graph in GEARS's format, and the files GEARS would otherwise download.
    opener = gzip.open if args.graph_tsv.endswith(".gz") else open
    nodes = set()
    go_dir = os.path.join(work, "go_essential_all")
    os.makedirs(go_dir, exist_ok=True)
    with opener(args.graph_tsv, "rt") as f, open(os.path.join(go_dir, "go_essential_all.csv"), "w") as g:
        header = f.readline().rstrip("\n").split("\t")
        assert header[:3] == ["source", "target", "importance"], header
        g.write("source,target,importance\n")
        for line in f:
            s, t, w = line.rstrip("\n").split("\t")[:3]
            nodes.add(s)
            nodes.add(t)
            g.write(f"{s},{t},{w}\n")
    nodes = sorted(nodes)
    with open(os.path.join(work, "gene2go_all.pkl"), "wb") as f:
        pickle.dump({n: {"GO:placeholder"} for n in nodes}, f)
    with open(os.path.join(work, "essential_all_data_pert_genes.pkl"), "wb") as f:
        pickle.dump(nodes, f)
    # GEARS caches its per-cell graphs (slow to build) in dataset/data_pyg; keep them while the
    # dataset file is the same one (path, size and modification time).
    ds_dir = os.path.join(work, "dataset")
    st = os.stat(args.h5ad)
    stamp = f"{os.path.abspath(args.h5ad)} {st.st_size} {st.st_mtime_ns} seed {args.seed}"
    stamp_path = os.path.join(ds_dir, "source.txt")
    if not (os.path.exists(stamp_path) and open(stamp_path).read() == stamp):
        if os.path.exists(ds_dir):
            shutil.rmtree(ds_dir)
        os.makedirs(ds_dir)
        os.symlink(os.path.abspath(args.h5ad), os.path.join(ds_dir, "perturb_processed.h5ad"))
        with open(stamp_path, "w") as f:
            f.write(stamp)
    split = {"train": ["ctrl"] + read_list(args.train), "val": read_list(args.val), "test": read_list(args.test)}
    split_path = os.path.join(work, "split.pkl")
    with open(split_path, "wb") as f:
        pickle.dump(split, f)

    pert_data = PertData(work)
    pert_data.load(data_path=ds_dir)
    pert_data.prepare_split(split="custom", split_dict_path=split_path)
    pert_data.get_dataloader(batch_size=args.batch_size, test_batch_size=args.batch_size)
    # cell-gears 0.1.2 indexes the sparse X with a pandas boolean Series when it computes the
    # control mean, which current scipy rejects; give it a dense X for that step only (the
    # co-expression graph built later needs the sparse one).
    pert_data.adata = pert_data.adata.copy()  # an actual AnnData, not a view, so X can be swapped
    x_sparse = pert_data.adata.X
    pert_data.adata.X = x_sparse.toarray() if hasattr(x_sparse, "toarray") else x_sparse
    model = GEARS(pert_data, device="cpu")
    pert_data.adata.X = x_sparse
    model.adata = pert_data.adata
    model.model_initialize(hidden_size=args.hidden)
    setup_s = time.time() - t_setup
    n_train_cells = len(pert_data.dataloader["train_loader"].dataset)
    steps = len(pert_data.dataloader["train_loader"])

    # Epoch timing: an epoch starts when GEARS puts the model in train mode and its training loop
    # ends when GEARS calls evaluate() on the train loader.
    marks = []
    inner = model.model
    orig_train = inner.train

    def train_hook(mode=True):
        if mode:
            marks.append(("start", time.time(), cpu_seconds()))
        return orig_train(mode)

    inner.train = train_hook
    orig_eval = gears_mod.evaluate

    def eval_hook(*a, **k):
        marks.append(("eval0", time.time(), cpu_seconds()))
        r = orig_eval(*a, **k)
        marks.append(("eval1", time.time(), cpu_seconds()))
        return r

    gears_mod.evaluate = eval_hook

    t0, c0 = time.time(), cpu_seconds()
    model.train(epochs=args.epochs, lr=1e-3)
    total_s, total_cpu = time.time() - t0, cpu_seconds() - c0

    epochs = []
    i = 0
    while i < len(marks):
        if marks[i][0] != "start":
            i += 1
            continue
        st = marks[i]
        j = i + 1
        while j < len(marks) and marks[j][0] != "eval0":
            j += 1
        if j >= len(marks):
            break
        # train-set and validation-set evaluations follow (eval0, eval1, eval0, eval1)
        ev = [m for m in marks[j:j + 4]]
        epochs.append({
            "epoch": len(epochs) + 1,
            "train_loop_s": marks[j][1] - st[1],
            "train_loop_cpu_s": marks[j][2] - st[2],
            "eval_s": ev[-1][1] - ev[0][1],
        })
        i = j + 4
        if len(epochs) == args.epochs:
            break

    test_res = orig_eval(pert_data.dataloader["test_loader"], model.best_model, False, "cpu")
    test_metrics, test_pert_res = compute_metrics(test_res)
    metrics = {k: float(v) for k, v in test_metrics.items()}
    try:
        deeper = deeper_analysis(pert_data.adata, test_res)
        nd = non_dropout_analysis(pert_data.adata, test_res)
        for key, src in [("pearson_delta", deeper), ("pearson_delta_de", deeper), ("mse_top20_de_non_dropout", nd)]:
            vals = [src[p][key] for p in src if key in src[p]]
            if vals:
                metrics[key] = float(np.mean(vals))
    except Exception as e:  # deeper analysis needs uns entries; report and go on
        print(f"deeper analysis skipped: {e}", file=sys.stderr)

    out = {
        "tool": "pytorch-gears",
        "gears_version": __import__("gears").__version__ if hasattr(__import__("gears"), "__version__") else "0.1.2",
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "batch_size": args.batch_size,
        "hidden": args.hidden,
        "n_train_cells": n_train_cells,
        "steps_per_epoch": steps,
        "n_genes": len(model.gene_list),
        "n_pert_nodes": len(model.pert_list),
        "setup_s": setup_s,
        "total_train_s": total_s,
        "total_train_cpu_s": total_cpu,
        "epochs": epochs,
        "test_metrics": metrics,
        "n_test_perturbations": len(test_pert_res),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    for e in epochs:
        print(f"epoch {e['epoch']}: training loop {e['train_loop_s']:.2f} s wall, {e['train_loop_cpu_s']:.2f} s CPU, "
              f"{steps} steps ({1e3 * e['train_loop_s'] / max(steps, 1):.1f} ms/step); GEARS eval {e['eval_s']:.2f} s")
    print("test:", " ".join(f"{k} {v:.5f}" for k, v in sorted(metrics.items())))


if __name__ == "__main__":
    main()
