#!/usr/bin/env python3
"""Export an ONNX image classifier to TorchScript for Tagscope's DJL backend (`--engine djl`).

The ONNX graph is rebuilt as PyTorch modules from its own weights (`OnnxNet`, one module per ONNX node), so the
TorchScript file computes exactly what the ONNX file does, node by node, with no retraining. Its `forward(input)`
returns a tuple of every node output of the ONNX graph, in graph order (the ONNX model's own outputs, such as
`logits`, among them).

A second traced method, `gated(input, gates)`, serves gradients (the Taylor criterion of `tagscope validate`):
`gates` is float32 `[N, G]`; every 4-D float node output `a` (`[N, C, H, W]`) is multiplied by its slice
`gates[:, offset:offset + C]` reshaped `[N, C, 1, 1]` before any node reads it, and the method returns the graph's
first output (the logits). With all gates 1 it computes what `forward` does; the gradient of a per-image loss with
respect to `gates[n, offset + c]` at 1 is `sum_{h,w} a[n,c,h,w] * dL_n/da[n,c,h,w]` (Molchanov et al., CVPR 2019,
section 3), which DJL can read although it cannot read the gradients of intermediate tensors.

Two extra files ride inside the TorchScript archive (`torch.jit.save(_extra_files=...)`, stored as
`<archive>/extra/<name>`):

  tagscope.json       {"format": 1, "outputs": [ONNX tensor name of forward()'s output i, ...],
                       "gates": [{"tensor": name, "offset": o, "channels": C}, ...], "gatedOutput": "logits",
                       "source": "<file>.onnx", "sourceSha256": "...", "torch": "<version>"}
  tagscope-graph.onnx the ONNX graph without its weights (initializers keep name, type and dims, no data):
                      the Java side reads layer labels, default taps and the input shape from it with the same
                      code as for an .onnx file, so both backends tap the same layers under the same names.

Before saving, the traced module is checked against the node-by-node module on real images (exactly equal up to
float rounding) and, when `--reference` is given (models/<name>.reference.json, PyTorch forward hooks of the
original training module), its default taps against those values (spatial mean and max, within 1e-4).

  /usr/bin/python3 tools/torchscript_export.py --onnx models/fmnist-resnet32.onnx \\
      --images models/samples/fashion-mnist-test-images-idx3-ubyte.gz \\
      --reference models/fmnist-resnet32.reference.json          # writes models/fmnist-resnet32.pt

The ops supported are those of the bundled ResNet and common CNNs: Conv, Relu, Add, Mul, Sigmoid, Clip,
BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm; another op stops the export with its
name.
"""
import argparse
import gzip
import hashlib
import json
import os
import struct

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


class Node(torch.nn.Module):
    """One ONNX node as a module, so that a forward hook can be put on the layer that produces a tap."""

    def __init__(self, node, weights):
        super().__init__()
        self.op = node.op_type
        self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        self.params = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.from_numpy(weights[i].copy()), requires_grad=False) for i in node.input if i in weights])
        if self.op not in Node.OPS:
            raise ValueError(f"ONNX op {self.op} (node {node.name}) is not supported by this export; supported: "
                             + ", ".join(sorted(Node.OPS)))

    OPS = {"Conv", "Relu", "Add", "Mul", "Sigmoid", "Clip", "BatchNormalization", "MaxPool", "AveragePool",
           "GlobalAveragePool", "Flatten", "Gemm"}

    def forward(self, *xs):
        p = list(self.params)
        a = self.attrs
        if self.op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3]:
                raise ValueError("asymmetric Conv padding is not supported")
            return F.conv2d(xs[0], p[0], p[1] if len(p) > 1 else None, stride=a.get("strides", [1, 1]),
                            padding=(pads[0], pads[1]), dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        if self.op == "Relu":
            return F.relu(xs[0])
        if self.op == "Add":
            return (xs[0] if xs else p[0]) + (xs[1] if len(xs) > 1 else p[-1])
        if self.op == "Mul":
            return (xs[0] if xs else p[0]) * (xs[1] if len(xs) > 1 else p[-1])
        if self.op == "Sigmoid":
            return torch.sigmoid(xs[0])
        if self.op == "Clip":  # opset >= 11: min and max are inputs (weights here)
            lo = p[0].item() if len(p) > 0 else a.get("min", float("-inf"))
            hi = p[1].item() if len(p) > 1 else a.get("max", float("inf"))
            return torch.clamp(xs[0], lo, hi)
        if self.op == "BatchNormalization":
            return F.batch_norm(xs[0], p[2], p[3], p[0], p[1], False, 0.0, a.get("epsilon", 1e-5))
        if self.op in ("MaxPool", "AveragePool"):
            pads = a.get("pads", [0, 0, 0, 0])
            k, s = a["kernel_shape"], a.get("strides", [1, 1])
            if self.op == "MaxPool":
                return F.max_pool2d(xs[0], k, s, (pads[0], pads[1]), ceil_mode=bool(a.get("ceil_mode", 0)))
            return F.avg_pool2d(xs[0], k, s, (pads[0], pads[1]), ceil_mode=bool(a.get("ceil_mode", 0)),
                                count_include_pad=bool(a.get("count_include_pad", 0)))
        if self.op == "GlobalAveragePool":
            return F.adaptive_avg_pool2d(xs[0], 1)
        if self.op == "Flatten":
            return torch.flatten(xs[0], a.get("axis", 1))
        if self.op == "Gemm":
            b = a.get("transB", 0)
            return F.linear(xs[0] * a.get("alpha", 1.0), p[0] if b else p[0].t(),
                            p[1] * a.get("beta", 1.0) if len(p) > 1 else None)
        raise ValueError("unsupported op " + self.op)


class OnnxNet(torch.nn.Module):
    """The ONNX graph as a sequence of Node modules; forward returns the graph's first output."""

    def __init__(self, path):
        super().__init__()
        model = onnx.load(path)
        self.weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.graph = model.graph
        self.nodes = torch.nn.ModuleList([Node(n, self.weights) for n in model.graph.node])
        self.input = [i.name for i in model.graph.input if i.name not in self.weights][0]
        self.output = model.graph.output[0].name

    def values(self, x, gates=None, layout=()):
        """Every node output, by ONNX tensor name; with gates [N, G], each tensor of layout (name, offset, C) is
        multiplied by gates[:, offset:offset + C] as [N, C, 1, 1] before any node reads it."""
        values = {self.input: x}
        slices = {name: (off, c) for name, off, c in layout}
        for n, m in zip(self.graph.node, self.nodes):
            out = m(*[values[i] for i in n.input if i not in self.weights])
            if gates is not None and n.output[0] in slices:
                off, c = slices[n.output[0]]
                out = out * gates[:, off:off + c].reshape(-1, c, 1, 1)
            values[n.output[0]] = out
        return values

    def forward(self, x):
        return self.values(x)[self.output]

    def default_taps(self):
        """Tagscope's default taps of a ResNet: the first Conv's output, and each Relu right after an Add."""
        producers = {n.output[0]: n for n in self.graph.node}
        taps = []
        for n, m in zip(self.graph.node, self.nodes):
            if n.op_type == "Conv" and not taps:
                taps.append((n.name, m))
            elif n.op_type == "Relu" and producers.get(n.input[0]) is not None and producers[n.input[0]].op_type == "Add":
                taps.append((n.name, m))
        return taps


class AllOutputs(torch.nn.Module):
    """forward(input) -> a tuple of every node output of the ONNX graph, in graph order; gated(input, gates) -> the
    graph's first output with every tensor of the gate layout multiplied by its gates (see the module doc)."""

    def __init__(self, net, layout=()):
        super().__init__()
        self.net = net
        self.names = [n.output[0] for n in net.graph.node]
        self.layout = list(layout)
        self.gate_count = sum(c for _, _, c in self.layout)

    def forward(self, x):
        values = self.net.values(x)
        return tuple(values[n] for n in self.names)

    def gated(self, x, gates):
        return self.net.values(x, gates, self.layout)[self.net.output]


def gate_layout(net, x):
    """(tensor name, offset, channels) of every 4-D float node output, in graph order: the gated method's gates."""
    with torch.no_grad():
        values = net.values(x)
    layout, off = [], 0
    for n in net.graph.node:
        v = values[n.output[0]]
        if v.dim() == 4 and v.dtype == torch.float32:
            layout.append((n.output[0], off, int(v.shape[1])))
            off += int(v.shape[1])
    return layout


def read_idx(path, count):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        n = min(n, count)
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, 1, rows, cols)


def weightless_graph(path):
    """The ONNX model with every initializer's data removed (name, type and dims kept), serialised."""
    model = onnx.load(path)
    for t in model.graph.initializer:
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
            t.ClearField(field)
    return model.SerializeToString()


def export(onnx_path, out_path, images=None, reference=None, threads=2):
    """Exports onnx_path to out_path (see the module doc); returns a dict of the checks' figures."""
    torch.set_num_threads(threads)
    net = OnnxNet(onnx_path).eval()
    sidecar_path = os.path.splitext(onnx_path)[0] + ".json"
    pre = json.load(open(sidecar_path)).get("preprocessing", {}) if os.path.exists(sidecar_path) else {}
    scale, mean, std = pre.get("scale", 1 / 255), pre.get("mean", [0.0])[0], pre.get("std", [1.0])[0]
    if images:
        u8 = read_idx(images, 8)
    else:
        u8 = np.random.default_rng(0).integers(0, 256, size=(8, 1, 28, 28), dtype=np.uint8)
    x = torch.from_numpy(((u8.astype(np.float32) * scale - mean) / std).astype(np.float32))
    wrapped = AllOutputs(net, gate_layout(net, x[:1])).eval()
    g = wrapped.gate_count
    with torch.no_grad():
        traced = torch.jit.trace_module(wrapped, {"forward": x[:2], "gated": (x[:2], torch.ones(2, g))})
        want = wrapped(x)
        got = traced(x)
        # Gates at random values, so that every slice is exercised; at 1 the gated logits are forward's.
        gates = torch.rand(len(x), g, generator=torch.Generator().manual_seed(0))
        gated_diff = float((traced.gated(x, gates) - wrapped.gated(x, gates)).abs().max())
        ones_diff = float((traced.gated(x, torch.ones(len(x), g)) - net(x)).abs().max())
    checks = {"outputs": len(wrapped.names), "gates": g,
              "tracedVsModules": max(float((a - b).abs().max()) for a, b in zip(want, got)),
              "gatedTracedVsModules": gated_diff, "gatedOnesVsForward": ones_diff}
    for k in ("tracedVsModules", "gatedTracedVsModules", "gatedOnesVsForward"):
        if checks[k] > 1e-5:
            raise SystemExit(f"{k}: the traced module differs from the node-by-node module by {checks[k]}")
    if reference:
        ref = json.load(open(reference))
        n = len(ref["imageIndices"])
        refx = torch.from_numpy(((read_idx(images, n).astype(np.float32) * scale - mean) / std).astype(np.float32))
        with torch.no_grad():
            out = dict(zip(wrapped.names, traced(refx)))
        taps = [n.output[0] for n in net.graph.node if any(n.name == t for t, _ in net.default_taps())]
        worst = 0.0
        for layer, tensor in zip(ref["layers"], taps):
            worst = max(worst, float((out[tensor].mean(dim=(2, 3)) - torch.tensor(layer["mean"])).abs().max()),
                        float((out[tensor].amax(dim=(2, 3)) - torch.tensor(layer["max"])).abs().max()))
        checks["defaultTapsVsReference"] = worst
        if worst > 1e-4:
            raise SystemExit(f"default taps differ from {reference} by {worst} (more than 1e-4)")
    meta = {"format": 1, "outputs": wrapped.names,
            "gates": [{"tensor": t, "offset": o, "channels": c} for t, o, c in wrapped.layout],
            "gatedOutput": net.output, "source": os.path.basename(onnx_path),
            "sourceSha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(), "torch": torch.__version__}
    torch.jit.save(traced, out_path, _extra_files={"tagscope.json": json.dumps(meta),
                                                   "tagscope-graph.onnx": weightless_graph(onnx_path)})
    # Read back as the Java side will: the archive loads and carries both extra files.
    files = {"tagscope.json": "", "tagscope-graph.onnx": ""}
    loaded = torch.jit.load(out_path, _extra_files=files)
    with torch.no_grad():
        again = loaded(x)
    checks["reloadedVsModules"] = max(float((a - b).abs().max()) for a, b in zip(want, again))
    checks["bytes"] = os.path.getsize(out_path)
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", default="models/fmnist-resnet32.onnx")
    ap.add_argument("--out", help="default: the --onnx path with .pt")
    ap.add_argument("--images", help="IDX images (optionally gzip) to check the export on; default random pixels")
    ap.add_argument("--reference", help="<model>.reference.json: PyTorch hook values of the default taps to check")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    out = args.out or os.path.splitext(args.onnx)[0] + ".pt"
    print(json.dumps({"out": out, **export(args.onnx, out, args.images, args.reference, args.threads)}))


if __name__ == "__main__":
    main()
