"""Small PyTorch checkpoints for fastcandle-models' `.pth`/`.pt` reader, written by torch itself.

Run from the repository root with a Python that has torch:

    python scripts/reference/pth_reference.py

It writes, under crates/fastcandle-models/tests/data/pth/ (a few KB in all):

- `checkpoint.pth`: the zip format (PyTorch >= 1.6, torch.save's default), a fastai-style
  `{"model": state_dict, "opt": ..., "epoch": 3}` whose keys carry DataParallel's `module.`
  prefix. The state dict holds float32, float16, bfloat16 and float64 tensors, a transposed
  (non-contiguous) view, two views of one storage at different offsets, a scalar, an empty
  tensor and an int64 `num_batches_tracked`;
- `checkpoint.legacy.pt`: the same object in the legacy format
  (`_use_new_zipfile_serialization=False`: a magic number, the protocol, the system's
  information, the pickled object with persistent ids for storages, the storage keys, then each
  storage's bytes after an 8-byte count);
- `checkpoint.protocol4.pth`: the zip format with `pickle_protocol=4` (FRAME, MEMOIZE and
  SHORT_BINUNICODE opcodes);
- `checkpoint.json`: what the reader must give: every tensor of the state dict (without the
  prefix) with its shape and its values as float32 (float64 rounded to float32, the half
  types widened exactly; integers as they are);
- `lightning.pth`: `{"state_dict": {...}, "epoch": 1}` (PyTorch Lightning's nesting) of two
  float32 tensors;
- `named_model.pth`: `{"model": "resnet34", "state_dict": {...}}`: `model` names the
  architecture, the state dict is under `state_dict`;
- `not_a_state_dict.pth`: a list of numbers;
- `module.pth`: a whole pickled `torch.nn.Linear(2, 3)` rather than its state dict;
- `complex.pth`: a state dict with a complex64 tensor (an unsupported storage type).
"""
import collections
import json
import os

import numpy as np
import torch

OUT = os.path.join("crates", "fastcandle-models", "tests", "data", "pth")


def values(t):
    """The values the reader must give, flattened in row-major order."""
    if t.dtype.is_floating_point:
        return [float(v) for v in t.to(torch.float32).flatten().tolist()]
    return [int(v) for v in t.flatten().tolist()]


def state_dict():
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(4, 3, 3, 3, generator=g)
    sd["bn.weight"] = torch.randn(4, generator=g).to(torch.float16)
    sd["bn.bias"] = torch.randn(4, generator=g).to(torch.bfloat16)
    sd["bn.running_mean"] = torch.randn(4, generator=g, dtype=torch.float64) * 1e-3
    sd["bn.running_var"] = torch.rand(4, generator=g) + 0.5
    sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    # A transposed view: strides (1, 3), not contiguous.
    sd["fc.weight"] = torch.randn(3, 5, generator=g).t()
    # Two views of one storage, the second at an offset.
    base = torch.randn(10, generator=g)
    sd["fc.bias"] = base[:5]
    sd["tied.bias"] = base[5:]
    sd["scale"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["half.matrix"] = torch.randn(2, 3, generator=g, dtype=torch.float64).to(torch.float16)
    sd["double.matrix"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    return sd


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = state_dict()
    prefixed = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    ckpt = {"model": prefixed, "opt": {"lr": 1e-3, "betas": (0.9, 0.99)}, "epoch": 3}
    torch.save(ckpt, os.path.join(OUT, "checkpoint.pth"))
    torch.save(ckpt, os.path.join(OUT, "checkpoint.legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(ckpt, os.path.join(OUT, "checkpoint.protocol4.pth"), pickle_protocol=4)
    expected = {
        k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""), "values": values(v)}
        for k, v in sd.items()
    }
    with open(os.path.join(OUT, "checkpoint.json"), "w") as f:
        json.dump({"torch": torch.__version__, "tensors": expected}, f, indent=1)

    g = torch.Generator().manual_seed(1)
    torch.save({"state_dict": {"a.weight": torch.randn(2, 2, generator=g),
                               "a.bias": torch.randn(2, generator=g)}, "epoch": 1},
               os.path.join(OUT, "lightning.pth"))
    torch.save({"model": "resnet34", "state_dict": {"b.weight": torch.ones(3)}},
               os.path.join(OUT, "named_model.pth"))
    torch.save([1, 2, 3], os.path.join(OUT, "not_a_state_dict.pth"))
    torch.save(torch.nn.Linear(2, 3), os.path.join(OUT, "module.pth"))
    torch.save({"w": torch.zeros(2, dtype=torch.complex64)}, os.path.join(OUT, "complex.pth"))

    # Read back with torch to make sure the files say what checkpoint.json says.
    for name in ["checkpoint.pth", "checkpoint.legacy.pt", "checkpoint.protocol4.pth"]:
        back = torch.load(os.path.join(OUT, name), weights_only=False)["model"]
        for k, v in sd.items():
            assert torch.equal(back["module." + k], v), (name, k)
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    np.random.seed(0)
    main()
