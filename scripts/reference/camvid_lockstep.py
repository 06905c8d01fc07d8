"""fastai's CamVid recipe in lock step with fastcandle's: the same initial weights, the same
split and the same batch order, so that the two trainings can be compared step by step.

    python scripts/reference/camvid_lockstep.py FOLDER OUT [EPOCHS [SEED]]

It builds fastai's `SegmentationDataLoaders.from_label_func(..., valid_pct=0.2, seed=SEED,
shuffle=False)` and `unet_learner(dls, resnet34, pretrained=False)` as
`scripts/bench/fastai_camvid.py` does, then writes into OUT:

- `init.safetensors`: the learner's initial state dict under fastcandle's names (the mapping of
  `unet_reference.py`), which `cargo run --release -p fastcandle --example camvid_lockstep`
  loads;
- `split.json`: the training images in fastai's order (its random permutation, unshuffled
  afterwards) and the validation images;
- `fastai.json`: for every training step the loss of the batch and the hyper-parameters of
  each layer group (lr, mom, wd), and for every epoch the validation loss, foreground
  accuracy and Dice.

It then runs `fine_tune(EPOCHS)` (default 2).
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from fastai.vision.all import (DiceMulti, SegmentationDataLoaders, foreground_acc,
                               get_image_files, resnet34, unet_learner)
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from unet_reference import our_name  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from fastai_epochs import EpochRows  # noqa: E402

folder = Path(sys.argv[1])
out = Path(sys.argv[2])
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 42
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(2)
torch.manual_seed(seed)


class Steps(EpochRows):
    """Records each training batch's loss and hyper-parameters, and each epoch's metrics."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def after_batch(self):
        if not self.training:
            return
        hypers = [{k: float(h[k]) for k in ("lr", "mom", "wd")} for h in self.opt.hypers]
        self.steps.append({"loss": float(self.loss), "hypers": hypers})


files = sorted(get_image_files(folder / "images"))
codes = np.loadtxt(folder / "codes.txt", dtype=str)
dls = SegmentationDataLoaders.from_label_func(
    folder, bs=8, fnames=files, valid_pct=0.2, seed=seed, shuffle=False,
    label_func=lambda o: folder / "labels" / f"{o.stem}_P{o.suffix}", codes=codes, device="cpu")
learn = unet_learner(dls, resnet34, pretrained=False, metrics=[foreground_acc, DiceMulti()])

model = learn.model
n_blocks = sum(type(m).__name__ == "UnetBlock" for m in model.layers)
state = {our_name(k, n_blocks): v.detach().clone().contiguous()
         for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
if not os.environ.get("LOCKSTEP_PERTURB"):
    save_file(state, str(out / "init.safetensors"))
split = {"train": [Path(f).name for f in dls.train.items],
         "valid": [Path(f).name for f in dls.valid.items]}
(out / "split.json").write_text(json.dumps(split))

# LOCKSTEP_PERTURB=EPS: after saving the initial weights, scale each by (1 + EPS * N(0, 1)), and
# write fastai_perturbed.json instead: how far fastai's own training strays from a float-level
# change of its start, the yardstick of the step-by-step comparison.
perturb = float(os.environ.get("LOCKSTEP_PERTURB", "0"))
if perturb:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1 + perturb * torch.randn(p.shape, generator=g))
steps = Steps()
learn.add_cb(steps)
learn.fine_tune(epochs)
name = "fastai_perturbed.json" if perturb else "fastai.json"
(out / name).write_text(json.dumps({"steps": steps.steps, "epochs": steps.rows}))
print(json.dumps(steps.rows))
