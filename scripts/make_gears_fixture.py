#!/usr/bin/env python3
"""Produce the PyTorch-equivalence fixture for graphreach's GEARS trainer (issue 4, item 5).

Run by hand, never by CI, in an environment with the real GEARS package:

    python3.11 -m venv /work/gears-venv
    /work/gears-venv/bin/pip install torch torch-geometric cell-gears==0.1.2 safetensors numpy
    /work/gears-venv/bin/python scripts/make_gears_fixture.py --out tests/fixtures/gears_tiny

(the versions actually used are written into fixture.json). Nothing is downloaded: the tiny
problem is built in memory and fed straight to `gears.model.GEARS_Model` and `gears.utils.loss_fct`.

Problem: G = 6 expression genes, P = 8 GO nodes named P0..P7 (GEARS `pert_names`, sorted), hidden
size 4; hand-made co-expression and GO edge lists (source -> target, weights exact in f32, self loops
of weight 1 as GEARS graphs have them); 10 control cells and 7 perturbed cells of the conditions
P1+ctrl, P2+P4, P6+ctrl, values on a 1/64 grid (exact in f32) with zeros. Each perturbed cell is
paired with a control cell as model input (GEARS pairs once at dataset creation); control cells are
their own input (x = y). `dict_filter` (GEARS's `non_zeros_gene_idx`) = genes whose mean over the
condition's cells is non-zero; `ctrl` = mean of all control cells.

The model is GEARS_Model with its own seeded init, then (to make the check stronger than GEARS's
init allows) BatchNorm affine parameters and running statistics randomised, some embedding rows
shrunk below norm 1 (untouched by max-norm). Everything runs in float64 (model.double()).

Cases (each from the same initial weights):
  quirk_batch   train mode, B = 4: P1+ctrl, P1+ctrl, P2+P4, ctrl. GEARS's own co-expression
                behaviour (propagation reaches cell 0 only) -> compare with --pos-quirk on.
  single_pert   train mode, B = 3: ctrl, P6+ctrl, ctrl (one perturbed cell: GEARS duplicates it
                inside pert_fuse), GEARS's own graph -> --pos-quirk on.
  tiled_batch   train mode, B = 4: P2+P4, P1+ctrl, ctrl, P1+ctrl with the co-expression edges
                repeated for every cell of the batch (node ids offset by b*G), i.e. GEARS with the
                propagation every cell was meant to get -> --pos-quirk off.
  one_cell      eval mode (PyTorch BatchNorm cannot train on one row), B = 1: P6+ctrl. Quirk and
                intended semantics coincide here -> --pos-quirk off. Only pred and loss are stored.
  ctrl_only     train mode, B = 3 control cells, --pos-quirk on: the perturbation path gets no
                gradient (None), so Adam leaves pert_emb, sim_layers and pert_fuse untouched.

Files written:
  weights.safetensors   initial state_dict (float64; num_batches_tracked dropped), PyTorch names
  <case>.safetensors    pred (B x G); loss = GEARS loss_fct with direction_lambda 0.1 (what GEARS
                        logs and backpropagates); loss_autofocus = loss_fct with direction_lambda 0;
                        for train cases grad.<name> for every parameter with a gradient (after
                        backward of `loss`) and after.<name> for every BatchNorm running statistic
                        and the three embedding tables (renormalised to max-norm 1 by the forward);
                        step.<name>: every parameter with a gradient after one optimiser step as
                        GEARS.train takes it (clip_grad_value_ 1.0, Adam lr 1e-3, weight_decay 5e-4);
                        loss2, step2.<name>: the loss of a second train-mode forward on the same
                        batch and every parameter after the second step
  data.safetensors      x_cells (all 17 cells x G, float64; the dataset), as exact f32 values
  fixture.json          sizes, edge lists, conditions, cell table (condition, paired control),
                        dict_filter, ctrl mean, per-case cell ids / mode / pos_quirk, versions
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch_geometric
from safetensors.torch import save_file
from torch_geometric.data import Batch, Data

from gears.model import GEARS_Model
from gears.utils import loss_fct

G, P, H = 6, 8, 4
DIRECTION_LAMBDA = 0.1
LR, WEIGHT_DECAY = 1e-3, 5e-4  # GEARS.train defaults
PERT_NAMES = [f"P{i}" for i in range(P)]

# source -> target, weight (exact in f32). Self loops of weight 1 as in GEARS's graphs, except GO
# node 7, whose missing self loop PyG's gcn_norm adds (weight 1).
COEXPR = [(i, i, 1.0) for i in range(G)] + [(0, 1, 0.75), (1, 0, 0.75), (2, 3, 0.5), (4, 2, 0.625), (5, 4, 0.4375), (3, 1, 0.5)]
GO = [(i, i, 1.0) for i in range(P - 1)] + [(0, 1, 0.25), (2, 1, 0.5), (3, 2, 0.875), (5, 2, 0.125), (1, 4, 0.375), (4, 1, 0.75), (6, 7, 0.25), (7, 6, 0.5)]

CONDITIONS = ["ctrl", "P1+ctrl", "P2+P4", "P6+ctrl"]
COND_NODES = {"ctrl": [-1], "P1+ctrl": [1], "P2+P4": [2, 4], "P6+ctrl": [6]}
N_CTRL = 10
# (condition, paired control cell) of the perturbed cells; cells 0..9 are control.
PERTURBED = [("P1+ctrl", 3), ("P1+ctrl", 7), ("P1+ctrl", 0), ("P2+P4", 5), ("P2+P4", 2), ("P6+ctrl", 8), ("P6+ctrl", 1)]
CASES = [
    # name, cell ids, train mode, tile co-expression per cell (intended semantics)
    ("quirk_batch", [10, 11, 13, 4], True, False),
    ("single_pert", [6, 15, 9], True, False),
    ("tiled_batch", [14, 12, 2, 10], True, True),
    ("one_cell", [16], False, False),
    ("ctrl_only", [0, 5, 9], True, False),
]


def edge_tensors(pairs, dtype):
    ei = torch.tensor([[a for a, _, _ in pairs], [b for _, b, _ in pairs]], dtype=torch.long)
    return ei, torch.tensor([w for _, _, w in pairs], dtype=dtype)


def tiled(pairs, b):
    return [(s + k * G, d + k * G, w) for k in range(b) for s, d, w in pairs]


def make_data(rng):
    """Cells x genes expression (f32-exact) and each cell's condition / paired control."""
    cond, pair = ["ctrl"] * N_CTRL, list(range(N_CTRL))
    for c, p in PERTURBED:
        cond.append(c)
        pair.append(p)
    shift = {"ctrl": np.zeros(G), "P1+ctrl": np.array([0.8, -0.5, 0, 0.3, 0, 0]), "P2+P4": np.array([0, 0.6, -0.7, 0, 0.4, 0.2]), "P6+ctrl": np.array([-0.4, 0, 0.5, 0, -0.3, 0.6])}
    x = np.zeros((len(cond), G))
    for i, c in enumerate(cond):
        v = rng.gamma(4.0, 0.3, G) + shift[c]
        v[(v < 0.2) | (rng.random(G) < 0.15)] = 0.0
        x[i] = np.round(np.maximum(v, 0.0) * 64) / 64
    # Genes zero in every cell of a condition (so dict_filter is a proper subset).
    for i, c in enumerate(cond):
        if c == "P1+ctrl":
            x[i, 5] = 0.0
        if c == "P2+P4":
            x[i, 0] = 0.0
    assert np.all(x.astype(np.float32).astype(np.float64) == x)
    return x, cond, pair


def build_model(seed):
    torch.manual_seed(seed)
    ei_c, w_c = edge_tensors(COEXPR, torch.float64)
    ei_g, w_g = edge_tensors(GO, torch.float64)
    args = {
        "num_genes": G, "num_perts": P, "hidden_size": H, "uncertainty": False,
        "num_go_gnn_layers": 1, "decoder_hidden_size": 16, "num_gene_gnn_layers": 1,
        "no_perturb": False, "direction_lambda": DIRECTION_LAMBDA,
        "G_coexpress": ei_c, "G_coexpress_weight": w_c, "G_go": ei_g, "G_go_weight": w_g, "device": "cpu",
    }
    model = GEARS_Model(args).double()
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.weight.add_(0.2 * torch.randn_like(mod.weight))
                mod.bias.add_(0.2 * torch.randn_like(mod.bias))
                mod.running_mean.copy_(0.1 * torch.randn_like(mod.running_mean))
                mod.running_var.copy_(1.0 + 0.3 * torch.rand_like(mod.running_var))
        model.emb_pos.weight[:3] *= 0.2
        model.pert_emb.weight[::3] *= 0.3
    return model


def batch_of(ids, x, cond, pair):
    data = []
    for i in ids:
        inp = x[pair[i]]
        d = Data(x=torch.tensor(inp, dtype=torch.float64).view(-1, 1), y=torch.tensor(x[i], dtype=torch.float64).view(1, -1))
        d.pert_idx = COND_NODES[cond[i]]
        d.pert = cond[i]
        data.append(d)
    return Batch.from_data_list(data)


def run_case(init, name, ids, train, tile, x, cond, pair, ctrl, dict_filter, out):
    model = build_model(0)
    model.load_state_dict(init, strict=False)
    if tile:
        ei, w = edge_tensors(tiled(COEXPR, len(ids)), torch.float64)
        model.G_coexpress, model.G_coexpress_weight = ei, w
    model.train(train)
    model.zero_grad(set_to_none=True)
    batch = batch_of(ids, x, cond, pair)
    pred = model(batch)
    loss = loss_fct(pred, batch.y, batch.pert, ctrl=ctrl, dict_filter=dict_filter, direction_lambda=DIRECTION_LAMBDA)
    with torch.no_grad():
        auto = loss_fct(pred, batch.y, batch.pert, ctrl=ctrl, dict_filter=dict_filter, direction_lambda=0.0)
    t = {"pred": pred.detach(), "loss": loss.detach().reshape(1), "loss_autofocus": auto.detach().reshape(1)}
    if train:
        loss.backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                t["grad." + n] = p.grad.detach().clone()
        for n, b in model.named_buffers():
            if "running" in n and not n.startswith("bn_pert_base_trans."):
                t["after." + n] = b.detach().clone()
        for n in ("gene_emb.weight", "emb_pos.weight", "pert_emb.weight"):
            t["after." + n] = model.state_dict()[n].detach().clone()
        # One optimiser step exactly as GEARS.train does it (after backward).
        opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
        opt.step()
        for n, p in model.named_parameters():
            if p.grad is not None:
                t["step." + n] = p.detach().clone()
        # A second step on the same batch: Adam's first step is +-lr whatever the gradient's
        # size, the second depends on it (and on the clipping).
        opt.zero_grad()
        pred2 = model(batch)
        loss2 = loss_fct(pred2, batch.y, batch.pert, ctrl=ctrl, dict_filter=dict_filter, direction_lambda=DIRECTION_LAMBDA)
        loss2.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
        opt.step()
        t["loss2"] = loss2.detach().reshape(1)
        for n, p in model.named_parameters():
            if p.grad is not None:
                t["step2." + n] = p.detach().clone()
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(out, name + ".safetensors"))
    print(f"{name}: loss {loss.item():.6g} (autofocus {auto.item():.6g}), {len(t)} tensors", file=sys.stderr)
    return {"cells": ids, "train": train, "pos_quirk": not tile and train and len(ids) > 1}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(a.seed)
    x, cond, pair = make_data(rng)
    model = build_model(a.seed)
    init = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if "num_batches" not in k}
    save_file(init, os.path.join(a.out, "weights.safetensors"))
    save_file({"x_cells": torch.tensor(x, dtype=torch.float64)}, os.path.join(a.out, "data.safetensors"))
    ctrl = torch.tensor(x[:N_CTRL].mean(0), dtype=torch.float64)
    dict_filter = {}
    for c in CONDITIONS[1:]:
        rows = [i for i in range(len(cond)) if cond[i] == c]
        dict_filter[c] = [int(j) for j in np.where(x[rows].mean(0) != 0)[0]]
    cases = {}
    for name, ids, train, tile in CASES:
        cases[name] = run_case(init, name, ids, train, tile, x, cond, pair, ctrl, dict_filter, a.out)
    import gears  # noqa: F401  (version from the distribution metadata)
    from importlib.metadata import version
    meta = {
        "generator": "scripts/make_gears_fixture.py --seed %d" % a.seed,
        "versions": {"torch": torch.__version__, "torch_geometric": torch_geometric.__version__, "cell-gears": version("cell-gears"), "numpy": np.__version__, "python": sys.version.split()[0]},
        "genes": G, "perts": P, "hidden": H, "dtype": "float64",
        "pert_names": PERT_NAMES,
        "coexpr_edges": COEXPR, "go_edges": GO,
        "conditions": CONDITIONS,
        "cell_condition": [CONDITIONS.index(c) for c in cond],
        "ctrl_pairing": pair,
        "dict_filter": dict_filter,
        "ctrl_mean": ctrl.tolist(),
        "direction_lambda": DIRECTION_LAMBDA,
        "lr": LR, "weight_decay": WEIGHT_DECAY, "clip_value": 1.0,
        "cases": cases,
        "note": "weights.safetensors is the state before the forward; GEARS's embedding lookups renormalise rows to max-norm 1 in place (after.*_emb.weight).",
    }
    with open(os.path.join(a.out, "fixture.json"), "w") as f:
        json.dump(meta, f)
        f.write("\n")


if __name__ == "__main__":
    main()
