#!/usr/bin/env python3
"""Reference values of the Taylor first-order criterion for Tagscope's tests, from torch autograd.

For each default tap a[n,c,h,w] of the ONNX model rebuilt node by node in float64 (`OnnxNet` of
torchscript_export.py, the same weights as the .onnx and .pt files), with L_n the cross-entropy of image n's
label: T_c = mean over images of (sum_{h,w} a[n,c,h,w] * dL_n/da[n,c,h,w])^2 (Molchanov et al., CVPR 2019,
section 3). The gradient with respect to the intermediate tensor comes from `retain_grad()`, not from gates,
so the Java side's gated TorchScript method (DjlGateGradients) is checked against an independent path.

  /usr/bin/python3 tools/taylor_reference.py --onnx models/fmnist-resnet32.onnx \\
      --images models/samples/fashion-mnist-test-images-idx3-ubyte.gz --count 32 \\
      --out models/fmnist-resnet32.taylor-reference.json
"""
import argparse
import gzip
import json
import os

import numpy as np
import torch

from torchscript_export import OnnxNet, read_idx


def read_labels(path, count):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        f.read(8)
        return np.frombuffer(f.read(count), dtype=np.uint8).astype(np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", default="models/fmnist-resnet32.onnx")
    ap.add_argument("--images", default="models/samples/fashion-mnist-test-images-idx3-ubyte.gz")
    ap.add_argument("--count", type=int, default=32)
    ap.add_argument("--out", default="models/fmnist-resnet32.taylor-reference.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    net = OnnxNet(args.onnx).double().eval()
    pre = json.load(open(os.path.splitext(args.onnx)[0] + ".json"))["preprocessing"]
    u8 = read_idx(args.images, args.count)
    labels = read_labels(args.images.replace("images-idx3", "labels-idx1"), len(u8))
    x = torch.from_numpy((u8.astype(np.float64) * pre["scale"] - pre["mean"][0]) / pre["std"][0])
    x.requires_grad_(True)  # the weights require no gradient: without this autograd records nothing
    taps = [n.output[0] for n in net.graph.node if any(n.name == t for t, _ in net.default_taps())]
    values = net.values(x)
    for t in taps:
        values[t].retain_grad()
    loss = torch.nn.functional.cross_entropy(values[net.output], torch.from_numpy(labels), reduction="sum")
    loss.backward()
    layers = []
    for t in taps:
        s = (values[t] * values[t].grad).sum(dim=(2, 3))  # [N, C]: dL_n/dg[n,c] at g = 1
        layers.append({"tensor": t, "taylor": (s ** 2).mean(dim=0).tolist()})
    json.dump({"source": os.path.basename(args.onnx), "images": os.path.basename(args.images), "count": len(u8),
               "loss": "cross-entropy of the label, per image, nats", "dtype": "float64", "torch": torch.__version__,
               "layers": layers}, open(args.out, "w"), indent=1)
    print(json.dumps({"out": args.out, "layers": len(layers), "count": len(u8), "meanLoss": float(loss) / len(u8)}))


if __name__ == "__main__":
    main()
