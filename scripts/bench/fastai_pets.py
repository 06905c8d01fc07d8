"""fastai's Pets recipe on the cat and dog silhouettes of animal-shapes, from the pretrained
MobileNetV2 of `../shared/data/weights`: the yardstick of `cargo xtask train pets`.

    ImageDataLoaders.from_name_func(path, files, valid_pct=0.2, seed=42, label_func=is_cat,
                                    item_tfms=Resize(224))
    learn = vision_learner(dls, mobilenet_v2, metrics=error_rate)   # pretrained, frozen
    learn.fine_tune(EPOCHS)

The body is torchvision's `mobilenet_v2().features` with the shared ImageNet weights, cut and
split as fastcandle does (groups features[:7], features[7:], head). Prints the epoch table and,
last, one JSON line: per-epoch losses, error rates and seconds.

    python scripts/bench/fastai_pets.py [FOLDER [EPOCHS [WEIGHTS [SEED]]]]

SEED (default 42) seeds the split and torch. The files are sorted, so the split holds the same
images as fastcandle's for the same seed.
"""
import json
import sys
import time
from pathlib import Path

import torch
import torchvision
from fastai.callback.core import Callback
from fastai.vision.all import (ImageDataLoaders, L, Resize, error_rate, get_image_files,
                               imagenet_stats, model_meta, params, vision_learner)
from safetensors.torch import load_file

here = Path(__file__).resolve()
shared = here.parents[3] / "shared/data"
folder = Path(sys.argv[1]) if len(sys.argv) > 1 else shared / "animal-shapes/images"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
weights = Path(sys.argv[3]) if len(sys.argv) > 3 else shared / "weights/mobilenet_v2-imagenet-features.safetensors"
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 42
torch.set_num_threads(2)
torch.manual_seed(seed)


def mobilenet_v2(pretrained=False, **kwargs):
    m = torchvision.models.mobilenet_v2()
    if pretrained:
        missing, unexpected = m.load_state_dict(load_file(str(weights)), strict=False)
        assert not unexpected and all(k.startswith("classifier.") for k in missing), (missing, unexpected)
    return m


model_meta[mobilenet_v2] = {
    "cut": -1,
    "split": lambda m: L(m[0][0][:7], m[0][0][7:], m[1:]).map(params),
    "stats": imagenet_stats,
}


def is_cat(name):
    return name[0].isupper()


class Times(Callback):
    order = 100

    def before_epoch(self):
        self.start = time.time()

    def after_epoch(self):
        rec = self.learn.recorder
        self.rows.append({"train_loss": float(rec.log[1]), "valid_loss": float(rec.log[2]),
                          "error_rate": float(rec.log[3]), "time_s": time.time() - self.start})

    def __init__(self):
        self.rows = []


# Sorted, as fastcandle's get_image_files sorts (fastai keeps the directory's order): with the
# same seed, both then put the same images in the validation set.
files = sorted(f for f in get_image_files(folder) if f.name.startswith(("Cat_", "dog_")))
dls = ImageDataLoaders.from_name_func(folder, files, valid_pct=0.2, seed=seed, label_func=is_cat,
                                      item_tfms=Resize(224), device="cpu")
learn = vision_learner(dls, mobilenet_v2, metrics=error_rate)
times = Times()
learn.add_cb(times)
start = time.time()
learn.fine_tune(epochs)
print(json.dumps({"epochs": times.rows, "wall_s": time.time() - start,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
