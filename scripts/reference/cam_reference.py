"""Reference numbers for fastcandle-models' class activation maps (fastbook chapter 18), from
PyTorch, torchvision and fastai.

The network is torchvision's ResNet18 body under fastai's `create_head(512, 5)`, every parameter
and buffer filled by `vision_reference.fill` (the Rust tests apply the same formula), in
evaluation mode, on one deterministic non-square image `det_input([1, 3, 128, 96])`. For class 3
it computes, as fastbook does:

- Grad-CAM at the body's output (`layer4`): `w = grad.mean((h, w))`, `(w * act).sum(0)`;
- Grad-CAM at `layer3`, the same way;
- CAM: `einsum('ck,kij->cij', head[-1].weight, act)[3]`;

and the logits. Run from the repository root (needs torch, torchvision and fastai):

    python scripts/reference/cam_reference.py

It writes crates/fastcandle-models/tests/data/cam_reference.json.
"""
import json
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_reference import body_of, det_input, fill_module  # noqa: E402

torch.set_default_dtype(torch.float32)
torch.backends.mkldnn.enabled = False

OUT = os.path.join("crates", "fastcandle-models", "tests", "data", "cam_reference.json")
CLASS = 3
SHAPE = [1, 3, 128, 96]


def main():
    from fastai.vision.learner import create_head

    m = torchvision.models.resnet18(num_classes=10).eval()
    fill_module(m)
    body = body_of(m).eval()
    head = create_head(512, 5).eval()
    names = {"2": "head.bn1", "4": "head.lin1", "6": "head.bn2", "8": "head.lin2"}
    fill_module(head, lambda k: names[k.split(".")[0]] + "." + k.split(".", 1)[1])
    x = det_input(SHAPE)

    acts = {}
    layer3 = body[6]
    layer3.register_forward_hook(lambda mod, i, o: acts.__setitem__("layer3", o))
    feats = body(x)
    feats.retain_grad()
    acts["layer3"].retain_grad()
    logits = head(feats)
    logits[0, CLASS].backward()

    def grad_cam(act):
        w = act.grad[0].mean(dim=[1, 2], keepdim=True)
        return (w * act[0]).sum(0).detach()

    cam = torch.einsum("ck,kij->cij", head[-1].weight, feats[0])[CLASS].detach()
    ref = {
        "torch": torch.__version__,
        "input": {"shape": SHAPE},
        "class": CLASS,
        "logits": logits[0].detach().tolist(),
        "grad_cam_layer4": {"shape": list(feats.shape[2:]), "map": grad_cam(feats).flatten().tolist()},
        "grad_cam_layer3": {
            "shape": list(acts["layer3"].shape[2:]),
            "map": grad_cam(acts["layer3"]).flatten().tolist(),
        },
        "cam": {"shape": list(cam.shape), "map": cam.flatten().tolist()},
    }
    with open(OUT, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print("wrote", OUT, "logits", ref["logits"])


if __name__ == "__main__":
    main()
