"""Reference numbers for fastcandle-models' DynamicUnet, from fastai's own `DynamicUnet`.

Run from the repository root with a Python that has torch, torchvision and fastai:

    python scripts/reference/unet_reference.py

It builds fastai's `DynamicUnet` over a ResNet18 body (`create_body(resnet18(), cut=-2)`, 5
classes, img_size 64x96), fills every parameter and buffer with `fill` of
`vision_reference.py` under fastcandle's name for it (so no weight file is committed), and
writes crates/fastcandle-models/tests/data/unet_reference.json with:

- `keys`: fastcandle's name and the shape of every tensor of the state dict, in fastai's order;
- `eval_64x96`, `eval_50x70`: evaluation-mode outputs for inputs of the layout size and of a
  size not divisible by 32 (fastai resizes back with nearest interpolation);
- `train_64x96`: a training-mode forward on a batch of 2, and the gradients of
  `sum(y * up)` for some parameters (sampled, with sums), and running statistics after.
"""
import copy
import json
import math
import os
import re
import sys

import numpy as np
import torch
import torchvision
from fastai.vision.all import DynamicUnet, create_body

sys.path.insert(0, os.path.dirname(__file__))
from vision_reference import det_input, fill, summary  # noqa: E402

torch.backends.mkldnn.enabled = False
OUT = os.path.join("crates", "fastcandle-models", "tests", "data", "unet_reference.json")
RESNET = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]


def our_name(key, n_blocks):
    """fastcandle's name of a key of fastai's DynamicUnet state dict."""
    key = key.removeprefix("layers.")
    head, rest = key.split(".", 1)
    i = int(head)
    if i == 0:
        child, rest = rest.split(".", 1)
        return f"{RESNET[int(child)]}.{rest}"
    if i == 1:
        return f"decoder.bn.{rest}"
    if i == 3:
        return f"decoder.middle.{rest}"
    if 4 <= i < 4 + n_blocks:
        return f"decoder.blocks.{i - 4}.{rest}"
    if i == 4 + n_blocks:
        return f"decoder.shuf.{rest}"
    if rest.startswith("convpath."):
        return "decoder.res." + rest[len("convpath."):]
    return f"decoder.final.{rest}"


GRADS = ["0.0.weight", "0.7.1.conv2.weight", "1.weight", "3.0.0.weight", "4.shuf.0.0.weight",
         "4.bn.bias", "{last}.conv2.0.bias", "{shuf}.0.0.weight", "{res}.convpath.0.0.weight",
         "{final}.0.weight", "{final}.0.bias"]


def train_pass(model, dtype):
    """A training-mode forward and backward of `sum(y * up)` in `dtype`, on a copy."""
    m = copy.deepcopy(model).to(dtype)
    m.train()
    x = det_input([2, 3, 64, 96], a=0.031, b=0.7).to(dtype)
    y = m(x)
    up = det_input(list(y.shape), a=0.017, b=0.2, scale=1.0).to(dtype)
    (y * up).sum().backward()
    grads = {k: p.grad.detach() for k, p in m.named_parameters()}
    return m, y.detach(), grads


def train_reference(model, n_blocks):
    """Training-mode output, running statistics and gradients, computed in float64 (the
    reference) and float32: deep in the network the gradients cancel (training BatchNorm on 12
    values per channel at the bottleneck), so PyTorch's own float32 is off by up to ~1e-1 of
    their largest value there. Each gradient records that error (`torch_f32_err`); the Rust
    test allows a few times it, and 1e-4 where it is smaller."""
    m64, y64, g64 = train_pass(model, torch.float64)
    _, _, g32 = train_pass(model, torch.float32)
    idx = {"last": 4 + n_blocks - 1, "shuf": 4 + n_blocks, "res": 7 + n_blocks,
           "final": 8 + n_blocks}
    grads = {}
    for k in GRADS:
        k = "layers." + k.format(**idx)
        s = summary(g64[k].float())
        s["torch_f32_err"] = float((g32[k].double() - g64[k]).abs().max() / g64[k].abs().max())
        grads[our_name(k, n_blocks)] = s
    stats = {}
    for k, t in m64.state_dict().items():
        if k.endswith("running_mean") and k.startswith(("layers.1.", "layers.4.")):
            stats[our_name(k, n_blocks)] = summary(t.float())
    return {"input": [2, 3, 64, 96], "output": summary(y64.float()), "grads": grads,
            "running": stats}


def main():
    torch.manual_seed(0)
    body = create_body(torchvision.models.resnet18(), n_in=3, pretrained=False, cut=-2)
    model = DynamicUnet(body, 5, (64, 96))
    n_blocks = sum(type(m).__name__ == "UnetBlock" for m in model.layers)
    keys = []
    with torch.no_grad():
        for k, t in model.state_dict().items():
            name = our_name(k, n_blocks)
            keys.append([name, list(t.shape)])
            t.copy_(fill(name, list(t.shape)))
    out = {"keys": keys, "n_blocks": n_blocks}
    model.eval()
    with torch.no_grad():
        for h, w in [(64, 96), (50, 70)]:
            x = det_input([1, 3, h, w])
            out[f"eval_{h}x{w}"] = {"input": [1, 3, h, w], "output": summary(model(x))}
    out["train_64x96"] = train_reference(model, n_blocks)
    with open(OUT, "w") as f:
        json.dump(out, f)
    print(f"wrote {OUT}: {n_blocks} blocks, {len(keys)} tensors")


if __name__ == "__main__":
    main()
