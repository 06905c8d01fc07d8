"""Reference numbers for fastcandle-core's resizing ops used by DynamicUnet (nearest and
bilinear interpolation, pixel shuffle), from PyTorch.

Run from the repository root with a Python that has torch:

    python scripts/reference/unet_ops_reference.py

It writes crates/fastcandle-core/tests/data/unet_ops_reference.json: for every case the input,
the output size (or the shuffle's scale), the upstream gradient `up`, the output `y` and the
gradient of `sum(y * up)` with respect to the input (`dx`). Inputs are deterministic formulas
(no RNG), stored in the file so that the Rust tests need not rebuild them, except for the few
larger cases, whose formula (`x_fill`, `up_fill`) is stored instead.
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
    # The shortest decimal that reads back as the same float32, to keep the file small.
    return [float(str(v)) for v in t.detach().flatten().numpy()]


X_FILL = [0.61, 0.2, 2.0]
UP_FILL = [0.23, 0.7, 1.0]


def case(shape, f, stored=True, **params):
    """One case; with `stored=False` (large cases) the input and `up` are left out of the file
    and the test rebuilds them from `x_fill` and `up_fill`: element i is sin(a * i + b) * scale,
    computed in double and rounded to float32."""
    x = fill(shape, *X_FILL).requires_grad_()
    y = f(x)
    up = fill(list(y.shape), *UP_FILL)
    (y * up).sum().backward()
    inputs = {"x": flat(x), "up": flat(up)} if stored else {"x_fill": X_FILL, "up_fill": UP_FILL}
    return {
        "shape": list(shape),
        "out_shape": list(y.shape),
        **inputs,
        "y": flat(y),
        "dx": flat(x.grad),
        **params,
    }


# (input shape, output size): doubling, odd ratios up and down (one axis up, the other down),
# the same size, 1x1 in and out.
RESIZES = [
    ([2, 3, 4, 5], [8, 10]),
    ([2, 3, 3, 5], [7, 4]),
    ([2, 3, 6, 6], [13, 17]),
    ([2, 3, 7, 9], [3, 5]),
    ([2, 3, 9, 7], [4, 13]),
    ([1, 3, 5, 5], [5, 5]),
    ([2, 2, 1, 1], [3, 4]),
    ([1, 2, 4, 6], [1, 1]),
]
# Larger sizes on one plane, with the input and `up` rebuilt by the test to keep the file small:
# 6x6 up to 50x65 (ratios far from whole numbers, where the float scale decides the cells), and
# for nearest a decoder-sized 96x128 map halved, for bilinear a 24x32 map halved.
LARGER = [([1, 1, 6, 6], [50, 65])]
NEAREST_LARGER = LARGER + [([1, 1, 96, 128], [48, 64])]
BILINEAR_LARGER = LARGER + [([1, 1, 24, 32], [12, 16])]


def main():
    ref = {"upsample_nearest2d": [], "interpolate_bilinear": [], "pixel_shuffle": []}
    for stored, cases in [(True, RESIZES), (False, NEAREST_LARGER)]:
        for shape, size in cases:
            ref["upsample_nearest2d"].append(case(
                shape, lambda x: F.interpolate(x, size=size, mode="nearest"),
                stored=stored, size=size))
    for stored, cases in [(True, RESIZES), (False, BILINEAR_LARGER)]:
        for shape, size in cases:
            for align in [False, True]:
                ref["interpolate_bilinear"].append(case(
                    shape,
                    lambda x: F.interpolate(x, size=size, mode="bilinear", align_corners=align),
                    stored=stored, size=size, align_corners=align))
    for shape, r in [
        ([1, 8, 3, 4], 2),
        ([2, 12, 2, 3], 2),
        ([1, 18, 3, 2], 3),
        ([2, 9, 2, 2], 3),
        ([1, 4, 1, 1], 2),
    ]:
        ref["pixel_shuffle"].append(case(shape, lambda x: F.pixel_shuffle(x, r), scale=r))
    path = os.path.join("crates", "fastcandle-core", "tests", "data", "unet_ops_reference.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, **ref}, f)
    print("wrote", path, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
