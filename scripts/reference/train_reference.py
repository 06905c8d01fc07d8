"""Reference numbers for fastcandle-train's tests, from PyTorch.

Run from the repository root with a Python that has torch:

    python scripts/reference/train_reference.py

It writes crates/fastcandle-train/tests/data/reference.json. The inputs are deterministic
formulas (no RNG), so the Rust tests rebuild them the same way.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float32)


def values(n, a, b):
    # The same deterministic fill the Rust tests use.
    return [math.sin(a * i + b) for i in range(n)]


def grads_for(step, n):
    return [math.cos(0.37 * i + 1.3 * step) * 0.5 for i in range(n)]


def run_optimizer(make_opt, pre_step=None, steps=3):
    w = torch.tensor(values(15, 0.7, 0.1)).reshape(5, 3).requires_grad_()
    b = torch.tensor(values(5, 1.1, 0.4)).requires_grad_()
    opt = make_opt(w, b)
    out = []
    for s in range(steps):
        w.grad = torch.tensor(grads_for(s, 15)).reshape(5, 3)
        b.grad = torch.tensor(grads_for(s + 10, 5))
        if pre_step is not None:
            with torch.no_grad():
                pre_step(w, b)
        opt.step()
        out.append({"w": w.detach().flatten().tolist(), "b": b.detach().flatten().tolist()})
    return out


def main():
    ref = {}
    lr, wd = 1e-2, 1e-2
    # fastai's Adam = AdamW with betas (mom, sqr_mom); no weight decay on biases (wd_bn_bias=False).
    ref["adam"] = {
        "lr": lr, "mom": 0.9, "sqr_mom": 0.99, "eps": 1e-5, "wd": wd,
        "steps": run_optimizer(lambda w, b: torch.optim.AdamW(
            [{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}],
            lr=lr, betas=(0.9, 0.99), eps=1e-5)),
    }
    # SGD with momentum and L2 weight decay (fastai's decouple_wd=False) = torch.optim.SGD.
    ref["sgd_l2"] = {
        "lr": lr, "mom": 0.9, "wd": wd,
        "steps": run_optimizer(lambda w, b: torch.optim.SGD(
            [{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}],
            lr=lr, momentum=0.9)),
    }
    # SGD with momentum and decoupled weight decay (fastai's default): p *= 1 - lr*wd first.
    ref["sgd_decoupled"] = {
        "lr": lr, "mom": 0.9, "wd": wd,
        "steps": run_optimizer(
            lambda w, b: torch.optim.SGD([w, b], lr=lr, momentum=0.9),
            pre_step=lambda w, b: w.mul_(1 - lr * wd)),
    }
    # BatchNorm1d in training mode: output, gradients and running statistics.
    x = torch.tensor(values(12, 0.9, 0.2)).reshape(4, 3).mul(3).requires_grad_()
    bn = torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 1.0, 1.5]))
        bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    up = torch.tensor(values(12, 0.3, 0.5)).reshape(4, 3)
    y = bn(x)
    (y * up).sum().backward()
    ref["batch_norm_1d"] = {
        "x": x.detach().flatten().tolist(),
        "up": up.flatten().tolist(),
        "y": y.detach().flatten().tolist(),
        "dx": x.grad.flatten().tolist(),
        "dweight": bn.weight.grad.tolist(),
        "dbias": bn.bias.grad.tolist(),
        "running_mean": bn.running_mean.tolist(),
        "running_var": bn.running_var.tolist(),
    }
    path = os.path.join("crates", "fastcandle-train", "tests", "data", "reference.json")
    with open(path, "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", path, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
