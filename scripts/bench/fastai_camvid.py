"""fastai's CamVid lesson on fashion-scenes (CamVid-tiny's layout): the yardstick of
`cargo xtask train camvid`.

    dls = SegmentationDataLoaders.from_label_func(path, bs=8, fnames=files, valid_pct=0.2,
        seed=SEED, label_func=lambda o: path/'labels'/f'{o.stem}_P{o.suffix}', codes=codes)
    learn = unet_learner(dls, resnet34, pretrained=False, metrics=[foreground_acc, DiceMulti()])
    learn.fine_tune(EPOCHS)

The files are sorted, as fastcandle's get_image_files sorts them, so that the same seed puts
the same images in the validation set in both. Prints the epoch table and, last, one JSON line:
per-epoch losses, metrics and seconds.

    python scripts/bench/fastai_camvid.py [FOLDER [EPOCHS [SEED]]]
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from fastai.vision.all import (DiceMulti, SegmentationDataLoaders, foreground_acc,
                               get_image_files, resnet34, unet_learner)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fastai_epochs import EpochRows  # noqa: E402

here = Path(__file__).resolve()
folder = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parents[3] / "shared/data/fashion-scenes"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 8
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
torch.set_num_threads(2)
torch.manual_seed(seed)


files = sorted(get_image_files(folder / "images"))
codes = np.loadtxt(folder / "codes.txt", dtype=str)
dls = SegmentationDataLoaders.from_label_func(
    folder, bs=8, fnames=files, valid_pct=0.2, seed=seed,
    label_func=lambda o: folder / "labels" / f"{o.stem}_P{o.suffix}", codes=codes, device="cpu")
learn = unet_learner(dls, resnet34, pretrained=False, metrics=[foreground_acc, DiceMulti()])
times = EpochRows()
learn.add_cb(times)
start = time.time()
learn.fine_tune(epochs)
print(json.dumps({"epochs": times.rows, "wall_s": time.time() - start,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
