"""Reference numbers for fastcandle-train's segmentation loss and metrics, from fastai.

Run from the repository root with a Python that has torch and fastai:

    python scripts/reference/seg_metrics_reference.py

It writes crates/fastcandle-train/tests/data/seg_metrics_reference.json: the inputs (logits
[5, C, H, W] and codes [5, H, W], fixed by a seed and stored, so the Rust test reads them
rather than rebuilding them), then

- `loss`: fastai's `CrossEntropyLossFlat(axis=1)` on all five images, with its gradient with
  respect to the logits, without and with an ignored code (255, outside the classes, and 0,
  inside them);
- `validate`: what fastai's own `Learner.validate` reports over the five images in batches of
  2, 2 and 1 (an identity model returns the stored logits), with the loss ignoring 255 and the
  metrics `foreground_acc`, `partial(foreground_acc, bkg_idx=2)`, `DiceMulti()` and
  `partial(accuracy, axis=1)` (the pixel accuracy).

Class 4 is never predicted nor labelled (DiceMulti skips it); batch 2 has no class 2 target,
batch 3 no class 3 target nor prediction; some pixels are void (255).
"""
import json
import os
from functools import partial

import torch
from torch import nn
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.metrics import DiceMulti, accuracy, foreground_acc

B, C, H, W = 5, 5, 3, 4
VOID = 255


def inputs():
    g = torch.Generator().manual_seed(7)
    targ = torch.randint(0, 4, (B, H, W), generator=g)
    targ[2:4][targ[2:4] == 2] = 1  # batch 2 (images 2, 3): no class 2
    targ[4][targ[4] == 3] = 0  # batch 3 (image 4): no class 3
    logits = torch.randn(B, C, H, W, generator=g)
    # Most pixels lean to their target, so the metrics are not trivial.
    lean = torch.rand(B, H, W, generator=g) < 0.6
    logits.scatter_add_(1, targ.unsqueeze(1), 2.5 * lean.unsqueeze(1).float())
    logits[:, 4] = -6.0 + 0.1 * logits[:, 4]  # class 4: never predicted
    logits[4, 3] = -5.0 + 0.1 * logits[4, 3]  # image 4: class 3 never predicted
    void = targ.clone()
    void[torch.rand(B, H, W, generator=g) < 0.15] = VOID
    return logits, targ, void


def loss_and_grad(logits, targ, **kw):
    x = logits.clone().requires_grad_()
    loss = CrossEntropyLossFlat(axis=1, **kw)(x, targ)
    loss.backward()
    return {"value": loss.item(), "grad": x.grad.flatten().tolist()}


class Identity(nn.Module):
    "Returns its input: the stored logits are the model's output."

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + 0 * self.p


def validate(logits, void):
    items = [(logits[i], void[i]) for i in range(B)]
    dl = DataLoader(items, bs=2)
    dls = DataLoaders(dl, dl, device="cpu")
    metrics = [foreground_acc, partial(foreground_acc, bkg_idx=2), DiceMulti(),
               partial(accuracy, axis=1)]
    learn = Learner(dls, Identity(), loss_func=CrossEntropyLossFlat(axis=1, ignore_index=VOID),
                    metrics=metrics)
    loss, fg, fg2, dice, acc = learn.validate()
    return {"valid_loss": loss, "foreground_acc": fg, "foreground_acc_bkg2": fg2,
            "dice_multi": dice, "pixel_accuracy": acc}


def main():
    logits, targ, void = inputs()
    ref = {
        "shape": [B, C, H, W],
        "bs": 2,
        "logits": logits.flatten().tolist(),
        "target": targ.flatten().tolist(),
        "target_void": void.flatten().tolist(),
        "void": VOID,
        "loss": {
            "plain": loss_and_grad(logits, targ),
            "ignore_void": loss_and_grad(logits, void, ignore_index=VOID),
            "ignore_class0": loss_and_grad(logits, targ, ignore_index=0),
        },
        "validate": validate(logits, void),
    }
    # Not compared, printed to show that the metrics' per-batch weighting matters here.
    pred = logits.argmax(1)
    fg = void != 0
    print("pooled foreground accuracy:", (pred[fg] == void[fg]).float().mean().item())
    print(json.dumps(ref["validate"], indent=1))
    out = os.path.join("crates", "fastcandle-train", "tests", "data", "seg_metrics_reference.json")
    with open(out, "w") as f:
        json.dump(ref, f)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
