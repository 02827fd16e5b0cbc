#!/usr/bin/env python3
"""Produce the PyTorch-equivalence fixture for graphreach's GEARS trainer (issue 4, item 5).

Run by hand (not by CI) in an environment with the real GEARS package:

    pip install cell-gears==0.1.2 torch torch-geometric safetensors numpy
    python scripts/make_gears_fixture.py --out tests/fixtures/gears_tiny

It builds a tiny problem entirely in memory (no Dataverse downloads): G genes, P GO nodes, a
hand-made co-expression graph and GO graph with edge weights, a GEARS_Model with its own seeded
PyTorch initialisation, and batches of cells. For each batch it runs one train-mode forward, the
GEARS loss (gears.utils.loss_fct, direction_lambda 0.1) and backward, and writes:

  <out>/weights.safetensors      initial state_dict (parameters + BatchNorm buffers), PyTorch names
  <out>/<case>.safetensors       x, y (B x G), pred (B x G), loss, grad.<name> for every parameter,
                                 running stats after the step (<name>.running_mean/var)
  <out>/fixture.json             sizes, graphs (edge lists + weights), per-case perturbations,
                                 condition names, dict_filter (non-zero genes per condition), ctrl mean

Cases: "quirk_batch" (B = 4, GEARS's own behaviour: co-expression propagation reaches cell 0 only;
compare with --pos-quirk on) and "one_cell" (B = 1 perturbed cell, where the quirk is irrelevant;
compare with --pos-quirk off; GEARS duplicates the cell inside pert_fuse).

NOTE: written without access to torch in the authoring session, so it has not been run yet; check
the GEARS_Model argument names against the installed cell-gears version before trusting it.
"""

import argparse
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file
from torch_geometric.data import Batch, Data

from gears.model import GEARS_Model
from gears.utils import loss_fct

G, P, H = 6, 8, 8


def edges(pairs):
    src = torch.tensor([a for a, _, _ in pairs], dtype=torch.long)
    dst = torch.tensor([b for _, b, _ in pairs], dtype=torch.long)
    w = torch.tensor([c for _, _, c in pairs], dtype=torch.float32)
    return torch.stack([src, dst]), w


# source -> target with weight; self loops as GEARS graphs have them (J = 1 / |r| = 1).
COEXPR = [(i, i, 1.0) for i in range(G)] + [(0, 1, 0.8), (1, 0, 0.8), (2, 3, 0.5), (4, 2, 0.6), (5, 4, 0.45)]
GO = [(i, i, 1.0) for i in range(P)] + [(0, 1, 0.3), (2, 1, 0.5), (3, 2, 0.9), (5, 2, 0.2), (1, 4, 0.4), (4, 1, 0.7), (6, 7, 0.25)]


def model_args():
    ei_c, w_c = edges(COEXPR)
    ei_g, w_g = edges(GO)
    return {
        "num_genes": G,
        "num_perts": P,
        "hidden_size": H,
        "uncertainty": False,
        "num_go_gnn_layers": 1,
        "decoder_hidden_size": 16,
        "num_gene_gnn_layers": 1,
        "no_perturb": False,
        "cell_fitness_pred": False,
        "direction_lambda": 0.1,
        "G_coexpress": ei_c,
        "G_coexpress_weight": w_c,
        "G_go": ei_g,
        "G_go_weight": w_g,
        "device": "cpu",
    }


def make_batch(xs, ys, perts, conds):
    data = []
    for x, y, p, c in zip(xs, ys, perts, conds):
        d = Data(x=torch.tensor(x, dtype=torch.float32).view(-1, 1), y=torch.tensor(y, dtype=torch.float32).view(1, -1))
        d.pert_idx = p
        d.pert = c
        d.de_idx = list(range(min(G, 20)))
        data.append(d)
    return Batch.from_data_list(data)


def run_case(model, name, xs, ys, perts, conds, ctrl, dict_filter, out):
    model.train()
    model.zero_grad(set_to_none=True)
    batch = make_batch(xs, ys, perts, conds)
    pred = model(batch)
    y = batch.y
    loss = loss_fct(pred, y, batch.pert, ctrl=ctrl, dict_filter=dict_filter, direction_lambda=0.1)
    loss.backward()
    tensors = {"x": torch.tensor(np.array(xs), dtype=torch.float32), "y": y.detach(), "pred": pred.detach(), "loss": loss.detach().reshape(1)}
    for n, p in model.named_parameters():
        if p.grad is not None:
            tensors["grad." + n] = p.grad.detach().clone()
    for n, b in model.named_buffers():
        if "running" in n:
            tensors["after." + n] = b.detach().clone()
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out, name + ".safetensors"))
    return {"perts": perts, "conditions": conds, "loss": float(loss)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    model = GEARS_Model(model_args())
    init = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if "num_batches" not in k}
    save_file(init, os.path.join(a.out, "weights.safetensors"))

    ctrl_cells = rng.gamma(2.0, 0.5, size=(10, G)).astype(np.float32)
    ctrl = torch.tensor(ctrl_cells.mean(0))
    conds = {"A+ctrl": [1], "B+C": [2, 4], "D+ctrl": [6]}
    dict_filter = {"A+ctrl": [0, 1, 3, 5], "B+C": [1, 2, 3, 4], "D+ctrl": [0, 2, 4]}
    cases = {}
    # Quirk batch: cells 0 and 1 share "A+ctrl", then "B+C", then a control cell.
    names = ["A+ctrl", "A+ctrl", "B+C", "ctrl"]
    xs = [ctrl_cells[i] for i in (0, 3, 5, 7)]
    ys = [x + rng.normal(0, 0.5, G).astype(np.float32) for x in xs]
    perts = [conds.get(c, [-1]) for c in names]
    # GEARS re-applies max-norm at lookup; a fresh model is used per case.
    cases["quirk_batch"] = run_case(model, "quirk_batch", xs, ys, perts, names, ctrl, dict_filter, a.out)
    model.load_state_dict({**model.state_dict(), **init})
    xs1 = [ctrl_cells[2]]
    ys1 = [xs1[0] + rng.normal(0, 0.5, G).astype(np.float32)]
    cases["one_cell"] = run_case(model, "one_cell", xs1, ys1, [conds["D+ctrl"]], ["D+ctrl"], ctrl, dict_filter, a.out)
    meta = {
        "genes": G,
        "perts": P,
        "hidden": H,
        "coexpr_edges": COEXPR,
        "go_edges": GO,
        "ctrl_mean": ctrl.tolist(),
        "dict_filter": dict_filter,
        "direction_lambda": 0.1,
        "cases": cases,
        "note": "embeddings are renormalised to max-norm 1 inside the first forward; weights.safetensors is the state before it",
    }
    with open(os.path.join(a.out, "fixture.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
