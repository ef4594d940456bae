#!/usr/bin/python3
"""
bench/onnx_bench.c's cases with torch: one thread, model.eval(),
torch.no_grad(), model(x), as a Python service would call it.

    /usr/bin/python3 bench/onnx_torch.py DIR [X.f32 Y.f32]

DIR is t/models/gen_onnx.py --bench's directory.  The models are built
from gen_onnx.py's own definitions, seeded as its export seeds them, so
they have the weights of DIR's .onnx files; DIR/bench_resnet18.ref.json
(torch's output at export) confirms that before anything is timed.

The inputs are onnx_bench's, bit for bit (bench_input()).  Times are the
process's CPU time: after a warm-up that sizes a chunk of calls to about
10 ms, each of 7 rounds runs chunks for at least 0.25 s; a figure is the
median of the rounds' times per call, with the fastest and the slowest.

With X.f32 and Y.f32 it writes ResNet-18's bench input and torch's output
for it there, for onnx_bench to check the module against.
"""

import json
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "t", "models"))
import gen_onnx  # noqa: E402

ROUNDS = 7
ROUND_SECONDS = 0.25
CHUNK_SECONDS = 0.01
WARMUP_SECONDS = 0.2
BATCH = 1000


def bench_input(n):
    """onnx_bench.c's bench_input(): x[i] from a hash of i, in [-1, 1)."""
    with np.errstate(over="ignore"):
        h = np.arange(n, dtype=np.uint32) * np.uint32(0x9E3779B9) \
            + np.uint32(0x7F4A7C15)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return (h >> np.uint32(8)).astype(np.float32) / np.float32(8388608) \
        - np.float32(1)


def build(make):
    """A model as gen_onnx.export() makes it: the same seeds, the same
    BatchNormalization statistics, so the same weights."""
    torch.manual_seed(gen_onnx.SEED)
    gen = torch.Generator().manual_seed(gen_onnx.SEED + 1)
    model = make()
    gen_onnx.randomize_bn(model, gen)
    return model.eval()


def models():
    import torchvision
    return {
        "mlp": build(lambda: gen_onnx.MLP([30, 64, 64, 1], nn.ReLU)),
        "lenet": build(gen_onnx.LeNet),
        "resnet18": build(lambda: torchvision.models.resnet18()),
    }


def same_weights(model, ref_path):
    """torch's output at export, from this model: the weights are the
    .onnx file's (the module is checked against this model)."""
    with open(ref_path) as f:
        ref = json.load(f)
    x = torch.tensor(np.array(ref["rows"], dtype=np.float32))
    want = np.array(ref["outputs"][0]["rows"], dtype=np.float32)
    with torch.no_grad():
        got = model(x).numpy()
    d = np.abs(got - want)
    if got.shape != want.shape or not np.all(d <= 1e-6 + 1e-5 * abs(want)):
        sys.exit("onnx_torch: the model does not reproduce %s (max |diff| "
                 "%.3g): gen_onnx.py changed?" % (ref_path, d.max()))


def macs(model, x):
    """Multiply-adds of the convolutions and linear layers, per row."""
    count = [0]

    def conv(m, inp, out):
        count[0] += out.numel() * (m.in_channels // m.groups) \
            * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        count[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return count[0] // x.shape[0]


def measure(run):
    """Seconds per call of run(): median, fastest and slowest round."""
    n = 1
    start = time.process_time()
    while True:
        t0 = time.process_time()
        for _ in range(n):
            run()
        t = time.process_time()
        if t - t0 < CHUNK_SECONDS:
            n *= 2
        elif t - start >= WARMUP_SECONDS:
            break

    per = []
    for _ in range(ROUNDS):
        calls = 0
        t0 = time.process_time()
        while True:
            for _ in range(n):
                run()
            calls += n
            t = time.process_time() - t0
            if t >= ROUND_SECONDS:
                break
        per.append(t / calls)
    per.sort()
    return per[ROUNDS // 2], per[0], per[-1]


def show(name, batch, fig):
    us = [v / batch * 1e6 for v in fig]
    prec = 4 if us[0] < 10 else 2 if us[0] < 1000 else 1
    print("%s: %.*f us%s (%.*f-%.*f)"
          % (name, prec, us[0], " per row" if batch > 1 else "",
             prec, us[1], prec, us[2]), flush=True)


def blas():
    """The BLAS torch's GEMMs call: BLAS_INFO names only the interface
    ("generic": libblas.so.3), the library is what the loader mapped."""
    info = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", info)
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if re.search(r"/lib(open)?blas[^/]*\.so", p):
                libs.add(os.path.realpath(p))
    names = []
    for p in sorted(libs):
        if "openblas" in p:
            names.append("OpenBLAS (%s)" % p)
        elif "/blas/" in p:
            names.append("the reference BLAS, netlib (%s)" % p)
        else:
            names.append(p)
    return "BLAS_INFO=%s, %s" % (m.group(1) if m else "?",
                                 ", ".join(names) or "no libblas mapped")


def main(argv):
    if len(argv) not in (2, 4):
        print(__doc__)
        return 2

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    config = torch.__config__.show()
    dnnl = re.search(r"MKL-DNN v([\d.]+)", config)
    if dnnl and torch.backends.mkldnn.is_available():
        dnnl = "v" + dnnl.group(1)
    else:
        dnnl = "off"
    isa = re.search(r"CPU capability usage: (\S+)", config)
    print("torch %s, %d thread, MKL-DNN (oneDNN) %s, ATen kernels %s, %s; "
          "process CPU time, median of %d rounds of >= %.2f s "
          "(fastest-slowest)"
          % (torch.__version__, torch.get_num_threads(), dnnl,
             isa.group(1) if isa else "?", blas(), ROUNDS, ROUND_SECONDS),
          flush=True)

    ms = models()
    same_weights(ms["resnet18"],
                 os.path.join(argv[1], "bench_resnet18.ref.json"))

    cases = (("mlp_row", "mlp", [30], 1),
             ("mlp_batch1000", "mlp", [30], BATCH),
             ("lenet", "lenet", [1, 28, 28], 1),
             ("resnet18", "resnet18", [3, 224, 224], 1))

    if len(argv) == 4:
        x = bench_input(3 * 224 * 224)
        with torch.no_grad():
            y = ms["resnet18"](torch.from_numpy(x).reshape(1, 3, 224, 224))
        x.tofile(argv[2])
        y.numpy().astype(np.float32).tofile(argv[3])

    with torch.no_grad():
        for name, key, shape, batch in cases:
            model = ms[key]
            n = batch * int(np.prod(shape))
            x = torch.from_numpy(bench_input(n)).reshape(batch, *shape)

            fig = measure(lambda: model(x))
            show(name, batch, fig)

            if name in ("lenet", "resnet18"):
                k = macs(model, x)
                print("%s macs: %d" % (name, k))
                print("%s flops: %.2f GFLOP/s" % (name, 2 * k / fig[0] / 1e9),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
