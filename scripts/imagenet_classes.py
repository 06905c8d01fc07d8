"""Writes datasets/imagenet_classes.txt: the 1000 ImageNet class names, one a line in class
index order, as torchvision's ImageNet weights name them (`weights.meta["categories"]`).

Run from the repository root: /work/venv-torch/bin/python scripts/imagenet_classes.py
"""

from pathlib import Path

from torchvision.models import ResNet18_Weights

categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
assert len(categories) == 1000, len(categories)
assert all("\n" not in c and c == c.strip() and c for c in categories)
out = Path(__file__).resolve().parent.parent / "datasets" / "imagenet_classes.txt"
out.write_text("".join(c + "\n" for c in categories))
print(f"{out}: {len(categories)} names")
