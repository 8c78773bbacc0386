#!/usr/bin/env python3
"""Train the bundled default model and export it to ONNX and TorchScript.

A CIFAR-style ResNet-32 (He et al., "Deep Residual Learning for Image Recognition",
CVPR 2016, section 4.2: 3 stages of 5 basic blocks, 16/32/64 channels, the layout
the SSVEP paper arXiv:2411.10084 uses) adapted to 1x28x28 Fashion-MNIST input.

Writes, next to --out (default models/fmnist-resnet32.onnx):
  <name>.onnx               opset 13, input "input" [N,1,28,28] float32, output "logits" [N,10]
  <name>.reference.json     per tapped layer, the spatial mean and max of every channel
                            for the first test images (PyTorch forward hooks), so the Java
                            tests can check ONNX layer tapping against PyTorch
  <name>.training.json      seed, epochs, wall time, test accuracy, parameter count
  <name>.pt                 the ONNX file's weights as TorchScript, for the DJL backend (--engine djl;
                            tools/torchscript_export.py, which also exports an existing .onnx alone)
and a small sample of real test images (IDX, gzip) under models/samples/.

Run with Debian's python3-torch, which is not the first python3 on PATH here:
  /usr/bin/python3 tools/train_resnet32.py --epochs 8
"""
import argparse, gzip, json, os, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel mean/std on the [0,1] scale
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx_gz(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + array.tobytes())


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:  # option B: 1x1 projection where the shape changes
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet32(nn.Module):
    def __init__(self, blocks_per_stage=5, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            stage = []
            for b in range(blocks_per_stage):
                stage.append(BasicBlock(cin, cout, stride if b == 0 else 1))
                cin = cout
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


def tapped_modules(model):
    """The layers Tagscope taps by default, in graph order: the first convolution (its
    BatchNorm, which the ONNX export folds into the Conv) and every residual block's output."""
    taps = [("conv1", model.bn1)]
    for stage_name in ["layer1", "layer2", "layer3"]:
        for i, block in enumerate(getattr(model, stage_name)):
            taps.append((f"{stage_name}.{i}", block))
    return taps


def to_tensor(images_u8):
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD


def augment(x):
    """Random horizontal flip and random 28x28 crop of a 2-pixel zero-padded image."""
    flip = torch.rand(x.shape[0]) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (2, 2, 2, 2), value=-MEAN / STD)
    dx, dy = np.random.randint(0, 5, size=2)
    return padded[:, :, dy:dy + 28, dx:dx + 28]


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-batches", type=int, default=0, help="stop each epoch after this many batches (smoke runs)")
    ap.add_argument("--out", default="models/fmnist-resnet32.onnx")
    ap.add_argument("--samples", type=int, default=512, help="test images bundled under models/samples/")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    xtr_u8 = read_idx(f"{DATA}/train-images-idx3-ubyte.gz")
    ytr = torch.from_numpy(read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xte_u8 = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz")
    yte_np = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz")
    yte = torch.from_numpy(yte_np.astype(np.int64))
    xtr, xte = to_tensor(xtr_u8), to_tensor(xte_u8)

    model = ResNet32()
    params = sum(p.numel() for p in model.parameters())
    steps_per_epoch = (len(xtr) + args.batch - 1) // args.batch
    if args.limit_batches:
        steps_per_epoch = min(steps_per_epoch, args.limit_batches)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    started = time.time()
    history = []
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        t0, seen, loss_sum = time.time(), 0, 0.0
        for step in range(steps_per_epoch):
            idx = perm[step * args.batch:(step + 1) * args.batch]
            xb, yb = augment(xtr[idx]), ytr[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            if step % 100 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps_per_epoch} loss {loss.item():.4f} "
                      f"{seen / (time.time() - t0):.0f} img/s", flush=True)
        acc = evaluate(model, xte, yte)
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "test_accuracy": acc,
                        "seconds": time.time() - t0})
        print(f"epoch {epoch + 1}: train loss {loss_sum / seen:.4f}, test accuracy {acc:.4f}, "
              f"{time.time() - t0:.0f} s", flush=True)
    wall = time.time() - started
    model.eval()
    test_acc = evaluate(model, xte, yte)

    out = args.out
    base = out[:-len(".onnx")] if out.endswith(".onnx") else out
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)

    # Reference activations through PyTorch forward hooks, for the Java tapping test.
    n_ref = 4
    captured = {}
    hooks = [m.register_forward_hook(lambda mod, inp, outp, name=name: captured.__setitem__(name, outp.detach()))
             for name, m in tapped_modules(model)]
    with torch.no_grad():
        logits = model(xte[:n_ref])
    for h in hooks:
        h.remove()
    reference = {
        "description": "PyTorch forward-hook values for the first test images: per tapped layer, "
                       "per image, per channel, the spatial mean and max of the [C,H,W] map",
        "imageIndices": list(range(n_ref)),
        "preprocessing": {"scale": 1 / 255.0, "mean": [MEAN], "std": [STD]},
        "layers": [{"module": name,
                    "shape": list(captured[name].shape[1:]),
                    "mean": captured[name].mean(dim=(2, 3)).tolist(),
                    "max": captured[name].amax(dim=(2, 3)).tolist()} for name, _ in tapped_modules(model)],
        "logits": logits.tolist(),
    }
    with open(base + ".reference.json", "w") as f:
        json.dump(reference, f)

    samples_dir = os.path.join(os.path.dirname(out) or ".", "samples")
    os.makedirs(samples_dir, exist_ok=True)
    write_idx_gz(os.path.join(samples_dir, "fashion-mnist-test-images-idx3-ubyte.gz"), xte_u8[:args.samples])
    write_idx_gz(os.path.join(samples_dir, "fashion-mnist-test-labels-idx1-ubyte.gz"), yte_np[:args.samples])

    # The same weights as TorchScript for the DJL backend (--engine djl), built from the ONNX file just written so
    # that both files compute the same tensors under the same ONNX names (tools/torchscript_export.py).
    from torchscript_export import export as export_torchscript
    print("TorchScript:", json.dumps(export_torchscript(
        out, base + ".pt", os.path.join(samples_dir, "fashion-mnist-test-images-idx3-ubyte.gz"),
        base + ".reference.json", args.threads)))

    record = {"architecture": "ResNet-32 (CIFAR layout, 3x5 basic blocks, 16/32/64 channels, 1x1 projection shortcuts)",
              "parameters": params, "seed": args.seed, "epochs": args.epochs, "batch": args.batch,
              "peak_lr": args.lr, "threads": args.threads, "wall_seconds": round(wall, 1),
              "test_accuracy": test_acc, "test_images": len(xte), "torch": torch.__version__,
              "opset": 13, "classes": CLASSES, "history": history,
              "command": "/usr/bin/python3 tools/train_resnet32.py " + " ".join(
                  f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())}
    with open(base + ".training.json", "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps({k: v for k, v in record.items() if k != "history"}, indent=2))


if __name__ == "__main__":
    main()
