"""Reference numbers for fastcandle-models' EfficientNet-B0 and ConvNeXt-Tiny, from torchvision
(and timm's parameter names).

Run from the repository root with a Python that has torch, torchvision and timm:

    python scripts/reference/efficientnet_convnext_reference.py

It writes crates/fastcandle-models/tests/data/efficientnet_convnext_reference.json with:

- `keys`: the state-dict names and shapes of torchvision's `efficientnet_b0` and
  `convnext_tiny` (10 classes) and of timm's `efficientnet_b0` and `convnext_tiny` (randomly
  initialised: nothing is downloaded), for the rename maps from timm's names to ours;
- `efficientnet_b0`, `convnext_tiny`: evaluation-mode outputs of `features` (the body) and of
  the whole network on a 2x3x64x64 input, every parameter and buffer filled by `fill` of
  vision_reference.py (the Rust tests use the same formula, so no weight file is committed);
- `*_train`: a training-mode forward and backward of `features` in float64 (stochastic depth
  off, so that it is deterministic): the output and the gradients of a few parameters;
- `drop_path`: torchvision's stochastic-depth rate of every block, in order;
- `timm`: timm's `efficientnet_b0`, `tf_efficientnet_b0` and `convnext_tiny` filled under
  timm's names, their `forward_features` in evaluation mode (the Rust tests fill ours through
  the rename maps, `tf_` with `EfficientNetConfig::TF_B0`);
- `tf_same`: convolutions with TensorFlow's "same" padding, computed with an explicit `F.pad`
  (the extra cell of an odd total padding goes at the bottom and right).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from vision_reference import det_input, fill_module, keys_of, summary  # noqa: E402

OUT = os.path.join("crates", "fastcandle-models", "tests", "data", "efficientnet_convnext_reference.json")


def train_grads(features, names, shape):
    # In float64, on 4x3x96x80: through EfficientNet's 49 training-mode BatchNorms, on
    # 2x3x64x48 (8 cells a channel at the end) PyTorch's own float32 gradients were up to
    # 2.3e-4 from its float64 ones; here (36 cells) 2.2e-5, so that a float32 implementation
    # can be held to 1e-4 of the float64 truth.
    features = features.double()
    xt = det_input(shape, 0.031, 0.9, 1.0).double().requires_grad_()
    out = features.train()(xt)
    upt = det_input(list(out.shape), 0.017, 0.2, 1.0).double()
    (out * upt).sum().backward()
    params = dict(features.named_parameters())
    return {
        "x_shape": shape, "x": [0.031, 0.9, 1.0], "up": [0.017, 0.2, 1.0],
        "out": summary(out), "dx": summary(xt.grad),
        "grads": {"features." + k: summary(params[k].grad) for k in names},
    }


def tf_same_pad(x, k, s):
    """TensorFlow's SAME padding for a k x k kernel of stride s, as timm's `pad_same`."""
    h, w = x.shape[-2:]

    def total(n):
        return max((math.ceil(n / s) - 1) * s + k - n, 0)

    ph, pw = total(h), total(w)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def main():
    import timm

    ref = {"torch": torch.__version__, "torchvision": torchvision.__version__,
           "timm": timm.__version__, "keys": {}}
    x = det_input([2, 3, 64, 64])
    ref["input"] = {"shape": [2, 3, 64, 64], "a": 0.05, "b": 0.3, "scale": 1.5}
    grads = {
        "efficientnet_b0": ["0.0.weight", "1.0.block.1.fc1.weight", "2.0.block.1.1.weight",
                            "4.2.block.2.fc2.bias", "6.3.block.3.0.weight", "8.1.bias"],
        "convnext_tiny": ["0.0.weight", "0.1.weight", "1.0.layer_scale", "2.1.weight",
                          "5.8.block.3.weight", "7.2.block.5.bias"],
    }
    for name in ["efficientnet_b0", "convnext_tiny"]:
        m = getattr(torchvision.models, name)(num_classes=10).eval()
        ref["keys"][name] = keys_of(m)
        ref["keys"]["timm_" + name] = keys_of(timm.create_model(name, pretrained=False, num_classes=10))
        fill_module(m)
        with torch.no_grad():
            feats = m.features(x)
            logits = m(x)
        ref[name] = {"body": summary(feats), "logits": logits.flatten().tolist()}
        print(name, "body", list(feats.shape), "abs max", feats.abs().max().item())
        ref["drop_path_" + name] = [
            mod.p for mod in m.modules() if isinstance(mod, torchvision.ops.StochasticDepth)]

        m0 = getattr(torchvision.models, name)(num_classes=10, stochastic_depth_prob=0.0)
        fill_module(m0)
        ref[name + "_train"] = train_grads(m0.features, grads[name], [4, 3, 96, 80])

    # timm's own models, filled under timm's names: what the rename maps must reproduce.
    # `tf_efficientnet_b0` (TensorFlow's BatchNorm eps 1e-3 and "same" padding) has the names of
    # `efficientnet_b0`.
    ref["timm"] = {}
    for name in ["efficientnet_b0", "tf_efficientnet_b0", "convnext_tiny"]:
        m = timm.create_model(name, pretrained=False, num_classes=10).eval()
        if name.startswith("tf_"):
            assert keys_of(m) == ref["keys"]["timm_efficientnet_b0"]
        fill_module(m)
        with torch.no_grad():
            feats = m.forward_features(x)
        ref["timm"][name] = {"body": summary(feats)}
        print("timm", name, "features", list(feats.shape), "abs max", feats.abs().max().item())

    # TensorFlow's "same" padding: sizes whose remainders under the stride differ.
    tf = []
    for (c_in, c_out, k, s, h, w, groups) in [(3, 4, 3, 2, 7, 8, 1), (4, 4, 5, 2, 9, 6, 4),
                                              (3, 5, 3, 1, 5, 6, 1), (2, 3, 1, 2, 5, 5, 1)]:
        conv = torch.nn.Conv2d(c_in, c_out, k, stride=s, groups=groups, bias=False)
        fill_module(conv, lambda key: "tf." + key)
        xi = det_input([2, c_in, h, w], 0.13, 0.4, 1.0).requires_grad_()
        y = conv(tf_same_pad(xi, k, s))
        up = det_input(list(y.shape), 0.07, 0.1, 1.0)
        (y * up).sum().backward()
        tf.append({"c_in": c_in, "c_out": c_out, "k": k, "stride": s, "h": h, "w": w,
                   "groups": groups, "y_shape": list(y.shape), "y": y.detach().flatten().tolist(),
                   "dx": xi.grad.flatten().tolist()})
    ref["tf_same"] = tf

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(ref, f)
    print("wrote", OUT, "with torch", torch.__version__, "torchvision", torchvision.__version__,
          "timm", timm.__version__)


if __name__ == "__main__":
    main()
