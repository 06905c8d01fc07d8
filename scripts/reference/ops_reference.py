"""Reference numbers for fastcandle-core's vision ops (max pooling, adaptive pooling,
depthwise and full convolution), from PyTorch.

Run from the repository root with a Python that has torch:

    python scripts/reference/ops_reference.py

It writes crates/fastcandle-core/tests/data/ops_reference.json: for every case the input, the
weight (depthwise), the upstream gradient `up`, the output `y`, and the gradients of
`sum(y * up)` with respect to the input (`dx`) and the weight (`dw`). Inputs are deterministic
formulas (no RNG), stored in the file so that the Rust tests need not rebuild them.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)


def fill(shape, a, b, scale=1.0):
    n = math.prod(shape)
    return torch.tensor([math.sin(a * i + b) * scale for i in range(n)]).reshape(shape)


def flat(t):
    return t.detach().flatten().tolist()


def case(shape, f, weight_shape=None, **params):
    x = fill(shape, 0.61, 0.2, 2.0).requires_grad_()
    w = None
    if weight_shape is not None:
        w = fill(weight_shape, 0.37, 1.1, 1.0 / math.sqrt(math.prod(weight_shape[1:]))).requires_grad_()
    y = f(x, w)
    up = fill(list(y.shape), 0.23, 0.7)
    (y * up).sum().backward()
    out = {
        "shape": list(shape),
        "x": flat(x),
        "out_shape": list(y.shape),
        "up": flat(up),
        "y": flat(y),
        "dx": flat(x.grad),
        **params,
    }
    if w is not None:
        out.update({"w_shape": list(weight_shape), "w": flat(w), "dw": flat(w.grad)})
    return out


def main():
    ref = {"max_pool2d": [], "adaptive_avg_pool2d": [], "adaptive_max_pool2d": [], "depthwise_conv2d": [],
           "conv2d": []}
    for shape, k, s, p in [
        ([2, 3, 9, 7], 3, 2, 1),  # ResNet's stem: overlapping windows, padding
        ([1, 2, 8, 8], 2, 2, 0),
        ([1, 1, 5, 6], 3, 1, 1),
        ([2, 2, 7, 5], 3, 3, 0),
        ([1, 3, 1, 1], 1, 1, 0),
    ]:
        ref["max_pool2d"].append(case(
            shape, lambda x, _w: F.max_pool2d(x, k, s, p), kernel=k, stride=s, padding=p))
    for shape, out in [
        ([2, 3, 7, 5], [1, 1]),
        ([2, 3, 7, 5], [3, 2]),
        ([1, 2, 4, 4], [4, 4]),
        ([1, 2, 5, 9], [2, 4]),
        ([1, 1, 3, 4], [5, 3]),
        ([1, 4, 1, 1], [1, 1]),
    ]:
        ref["adaptive_avg_pool2d"].append(case(
            shape, lambda x, _w: F.adaptive_avg_pool2d(x, out), output_size=out))
        ref["adaptive_max_pool2d"].append(case(
            shape, lambda x, _w: F.adaptive_max_pool2d(x, out), output_size=out))
    for shape, k, s, p in [
        ([2, 4, 9, 7], 3, 1, 1),
        ([1, 3, 10, 8], 3, 2, 1),  # MobileNetV2's downsampling depthwise layers
        ([2, 2, 11, 9], 7, 1, 3),
        ([1, 5, 8, 8], 7, 2, 3),
        ([1, 3, 6, 6], 1, 1, 0),
        ([2, 2, 5, 5], 3, 2, 0),
        ([1, 2, 1, 1], 3, 1, 1),
    ]:
        c = shape[1]
        ref["depthwise_conv2d"].append(case(
            shape, lambda x, w: F.conv2d(x, w, stride=s, padding=p, groups=c),
            weight_shape=[c, 1, k, k], stride=s, padding=p))
    for shape, c_out, k, s, p in [
        ([2, 3, 18, 15], 4, 7, 2, 3),  # ResNet's stem; height and width leave different remainders
        ([1, 3, 9, 7], 5, 3, 1, 1),
        ([2, 4, 8, 7], 3, 3, 2, 1),
        ([1, 4, 7, 6], 6, 1, 2, 0),  # a downsample
        ([2, 2, 5, 6], 3, 3, 2, 0),
        ([1, 2, 1, 1], 2, 3, 1, 1),
    ]:
        ref["conv2d"].append(case(
            shape, lambda x, w: F.conv2d(x, w, stride=s, padding=p),
            weight_shape=[c_out, shape[1], k, k], stride=s, padding=p))
    path = os.path.join("crates", "fastcandle-core", "tests", "data", "ops_reference.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, **ref}, f)
    print("wrote", path, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
