"""Reference numbers for fastcandle's lr_find suggestions: fastai's own SuggestionMethods
(valley, slide, minimum, steep) on recorded curves.

Curves:
- `adult`: the curve fastai's `learn.lr_find()` records on the Adult sample (tabular_learner,
  fastai's defaults, seed 42), read from `learn.recorder`.
- `diverging`: a made curve that falls, then rises and ends in NaN, so that fastai's cut at the
  first NaN is exercised.

Each suggestion is computed exactly as `Learner.lr_find` does: the first `num_it // 10` and the
last 5 points are left out, the rest is cut at its first NaN, and each function gets
`tensor(lrs)`, `tensor(losses)`.

Run from the repository root (needs fastai and torch; not part of the tests):
    python scripts/reference/lr_find_reference.py
It writes crates/fastcandle-train/tests/data/lr_find_reference.json.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
from fastai.callback.schedule import minimum, slide, steep, valley
from fastai.tabular.all import (Categorify, FillMissing, Normalize, RandomSplitter,
                                TabularDataLoaders, range_of, set_seed, tabular_learner)
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/fastcandle-train/tests/data/lr_find_reference.json"
NUM_IT = 100


def suggestions(lrs, losses, num_it):
    lrs_t = torch.tensor(lrs[num_it // 10:-5])
    losses_t = torch.tensor(losses[num_it // 10:-5])
    nan_idxs = torch.nonzero(torch.isnan(losses_t.view(-1)))
    if len(nan_idxs) > 0:
        drop = min(nan_idxs)
        lrs_t, losses_t = lrs_t[:drop], losses_t[:drop]
    out = {}
    for f in (valley, slide, minimum, steep):
        out[f.__name__] = float(f(lrs_t, losses_t, num_it)[0])
    return out


def adult_curve():
    df = pd.read_csv(ROOT.parent / "shared/data/adult/adult.csv")
    set_seed(42)
    dls = TabularDataLoaders.from_df(
        df, y_names="salary",
        cat_names=["workclass", "education", "marital-status", "occupation", "relationship", "race"],
        cont_names=["age", "fnlwgt", "education-num"],
        procs=[Categorify, FillMissing, Normalize],
        splits=RandomSplitter(valid_pct=0.2, seed=42)(range_of(df)), bs=64)
    learn = tabular_learner(dls)
    learn.lr_find(num_it=NUM_IT, show_plot=False)
    lrs = [float(x) for x in learn.recorder.lrs]
    losses = [float(x) for x in learn.recorder.losses]
    return lrs, losses


def diverging_curve():
    n = 100
    lrs = [1e-7 * (10.0 / 1e-7) ** (i / (n - 1)) for i in range(n)]
    losses = []
    for i, lr in enumerate(lrs):
        x = math.log10(lr)
        # A shallow start, a long fall from 1e-4 to 1e-2, then a climb that blows up.
        v = 0.7 + 0.02 * math.sin(3 * x) - 0.45 / (1 + math.exp(-2.5 * (x + 3))) \
            + 0.9 * max(0.0, x + 1.5) ** 2
        losses.append(v if i < 92 else float("nan"))
    return lrs, losses


def main():
    curves = {}
    for name, make in (("adult", adult_curve), ("diverging", diverging_curve)):
        lrs, losses = make()
        curves[name] = {
            "num_it": NUM_IT,
            "lrs": lrs,
            "losses": [None if math.isnan(v) else v for v in losses],
            "fastai": suggestions(lrs, losses, NUM_IT),
        }
        print(name, len(lrs), curves[name]["fastai"])
    OUT.write_text(json.dumps(curves, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
