"""Reference permutations for `fastcandle_core::rng::torch_permutation`: what
`torch.manual_seed(seed); torch.randperm(n)` gives on the CPU (fastai's RandomSplitter draws its
split from it).

    python scripts/reference/randperm.py
"""
import torch

for n, seed in [(10, 42), (2000, 42), (32561, 42), (5, 1)]:
    torch.manual_seed(seed)
    p = torch.randperm(n).tolist()
    print(f"n={n} seed={seed} head={p[:10]} tail={p[-8:]}")
