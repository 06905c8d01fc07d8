"""PyTorch's CPU speed on a vision model: the reference of `cargo xtask bench`'s model rows.

One training step is forward, cross-entropy and backward (no optimizer step) in training mode;
one inference pass is a forward in evaluation mode under `torch.no_grad()`. Random inputs,
2 classes, torchvision's architecture (untrained), 2 threads as on the project's machines.
Prints one JSON object: images per second of every timed run, after one warm-up.

    python scripts/bench/torch_vision_step.py ARCH BS SIZE RUNS
"""
import json
import sys
import time

import torch
import torchvision

arch, bs, size, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(2)
torch.manual_seed(0)
model = getattr(torchvision.models, arch)(num_classes=2)
x = torch.randn(bs, 3, size, size)
y = torch.arange(bs) % 2
loss_fn = torch.nn.CrossEntropyLoss()

train, infer = [], []
for i in range(runs + 1):
    model.train()
    t0 = time.perf_counter()
    loss = loss_fn(model(x), y)
    loss.backward()
    t1 = time.perf_counter()
    model.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        t2 = time.perf_counter()
        model(x).sum().item()
        t3 = time.perf_counter()
    if i > 0:
        train.append(bs / (t1 - t0))
        infer.append(bs / (t3 - t2))
print(json.dumps({"train": train, "infer": infer, "torch": torch.__version__}))
