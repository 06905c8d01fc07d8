"""Reference numbers for `imagenet_classifier` (crates/fastcandle/tests/imagenet.rs).

torchvision's resnet18 and mobilenet_v2 get weights made by a formula (below, also written in
the test), and a photo made by a formula goes through torchvision's ImageNet evaluation
preprocessing (Resize(256), CenterCrop(224), ToTensor, Normalize with ImageNet's statistics);
the logits, the top 5 classes (weights.meta["categories"]) and a summary of the preprocessed
input are written to crates/fastcandle/tests/data/imagenet_reference.json.

Run from the repository root: /work/venv-torch/bin/python scripts/reference/imagenet_reference.py

The formula, for the tensor named `name` of `shape` (torchvision's state_dict names), with
`i` the flat index and `s = sin(0.37 i + 0.5 (i^2 mod 1009) + 0.1 (sum of the name's bytes mod
100))` (float64; the square breaks the period, so that no two classes tie):
- `*.num_batches_tracked`: 0; `*.running_mean`: 0.1 s; `*.running_var`: 1 + 0.5 s^2;
- other 1-D `*.weight` (BatchNorm's scale): 0.5 + 0.2 s; other 1-D `*.bias`: 0.1 s;
- convolution and linear weights: 2 / sqrt(fan_in) * s (fan_in: the product of shape[1:]).
The photo is 320 x 250 RGB: red 255 x / 319, green 255 y / 249 (integer division), blue 230
on the white squares of an 8-pixel checkerboard ((x / 8 + y / 8) even) and 30 elsewhere.
"""

import json
import math
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.models import ResNet18_Weights

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/fastcandle/tests/data/imagenet_reference.json"


def formula(name: str, shape) -> torch.Tensor:
    if name.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    n = int(np.prod(shape)) if len(shape) else 1
    h = 0.1 * (sum(name.encode()) % 100)
    i = np.arange(n, dtype=np.int64)
    s = np.sin(i.astype(np.float64) * 0.37 + 0.5 * ((i * i) % 1009).astype(np.float64) + h)
    if name.endswith("running_mean"):
        v = 0.1 * s
    elif name.endswith("running_var"):
        v = 1.0 + 0.5 * s * s
    elif len(shape) == 1 and name.endswith("weight"):
        v = 0.5 + 0.2 * s
    elif len(shape) == 1 and name.endswith("bias"):
        v = 0.1 * s
    else:
        fan_in = int(np.prod(shape[1:]))
        v = 2.0 / math.sqrt(fan_in) * s
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def photo() -> Image.Image:
    w, h = 320, 250
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255) // (w - 1)
    g = (y * 255) // (h - 1)
    b = np.where(((x // 8 + y // 8) % 2) == 0, 230, 30)
    return Image.fromarray(np.stack([r, g, b], -1).astype(np.uint8), "RGB")


def main():
    torch.set_grad_enabled(False)
    pre = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    x = pre(photo()).unsqueeze(0)
    categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    out = {
        "input": {
            "shape": list(x.shape),
            "sum": float(x.double().sum()),
            "abs_sum": float(x.double().abs().sum()),
            "first": x[0, :, 0, :8].flatten().tolist(),
            "centre": x[0, :, 112, 100:108].flatten().tolist(),
        }
    }
    for arch in ["resnet18", "mobilenet_v2"]:
        model = getattr(torchvision.models, arch)(weights=None).eval()
        sd = {k: formula(k, tuple(v.shape)) for k, v in model.state_dict().items()}
        model.load_state_dict(sd, strict=True)
        logits = model(x)[0].double()
        probs = torch.softmax(logits, 0)
        top = torch.topk(probs, 5)
        out[arch] = {
            "logits": logits.tolist(),
            "top5": [
                {"index": int(i), "name": categories[int(i)], "prob": float(p)}
                for p, i in zip(top.values, top.indices)
            ],
        }
        print(arch, [(t["name"], round(t["prob"], 4)) for t in out[arch]["top5"]])
        print("  logits range", float(logits.min()), float(logits.max()))
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(OUT)


if __name__ == "__main__":
    main()
