"""fastai's DataLoader speed on the recipe of `cargo xtask bench-loader`.

The cat and dog silhouettes of animal-shapes (files `Cat_*` and `dog_*`, 2,000 28x28 grey
PNGs), is_cat labels, valid_pct 0.2, seed 42, Resize(224), bs 64, on the CPU: once with
aug_transforms() and ImageNet normalisation, once with the normalisation only. Prints images per
second over the training batches of EPOCHS epochs, after one warm-up batch. With a third
argument `json`, prints one JSON object instead (what `cargo xtask bench` reads).

    python scripts/bench/fastai_loader.py [FOLDER [EPOCHS [json]]]
"""
import json
import sys
import time
from pathlib import Path

import torch
from fastai.vision.all import (ImageDataLoaders, Normalize, Resize, aug_transforms,
                               get_image_files, imagenet_stats)

here = Path(__file__).resolve()
folder = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parents[3] / "shared/data/animal-shapes/images"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.set_num_threads(2)


def is_cat(name):
    return name[0].isupper()


def measure(batch_tfms):
    files = [f for f in get_image_files(folder) if f.name.startswith(("Cat_", "dog_"))]
    dls = ImageDataLoaders.from_name_func(folder, files, valid_pct=0.2, seed=42, label_func=is_cat,
                                          item_tfms=Resize(224), batch_tfms=batch_tfms, bs=64,
                                          device="cpu")
    next(iter(dls.train))
    start, n = time.time(), 0
    for _ in range(epochs):
        for xb, _ in dls.train:
            n += len(xb)
    return n / (time.time() - start)


norm = Normalize.from_stats(*imagenet_stats)
with_aug = measure([*aug_transforms(), norm])
if len(sys.argv) > 3 and sys.argv[3] == "json":
    # Peak memory: this process's, plus the largest of its worker processes'.
    import resource
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"values": [with_aug], "with_aug": with_aug, "no_aug": measure([norm]),
                      "peak_mib": peak}))
else:
    print(f"fastai, Resize 224 + aug_transforms + Normalize: {with_aug:.0f} images/s")
    print(f"fastai, Resize 224 + Normalize (no augmentation): {measure([norm]):.0f} images/s")
