"""PyTorch's speed on a vision model: the reference of `cargo xtask bench`'s model rows.

A training step is forward, cross-entropy and backward (no optimizer step) in training mode;
an inference pass is a forward in evaluation mode under `torch.no_grad()`. Random inputs,
2 classes, torchvision's architecture (untrained), THREADS threads (as many as fastcandle's).
PRECISION `bf16` runs the forward under `torch.autocast(dtype=torch.bfloat16)` (f32 weights,
the loss on the output cast to f32), as fastai's `to_bf16`; the default is `f32`.
One mode per process, so that the peak memory printed is the mode's own.
Prints one JSON object: images per second of every timed run after one warm-up pass (a run
sums as many passes as last MIN_RUN_SECS at the warm-up's pace), and the
process's peak resident memory in MiB (on a GPU, also the peak GPU memory PyTorch allocated).

    python scripts/bench/torch_vision_step.py ARCH train|infer SIZE BS RUNS [THREADS [DEVICE [PRECISION]]]
"""
import json
import math
import sys
import time

import torch
import torchvision
from bench_common import peak_rss_mib


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# The least time a run lasts: a run sums the times of as many passes as make this at the
# warm-up's pace (one where a pass is longer), as fastcandle's bench worker (`passes_per_run`).
MIN_RUN_SECS = 0.5


def passes_per_run(warm_up):
    return min(max(math.ceil(MIN_RUN_SECS / max(warm_up, 1e-6)), 1), 1000)


def main():
    arch, mode, size, bs, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    device = torch.device(sys.argv[7] if len(sys.argv) > 7 else "cpu")
    precision = sys.argv[8] if len(sys.argv) > 8 else "f32"
    if precision not in ("f32", "bf16"):
        sys.exit(f"precision must be f32 or bf16, got {precision}")
    bf16 = precision == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=2).to(device)
    x = torch.randn(bs, 3, size, size, device=device)
    y = (torch.arange(bs) % 2).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train(mode == "train")
    def one_pass():
        """Seconds of one training step or inference pass."""
        if mode == "train":
            t0 = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out = model(x)
            loss_fn(out.float(), y).backward()
            sync(device)
            t1 = time.perf_counter()
            model.zero_grad(set_to_none=True)
        else:
            with torch.no_grad():
                t0 = time.perf_counter()
                model(x).sum().item()
                t1 = time.perf_counter()
        return t1 - t0

    passes = passes_per_run(one_pass())
    rates = []
    for _ in range(runs):
        secs = sum(one_pass() for _ in range(passes))
        rates.append(passes * bs / secs)
    out = {"values": rates, "peak_mib": peak_rss_mib(), "torch": torch.__version__, "precision": precision}
    if device.type == "cuda":
        out["gpu_peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main()
