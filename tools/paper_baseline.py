#!/usr/bin/env python3
"""A paper-style frequency-tagging probe in plain PyTorch, the baseline `tagscope bench --pipeline` compares with.

What a researcher would write after Boege et al., arXiv:2411.10084, sec. 3, without Tagscope: the same ONNX
weights run as PyTorch modules, forward hooks on the tapped layers (the first convolution and every residual
block, Tagscope's default taps), each filter's map reduced to its spatial mean, frames synthesised on the fly
(left/right halves at 6 and 7.5 Hz, c = 0.75, a = 0.25, 120 fps, 240 frames per image, uint8 pixels), and
numpy's rfft per filter and window with the SNR at every fundamental, harmonic and IM bin. No Kafka, no
exactly-once, no dashboard: the cost of the method alone.

Prints one line `paper-style: F frames/s (N frames, T s)` after a warm-up image; the rest of the output is
a summary of the top filters, so a reader can see the script does the whole job.

  /usr/bin/python3 tools/paper_baseline.py --model models/fmnist-resnet32.onnx \
      --images models/samples/fashion-mnist-test-images-idx3-ubyte.gz --count 16
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch

from torchscript_export import OnnxNet  # the ONNX weights as modules, one per node (beside this script)

FPS, W, F1, F2, C_MOD, A_MOD, K, SKIP = 120.0, 240, 6.0, 7.5, 0.75, 0.25, 10, 1


def read_idx(path, count):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        n = min(n, count)
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, 1, rows, cols)


def signal_bins():
    """Fundamentals, harmonics 2..4 and IM terms n*f1 +- m*f2 up to order 4, as bins of the 0.5 Hz grid."""
    width = FPS / W
    bins = set()
    for f in (F1, F2):
        for h in range(1, 5):
            bins.add(round(h * f / width))
    for n in range(1, 4):
        for m in range(1, 4):
            if n + m <= 4:
                for f in (n * F1 + m * F2, abs(n * F1 - m * F2)):
                    if 0 < f < FPS / 2:
                        bins.add(round(f / width))
    return sorted(bins)


def snr(series, bins):
    """[C][W] series -> [C][bins] SNR: amplitude over the mean of K baseline bins each side, skipping SKIP."""
    amp = np.abs(np.fft.rfft(series, axis=1)) * 2 / W
    out = np.empty((series.shape[0], len(bins)))
    for j, b in enumerate(bins):
        base = [b + d for d in range(SKIP + 1, SKIP + 1 + K)] + [b - d for d in range(SKIP + 1, SKIP + 1 + K)]
        base = [i for i in base if 0 < i < amp.shape[1] and i not in bins]
        out[:, j] = amp[:, b] / np.maximum(amp[:, base].mean(axis=1), 1e-12)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sidecar = json.load(open(os.path.splitext(args.model)[0] + ".json")).get("preprocessing", {})
    scale, mean, std = sidecar.get("scale", 1 / 255), sidecar.get("mean", [0.0])[0], sidecar.get("std", [1.0])[0]

    net = OnnxNet(args.model).eval()
    reduced = {}
    for name, module in net.default_taps():
        module.register_forward_hook(lambda mod, inp, out, name=name: reduced.setdefault(name, []).append(out.mean(dim=(2, 3))))
    images = read_idx(args.images, args.count + 1)
    t = np.arange(W) / FPS
    left = C_MOD + A_MOD * np.sin(2 * np.pi * F1 * t)
    right = C_MOD + A_MOD * np.sin(2 * np.pi * F2 * t)
    bins = signal_bins()
    scores = {}

    def probe(image):
        h, w = image.shape[1:]
        mod = np.empty((W, 1, h, w), dtype=np.float32)
        mod[:, :, :, : w // 2] = left[:, None, None, None]
        mod[:, :, :, w // 2:] = right[:, None, None, None]
        frames = np.rint(image[None].astype(np.float32) * mod).clip(0, 255)  # uint8 pixels, as shown
        x = torch.from_numpy(((frames * scale - mean) / std).astype(np.float32))
        reduced.clear()
        with torch.no_grad():
            for s in range(0, W, args.batch):
                net(x[s:s + args.batch])
        for name, parts in reduced.items():
            series = torch.cat(parts).numpy().T.astype(np.float64)  # [C][W]
            scores[name] = scores.get(name, 0) + snr(series, bins).mean(axis=1)

    probe(images[0])  # warm-up
    scores.clear()
    start = time.perf_counter()
    for image in images[1:]:
        probe(image)
    seconds = time.perf_counter() - start
    frames = W * (len(images) - 1)
    print(f"paper-style: {frames / seconds:.1f} frames/s ({frames} frames, {seconds:.2f} s)")
    for name, s in list(scores.items())[:3]:
        print(f"  {name}: top filters by mean SNR {np.argsort(-s)[:5].tolist()}")


if __name__ == "__main__":
    main()
