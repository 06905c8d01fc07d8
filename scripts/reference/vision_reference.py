"""Reference numbers for fastcandle-models' vision models, from PyTorch, torchvision and fastai.

Run from the repository root with a Python that has torch, torchvision and fastai:

    python scripts/reference/vision_reference.py

It writes crates/fastcandle-models/tests/data/vision_reference.json with:

- `keys`: the state-dict names and shapes of torchvision's resnet18/34/50 (10 classes) and
  MobileNetV2 `features`, so that the Rust models can be checked to load by name;
- `resnet18`, `resnet34`, `resnet50`: evaluation-mode outputs of the body (everything before
  the average pool) and of the whole network, with every parameter and buffer filled by
  `fill` below (the Rust tests apply the same formula, so no weight file is committed);
- `resnet18_fastai_head`: the same ResNet18 body under fastai's `create_head(512, 5)`;
- `mobilenet_v2`: the evaluation-mode output of `features` with the real ImageNet weights
  committed in datasets/weights;
- `stem_grads`: a conv-BN-ReLU-maxpool stack (ResNet's stem) in training mode on a
  non-square batch: output, the gradients of `sum(y * up)` and the running statistics after;
- `resnet18_train`, `mobilenet_v2_train`: a training-mode forward and backward of the ResNet18
  body and of MobileNetV2's first 7 children with the formula's weights, sampled.

Large outputs are stored as a strided sample (`sample`, every `step`-th value of the flattened
tensor) with their `sum`, `abs_sum` and `abs_max`.

The script never drops a committed entry: what it computes is merged into the existing JSON
(new entries added, recomputed ones replaced), and an entry it cannot compute here (the
weights file missing) is kept as committed, with a note.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torchvision

torch.set_default_dtype(torch.float32)
torch.backends.mkldnn.enabled = False  # plain float32 convolutions, as reproducible as can be

WEIGHTS = os.path.join("datasets", "weights", "mobilenet_v2-imagenet-features.safetensors")
OUT = os.path.join("crates", "fastcandle-models", "tests", "data", "vision_reference.json")


def phase(name):
    """A per-tensor phase from the name's bytes (an exact integer, then scaled)."""
    return (sum(name.encode()) % 97) * 0.1


def fill(name, shape):
    """The deterministic value of every parameter and buffer; the Rust tests use the same."""
    n = math.prod(shape)
    # A pseudo-random value in [-1, 1] that is continuous in the sine (a triangle wave of a
    # large multiple of it), so that the last-bit differences between libms do not matter.
    t = np.sin(0.7 * np.arange(n, dtype=np.float64) + phase(name)) * 43758.5453
    base = 2.0 * np.abs(2.0 * (t - np.floor(t)) - 1.0) - 1.0
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_var":
        v = 1.0 + 0.5 * base * base
    elif leaf == "running_mean":
        v = 0.1 * base
    elif leaf == "num_batches_tracked":
        return torch.zeros(shape, dtype=torch.int64)
    elif len(shape) == 1 and leaf == "weight":  # BatchNorm scale
        v = 1.0 + 0.25 * base
    elif leaf == "bias":
        v = 0.1 * base
    else:  # convolution and linear weights: uniform with std sqrt(1 / fan_in)
        fan_in = math.prod(shape[1:])
        v = base * math.sqrt(3.0 / fan_in)
    return torch.from_numpy(v.astype(np.float32)).reshape(shape)


def fill_module(m, rename=lambda k: k):
    with torch.no_grad():
        for k, t in m.state_dict().items():
            t.copy_(fill(rename(k), list(t.shape)))


def det_input(shape, a=0.05, b=0.3, scale=1.5):
    n = math.prod(shape)
    v = np.sin(a * np.arange(n, dtype=np.float64) + b) * scale
    return torch.from_numpy(v.astype(np.float32)).reshape(shape)


def summary(t, n=400):
    v = t.detach().flatten().double()
    step = max(1, v.numel() // n)
    return {
        "shape": list(t.shape),
        "step": step,
        "sample": v[::step].tolist(),
        "sum": v.sum().item(),
        "abs_sum": v.abs().sum().item(),
        "abs_max": v.abs().max().item(),
    }


def keys_of(m):
    return [[k, list(t.shape)] for k, t in m.state_dict().items() if not k.endswith("num_batches_tracked")]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    dtypes = {"F32": np.float32, "I64": np.int64}
    for k, info in header.items():
        if k == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def body_of(resnet):
    return torch.nn.Sequential(*list(resnet.children())[:-2])


def main():
    ref = {"torch": torch.__version__, "torchvision": torchvision.__version__, "keys": {}}
    x = det_input([2, 3, 64, 64])
    ref["input"] = {"shape": [2, 3, 64, 64], "a": 0.05, "b": 0.3, "scale": 1.5}
    for name in ["resnet18", "resnet34", "resnet50"]:
        m = getattr(torchvision.models, name)(num_classes=10).eval()
        ref["keys"][name] = keys_of(m)
        fill_module(m)
        with torch.no_grad():
            feats = body_of(m)(x)
            logits = m(x)
        ref[name] = {"body": summary(feats), "logits": logits.flatten().tolist()}
        print(name, "body", list(feats.shape), "abs max", feats.abs().max().item())
        if name == "resnet18":
            from fastai.vision.learner import create_head
            head = create_head(512, 5).eval()
            names = {"2": "head.bn1", "4": "head.lin1", "6": "head.bn2", "8": "head.lin2"}
            fill_module(head, lambda k: names[k.split(".")[0]] + "." + k.split(".", 1)[1])
            with torch.no_grad():
                out = head(feats)
            ref["resnet18_fastai_head"] = {"n_out": 5, "output": out.flatten().tolist()}

    # ResNet's stem in training mode on a non-square batch whose height and width leave
    # different remainders under stride 2.
    stem_x = det_input([2, 3, 18, 15], 0.11, 0.5, 2.0).requires_grad_()
    conv = torch.nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
    bn = torch.nn.BatchNorm2d(8)
    fill_module(conv, lambda k: "conv1." + k)
    fill_module(bn, lambda k: "bn1." + k)
    y = torch.nn.functional.max_pool2d(torch.relu(bn(conv(stem_x))), 3, 2, 1)
    up = det_input(list(y.shape), 0.23, 0.7, 1.0)
    (y * up).sum().backward()
    ref["stem_grads"] = {
        "x_shape": [2, 3, 18, 15], "x": [0.11, 0.5, 2.0], "up": [0.23, 0.7, 1.0],
        "y_shape": list(y.shape),
        "y": y.detach().flatten().tolist(),
        "dx": stem_x.grad.flatten().tolist(),
        "conv1.weight": conv.weight.grad.flatten().tolist(),
        "bn1.weight": bn.weight.grad.tolist(),
        "bn1.bias": bn.bias.grad.tolist(),
        "bn1.running_mean": bn.running_mean.tolist(),
        "bn1.running_var": bn.running_var.tolist(),
    }

    # Whole bodies in training mode, on a non-square batch.
    def train_grads(body, names, shape):
        xt = det_input(shape, 0.031, 0.9, 1.0).requires_grad_()
        out = body.train()(xt)
        upt = det_input(list(out.shape), 0.017, 0.2, 1.0)
        (out * upt).sum().backward()
        params = dict(body.named_parameters())
        return {
            "x_shape": shape, "x": [0.031, 0.9, 1.0], "up": [0.017, 0.2, 1.0],
            "out": summary(out), "dx": summary(xt.grad),
            "grads": {k: summary(params[k].grad) for k in names},
        }

    r18 = torchvision.models.resnet18()
    fill_module(r18)
    ref["resnet18_train"] = train_grads(
        body_of(r18),
        ["0.weight", "1.weight", "5.0.downsample.0.weight", "6.1.conv2.weight", "7.1.bn2.bias"],
        [2, 3, 40, 36])
    # Sequential renames the children: map the sampled names back to torchvision's.
    ref["resnet18_train"]["names"] = {
        "0.weight": "conv1.weight", "1.weight": "bn1.weight",
        "5.0.downsample.0.weight": "layer2.0.downsample.0.weight",
        "6.1.conv2.weight": "layer3.1.conv2.weight", "7.1.bn2.bias": "layer4.1.bn2.bias"}

    if os.path.exists(WEIGHTS):
        feats = torchvision.models.mobilenet_v2().features
        ref["keys"]["mobilenet_v2"] = [["features." + k, v] for k, v in keys_of(feats)]
        sd = read_safetensors(WEIGHTS)
        feats.load_state_dict({k[len("features."):]: v for k, v in sd.items()}, strict=True)
        with torch.no_grad():
            out = feats.eval()(x)
        ref["mobilenet_v2"] = {"body": summary(out)}
        print("mobilenet_v2 body", list(out.shape), "abs max", out.abs().max().item())
    else:
        print("no", WEIGHTS, "(run from the repository root): MobileNetV2 evaluation reference "
              "not recomputed")
    # MobileNetV2's first 7 children (group 0: the stem, depthwise convolutions of stride 1 and
    # 2, residual and non-residual blocks) in training mode, with the formula's weights. Not
    # the whole body: its 52 training-mode BatchNorms over a few cells each amplify float32
    # rounding until PyTorch's own float32 gradients are 4% from its float64 ones; over these
    # 7 children the two agree to ~3e-6.
    feats = torchvision.models.mobilenet_v2().features
    fill_module(feats, lambda k: "features." + k)
    ref["mobilenet_v2_train"] = train_grads(
        feats[:7], ["0.0.weight", "1.conv.0.0.weight", "2.conv.1.0.weight", "4.conv.1.0.weight",
                    "6.conv.2.weight", "6.conv.3.bias"], [2, 3, 40, 36])
    ref["mobilenet_v2_train"]["children"] = 7
    ref["mobilenet_v2_train"]["names"] = {
        k: "features." + k for k in ref["mobilenet_v2_train"]["grads"]}

    ref = merged_with_committed(ref)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ref, f)
    os.replace(tmp, OUT)
    print("wrote", OUT, "with torch", torch.__version__, "torchvision", torchvision.__version__)


def merged_with_committed(ref):
    """`ref` over the committed JSON: the committed entries this run did not compute are kept
    (with a note), so a run from a checkout without some input never loses references."""
    if not os.path.exists(OUT):
        return ref
    with open(OUT) as f:
        old = json.load(f)
    kept = [k for k in old if k not in ref]
    kept_keys = [k for k in old.get("keys", {}) if k not in ref["keys"]]
    merged = dict(old)
    merged.update(ref)
    merged["keys"] = {**old.get("keys", {}), **ref["keys"]}
    for k in kept + ["keys." + k for k in kept_keys]:
        print("note: kept the committed entry", k, "(not computed in this run)")
    return merged


if __name__ == "__main__":
    main()
