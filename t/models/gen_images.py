#!/usr/bin/python3
"""
The image example: a small CNN that names the shape in a synthetic
picture (circle, square, triangle, star, cross, ring, crescent, heart),
the pictures of t/images/ it is tested on, and torch's answers for them.

    /usr/bin/python3 t/models/gen_images.py          # conf/models, t/images
    /usr/bin/python3 t/models/gen_images.py --out DIR  # all of it in DIR
    /usr/bin/python3 t/models/gen_images.py --refs-only [--out DIR]
    /usr/bin/python3 t/models/gen_images.py --check  # refs still torch's?
    /usr/bin/python3 t/models/gen_images.py --parity-models DIR

Without --refs-only it makes everything from nothing: pictures drawn with
PIL from a seed, the network trained on them (seeded, deterministic
algorithms, one thread, about 30 s of CPU), exported to ONNX with its
BatchNormalizations folded into the convolutions (Conv, Relu, MaxPool,
GlobalAveragePool, Flatten, Gemm), the labels, the sample pictures and
their references:

    OUT/shapes-cnn.onnx    input "image" [N,3,64,64], output "logits" [N,8]
    OUT/shapes.labels      the class names, one a line, in output order
    OUT/shapes.ref.json    torch's answers for the samples
    IMAGES/*.jpg, *.png    the samples (--images, default t/images, or
                           OUT/images with --out)

The preprocessing is torchvision's, on what PIL decodes:

    Image.open(f).convert("RGB") -> Resize(72) -> CenterCrop(64)
    -> ToTensor() -> Normalize(ImageNet's mean, std)

Training may come out differently on another CPU (oneDNN picks its
kernels by the instruction set), so the committed ONNX file is the source
of truth: --refs-only rebuilds the torch network from the ONNX file's own
initializers and recomputes OUT/shapes.ref.json from it and the committed
samples, which any machine reproduces; --check does that and compares
with the committed file (numbers within 1e-5 relative: another CPU's
kernels may round differently; the rest exactly).  A full run computes
its references the same way, from the file it has just written.

--parity-models DIR writes DIR/identity.onnx (input "x" [N,3,32,32],
Flatten, output "y" [N,3072]: the module's preprocessed tensor comes back
as the prediction) and DIR/identity.ref.json, torchvision's tensors of the
samples under a few preprocessings.
"""

import argparse
import io
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw

import PIL
import torchvision
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from gen_onnx import text  # noqa: E402

SEED = 20261204
CLASSES = ["circle", "square", "triangle", "star", "cross", "ring",
           "crescent", "heart"]
RESIZE = 72
CROP = 64
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
WIDTHS = (8, 16, 32, 64)         # the convolutions' channels
TRAIN = 6000
TEST = 1200
EPOCHS = 6
BATCH = 50
SUPERSAMPLE = 2                  # the shapes' edges drawn at 2x, then BOX

MODEL = "shapes-cnn.onnx"
LABELS = "shapes.labels"
REFS = "shapes.ref.json"

# name, class, size, how it is stored, background, seed: the samples of
# t/images/.  Each stands for a path through the decoders or the resampler
# (Resize(72) then CenterCrop(64): the sizes give the cases noted)
SAMPLES = [
    # RGB baseline JPEG, 4:2:0: shrunk to 113x72 (long side truncated
    # from 113.4), crop left (113-64)/2 = 24.5 rounded to even: 24
    ("star_315x200.jpg", "star", (315, 200), "jpeg", "gradient"),
    # RGB PNG: enlarged to 72x72 (bilinear without antialiasing)
    ("circle_64x64.png", "circle", (64, 64), "png", "solid"),
    # palette PNG (P, 32 colours): shrunk to 96x72
    ("triangle_palette.png", "triangle", (160, 120), "png_palette",
     "gradient"),
    # grayscale progressive JPEG: 72x97, crop top 16.5 rounded to 16
    ("cross_gray.jpg", "cross", (177, 240), "jpeg_gray", "noise"),
    # RGBA PNG, transparent corners: the alpha is dropped, not composited
    ("ring_rgba.png", "ring", (120, 160), "png_rgba", "solid"),
    # RGB JPEG, 4:4:4, quality 95: shrunk to 72x72
    ("heart_444.jpg", "heart", (200, 200), "jpeg_444", "gradient"),
    # a tiny JPEG enlarged from 40x30 to 96x72
    ("crescent_40x30.jpg", "crescent", (40, 30), "jpeg", "solid"),
    # 16-bit RGB PNG: PIL 9.4 keeps each sample's high byte (v >> 8)
    ("square_rgb16.png", "square", (96, 80), "png_rgb16", "gradient"),
]


def preprocess(resize=RESIZE, crop=CROP, mean=MEAN, std=STD):
    """torchvision's pipeline after Image.open(f).convert("RGB");
    resize 0: straight to crop x crop, no CenterCrop."""
    size = resize if resize else (crop, crop)
    return T.Compose([T.Resize(size), T.CenterCrop(crop), T.ToTensor(),
                      T.Normalize(mean, std)])


# drawing

def luma(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def background(rng, w, h, kind):
    """float RGB h x w x 3: one colour, or a linear gradient of two."""
    c0 = rng.integers(0, 256, 3).astype(np.float32)
    if kind == "solid":
        return np.broadcast_to(c0, (h, w, 3)).copy(), c0
    c1 = rng.integers(0, 256, 3).astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = x * math.cos(a) + y * math.sin(a)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    return img, (c0 + c1) / 2


def outline(cls, rng, r):
    """The shape as polygons and discs around (0, 0), radius about r:
    a list of ("poly", points, fill) and ("disc", x, y, radius, fill)."""
    # a heart stays about upright; the rest turn any way
    rot = rng.uniform(-0.45, 0.45) if cls == "heart" \
        else rng.uniform(0, 2 * math.pi)
    c, s = math.cos(rot), math.sin(rot)

    def turn(pts):
        return [(x * c - y * s, x * s + y * c) for x, y in pts]

    def regular(k, rad, start):
        return [(rad * math.cos(start + 2 * math.pi * i / k),
                 rad * math.sin(start + 2 * math.pi * i / k))
                for i in range(k)]

    if cls == "circle":
        return [("disc", 0, 0, r, 255)]
    if cls == "square":
        return [("poly", turn(regular(4, r * 0.95, math.pi / 4)), 255)]
    if cls == "triangle":
        return [("poly", turn(regular(3, r, -math.pi / 2)), 255)]
    if cls == "star":
        inner = r * rng.uniform(0.38, 0.5)
        pts = [((r if i % 2 == 0 else inner) * math.cos(math.pi * i / 5),
                (r if i % 2 == 0 else inner) * math.sin(math.pi * i / 5))
               for i in range(10)]
        return [("poly", turn(pts), 255)]
    if cls == "cross":
        t = r * rng.uniform(0.24, 0.36)
        pts = [(t, -r), (t, -t), (r, -t), (r, t), (t, t), (t, r), (-t, r),
               (-t, t), (-r, t), (-r, -t), (-t, -t), (-t, -r)]
        return [("poly", turn(pts), 255)]
    if cls == "ring":
        return [("disc", 0, 0, r, 255),
                ("disc", 0, 0, r * rng.uniform(0.45, 0.68), 0)]
    if cls == "crescent":
        d = r * rng.uniform(0.35, 0.55)
        return [("disc", 0, 0, r, 255),
                ("disc", d * c, d * s, r * rng.uniform(0.8, 0.95), 0)]
    if cls == "heart":
        pts = []
        for i in range(48):
            u = 2 * math.pi * i / 48
            x = 16 * math.sin(u) ** 3
            y = -(13 * math.cos(u) - 5 * math.cos(2 * u)
                  - 2 * math.cos(3 * u) - math.cos(4 * u)) - 2.5
            pts.append((x * r / 16, y * r / 16))
        return [("poly", turn(pts), 255)]
    raise ValueError(cls)


def draw(rng, cls, w, h, bg_kind=None, r_frac=None):
    """A w x h RGB picture of cls, the shape inside what Resize(72) +
    CenterCrop(64) keep of it."""
    if bg_kind is None:
        bg_kind = ("solid", "gradient", "noise")[rng.integers(3)]
    img, bg_mean = background(rng, w, h, bg_kind)

    for _ in range(100):
        fg = rng.integers(0, 256, 3).astype(np.float32)
        if abs(luma(fg) - luma(bg_mean)) > 50:
            break
    else:
        fg = np.float32([255, 255, 255]) if luma(bg_mean) < 128 \
            else np.float32([0, 0, 0])

    side = min(w, h) * CROP / RESIZE            # the crop, in the picture
    r = side * (r_frac if r_frac else rng.uniform(0.17, 0.40))
    room = max(side / 2 - r - 1, 0)
    cx = w / 2 + rng.uniform(-room, room) * 0.9
    cy = h / 2 + rng.uniform(-room, room) * 0.9

    k = SUPERSAMPLE
    mask = Image.new("L", (w * k, h * k), 0)
    d = ImageDraw.Draw(mask)
    for item in outline(cls, rng, r):
        if item[0] == "poly":
            d.polygon([((cx + x) * k, (cy + y) * k) for x, y in item[1]],
                      fill=item[2])
        else:
            _, x, y, rr, fill = item
            x, y = (cx + x) * k, (cy + y) * k
            d.ellipse([x - rr * k, y - rr * k, x + rr * k, y + rr * k],
                      fill=fill)
    m = np.asarray(mask.resize((w, h), Image.BOX), np.float32)[..., None]
    m /= 255

    img = img * (1 - m) + fg * m
    if bg_kind == "noise":
        img += rng.standard_normal(img.shape, np.float32) \
            * np.float32(rng.uniform(4, 16))
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))


def training_picture(rng, cls):
    """Any size from 48 to about 300 pixels a side, any aspect to 1.7,
    a tenth of them grey, a third through JPEG."""
    short = int(rng.integers(48, 181))
    long_ = int(short * rng.uniform(1, 1.7))
    w, h = (long_, short) if rng.random() < 0.5 else (short, long_)
    img = draw(rng, cls, w, h)
    if rng.random() < 0.1:
        img = img.convert("L")
    if rng.random() < 0.35:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(50, 96)),
                 subsampling=int(rng.choice([0, 2])))
        img = Image.open(io.BytesIO(buf.getvalue()))
    return img.convert("RGB")


def dataset(rng, n, prep):
    x = torch.empty(n, 3, CROP, CROP)
    y = torch.empty(n, dtype=torch.long)
    for i in range(n):
        y[i] = i % len(CLASSES)
        x[i] = prep(training_picture(rng, CLASSES[y[i]]))
    return x, y


# the network

class ShapesCNN(nn.Module):
    """Four 3x3 convolutions (ReLU; 2x2 max pooling after the first three:
    64, 32, 16, 8), global average pooling, one linear layer.  With bn,
    each convolution is followed by a BatchNormalization (training);
    without, the convolutions have biases (what is exported)."""

    def __init__(self, bn):
        super().__init__()
        layers, cin = [], 3
        for i, cout in enumerate(WIDTHS):
            layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=not bn))
            if bn:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.ReLU())
            if i < len(WIDTHS) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, len(CLASSES))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.fc(torch.flatten(x, 1))

    def convs(self):
        return [m for m in self.features if isinstance(m, nn.Conv2d)]


def fold(model):
    """The same function without BatchNormalization: each one folded into
    the convolution before it."""
    plain = ShapesCNN(bn=False)
    bns = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for conv, bn, out in zip(model.convs(), bns, plain.convs()):
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            out.weight.copy_(conv.weight * scale[:, None, None, None])
            out.bias.copy_(bn.bias - bn.running_mean * scale)
        plain.fc.load_state_dict(model.fc.state_dict())
    return plain.eval()


def logits(model, x):
    """In batches: a whole set at once would take gigabytes."""
    with torch.no_grad():
        return torch.cat([model(x[i:i + 200]) for i in range(0, len(x), 200)])


def train(log):
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    prep = preprocess()

    t0 = time.process_time()
    xs, ys = dataset(rng, TRAIN, prep)
    xt, yt = dataset(rng, TEST, prep)
    t1 = time.process_time()
    log("gen_images: %d training and %d test pictures drawn in %.1f s"
        % (TRAIN, TEST, t1 - t0))

    model = ShapesCNN(bn=True)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=1e-4)
    steps = EPOCHS * (TRAIN // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.01, total_steps=steps,
                                                pct_start=0.2)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(TRAIN, generator=gen)
        total = 0.0
        for i in range(0, TRAIN - BATCH + 1, BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * BATCH
        log("gen_images: epoch %d, loss %.4f, %.1f s"
            % (epoch + 1, total / TRAIN, time.process_time() - t1))
    t2 = time.process_time()

    plain = fold(model.eval())
    p_bn, p = logits(model, xt), logits(plain, xt)
    acc = (p.argmax(1) == yt).float().mean().item()
    train_acc = (logits(plain, xs).argmax(1) == ys).float().mean().item()
    diff = (p - p_bn).abs().max().item()
    if diff > 1e-4:
        sys.exit("gen_images: folding BatchNormalization moved the logits "
                 "by %.3g" % diff)
    conf = torch.zeros(len(CLASSES), len(CLASSES), dtype=torch.long)
    for a, b in zip(yt.tolist(), p.argmax(1).tolist()):
        conf[a, b] += 1
    stats = {"train_seconds": t2 - t1, "draw_seconds": t1 - t0,
             "test_accuracy": acc, "train_accuracy": train_acc,
             "confusion": conf.tolist()}
    log("gen_images: %.1f s of training; accuracy %.2f%% on %d held-out "
        "pictures (%.2f%% on the training ones)"
        % (t2 - t1, 100 * acc, TEST, 100 * train_acc))
    for c, row in zip(CLASSES, conf.tolist()):
        log("  %-9s %s" % (c, " ".join("%4d" % v for v in row)))
    return plain, stats


def export(plain, path):
    x = torch.zeros(1, 3, CROP, CROP)
    torch.onnx.export(plain, x, path, input_names=["image"],
                      output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"},
                                    "logits": {0: "batch"}},
                      opset_version=13)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted(set(n.op_type for n in m.graph.node))
    allowed = {"Conv", "Relu", "MaxPool", "GlobalAveragePool", "Flatten",
               "Gemm"}
    if not set(ops) <= allowed:
        sys.exit("gen_images: %s has operators %s" % (path, ops))
    return ops


def from_onnx(path):
    """ShapesCNN (without BatchNormalization) with the ONNX file's
    weights: the Conv nodes in graph order, then the Gemm."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    model = ShapesCNN(bn=False)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    gemms = [n for n in m.graph.node if n.op_type == "Gemm"]
    if len(convs) != len(model.convs()) or len(gemms) != 1:
        sys.exit("gen_images: %s is not ShapesCNN (%d Conv, %d Gemm)"
                 % (path, len(convs), len(gemms)))

    def put(param, name):
        a = torch.from_numpy(init[name].copy())
        if a.shape != param.shape:
            sys.exit("gen_images: %s: %s is %s, not %s"
                     % (path, name, list(a.shape), list(param.shape)))
        param.copy_(a)

    with torch.no_grad():
        for node, conv in zip(convs, model.convs()):
            put(conv.weight, node.input[1])
            put(conv.bias, node.input[2])
        g = gemms[0]
        attrs = {a.name: onnx.helper.get_attribute_value(a)
                 for a in g.attribute}
        w = init[g.input[1]]
        if not attrs.get("transB", 0):
            w = w.T
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 \
                or attrs.get("beta", 1.0) != 1.0:
            sys.exit("gen_images: %s: an unexpected Gemm" % path)
        model.fc.weight.copy_(torch.from_numpy(np.array(w, np.float32)))
        put(model.fc.bias, g.input[2])
    return model.eval()


# the samples

def png_rgb16(img):
    """img as a 16-bit RGB PNG (PIL cannot write one): each sample v
    becomes v * 256 + 255 below 128, v * 256 above, so that v >> 8 gives
    img back and rounding to v / 257 does not (but at 127 and 128)."""
    a = np.asarray(img, np.uint16)
    a = a * 256 + np.where(a < 128, 255, 0).astype(np.uint16)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data \
            + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    raw = b"".join(b"\0" + a[y].astype(">u2").tobytes()
                   for y in range(img.height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", img.width, img.height,
                                         16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_samples(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for i, (name, cls, (w, h), how, bg) in enumerate(SAMPLES):
        rng = np.random.default_rng(SEED + 100 + i)
        img = draw(rng, cls, w, h, bg_kind=bg, r_frac=0.32)
        path = os.path.join(out_dir, name)
        if how == "jpeg":
            img.save(path, "JPEG", quality=90)
        elif how == "jpeg_gray":
            img.convert("L").save(path, "JPEG", quality=85, progressive=True)
        elif how == "jpeg_444":
            img.save(path, "JPEG", quality=95, subsampling=0)
        elif how == "png":
            img.save(path, "PNG")
        elif how == "png_palette":
            img.convert("P", palette=Image.ADAPTIVE, colors=32).save(path,
                                                                      "PNG")
        elif how == "png_rgba":
            y, x = np.mgrid[0:h, 0:w]
            d = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2))
            alpha = np.clip((1.3 - d) * 400, 0, 255).astype(np.uint8)
            img.putalpha(Image.fromarray(alpha))
            img.save(path, "PNG")
        elif how == "png_rgb16":
            with open(path, "wb") as f:
                f.write(png_rgb16(img))
        else:
            raise ValueError(how)


def resized(w, h, resize):
    if w <= h:
        return resize, int(resize * h / w)
    return int(resize * w / h), resize


def refs(model_path, images_dir):
    """shapes.ref.json's text: torch's answers for the samples, from the
    network rebuilt from model_path's weights."""
    model = from_onnx(model_path)
    prep = preprocess()
    out = []
    for name, cls, _, _, _ in SAMPLES:
        im = Image.open(os.path.join(images_dir, name))
        fmt, mode, (w, h) = im.format, im.mode, im.size
        x = prep(im.convert("RGB"))
        with torch.no_grad():
            z = model(x[None])[0]
        p = torch.softmax(z, 0)
        rw, rh = resized(w, h, RESIZE)
        order = sorted(range(len(CLASSES)), key=lambda k: -float(z[k]))
        out.append(
            '  {"file": "%s", "format": "%s", "mode": "%s", "width": %d, '
            '"height": %d,\n   "class": "%s", "predicted": "%s", '
            '"resized": [%d, %d], "crop_left_top": [%d, %d],\n'
            '   "input_mean": %s,\n   "logits": %s,\n   "softmax": %s,\n'
            '   "ranking": %s}'
            % (name, fmt, mode, w, h, cls, CLASSES[order[0]], rw, rh,
               int(round((rw - CROP) / 2.0)), int(round((rh - CROP) / 2.0)),
               text(x.mean((1, 2)).numpy()), text(z.numpy()),
               text(p.numpy()), json.dumps(order)))
    where = os.path.relpath(os.path.abspath(images_dir), ROOT)
    if where.startswith(".."):
        where = os.path.abspath(images_dir)
    return ('{"model": "%s", "labels": "%s", "images": "%s",\n'
            ' "torch_version": "%s", "torchvision_version": "%s", '
            '"pil_version": "%s",\n'
            ' "input": "image", "output": "logits", "classes": %s,\n'
            ' "preprocess": {"resize": %d, "crop": [%d, %d], '
            '"mean": %s, "std": %s, "layout": "NCHW"},\n'
            ' "samples": [\n%s\n ]}\n'
            % (MODEL, LABELS, where, torch.__version__,
               torchvision.__version__, PIL.__version__,
               json.dumps(CLASSES), RESIZE, CROP, CROP,
               json.dumps(MEAN), json.dumps(STD), ",\n".join(out)))


def differ(a, b, where="refs"):
    """Where a and b differ: numbers by more than 1e-5 relative (another
    CPU's kernels round differently), anything else at all; or None."""
    if isinstance(a, float) or isinstance(b, float):
        ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and abs(a - b) <= 1e-5 * abs(b) + 1e-30
        return None if ok else "%s: %r, now %r" % (where, a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return "%s: keys %s, now %s" % (where, sorted(a), sorted(b))
        for k in a:
            d = differ(a[k], b[k], "%s.%s" % (where, k))
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "%s: %d items, now %d" % (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = differ(x, y, "%s[%d]" % (where, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r, now %r" % (where, a, b)


# the identity model

PARITY = [
    # name, resize (0: straight to 32x32), mean, std
    ("resize36_crop32", 36, MEAN, STD),
    ("resize32x32", 0, MEAN, STD),
    ("resize36_crop32_raw", 36, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
]


def parity_models(out_dir, images_dir):
    from onnx import TensorProto, helper

    os.makedirs(out_dir, exist_ok=True)
    g = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["y"], "flatten", axis=1)],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       ["N", 3072])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(out_dir, "identity.onnx"), "wb") as f:
        f.write(m.SerializeToString())

    cases = []
    for cname, resize, mean, std in PARITY:
        prep = preprocess(resize, 32, mean, std)
        rows = []
        for name, _, _, _, _ in SAMPLES:
            im = Image.open(os.path.join(images_dir, name))
            rows.append('{"file": "%s", "y": %s}'
                        % (name, text(prep(im.convert("RGB"))
                                      .flatten().numpy())))
        cases.append('  {"name": "%s", "resize": %d, "crop": [32, 32], '
                     '"mean": %s, "std": %s, "layout": "NCHW",\n'
                     '   "samples": [\n    %s]}'
                     % (cname, resize, json.dumps(mean), json.dumps(std),
                        ",\n    ".join(rows)))
    with open(os.path.join(out_dir, "identity.ref.json"), "w") as f:
        f.write('{"model": "identity.onnx", "input": "x", "output": "y",\n'
                ' "row_shape": [3, 32, 32], "images": "%s",\n'
                ' "torchvision_version": "%s", "pil_version": "%s",\n'
                ' "cases": [\n%s\n ]}\n'
                % (os.path.abspath(images_dir), torchvision.__version__,
                   PIL.__version__, ",\n".join(cases)))


def main(argv):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", help="the model, labels and refs (default "
                    "conf/models; the samples in OUT/images)")
    ap.add_argument("--images", help="the samples (default t/images)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--refs-only", action="store_true",
                      help="recompute OUT/shapes.ref.json from the ONNX "
                      "file and the samples")
    mode.add_argument("--check", action="store_true",
                      help="recompute the refs, compare with the "
                      "committed ones")
    mode.add_argument("--parity-models", metavar="DIR",
                      help="write DIR/identity.onnx and its refs")
    args = ap.parse_args(argv[1:])

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)

    out = args.out or os.path.join(ROOT, "conf", "models")
    if args.images:
        images = args.images
    elif args.out and not (args.refs_only or args.check):
        images = os.path.join(args.out, "images")
    else:
        images = os.path.join(ROOT, "t", "images")

    if args.parity_models:
        parity_models(args.parity_models, images)
        return 0

    model_path = os.path.join(out, MODEL)
    ref_path = os.path.join(out, REFS)

    if args.check:
        with open(ref_path) as f:
            bad = differ(json.load(f), json.loads(refs(model_path, images)))
        if bad:
            print("gen_images: %s is not what %s and %s give with torch %s:"
                  " %s" % (ref_path, model_path, images, torch.__version__,
                           bad))
        return 1 if bad else 0

    if not args.refs_only:
        os.makedirs(out, exist_ok=True)
        plain, stats = train(print)
        ops = export(plain, model_path)
        with open(os.path.join(out, LABELS), "w") as f:
            f.write("\n".join(CLASSES) + "\n")
        make_samples(images)
        print("gen_images: %s, %d bytes, operators %s"
              % (model_path, os.path.getsize(model_path), " ".join(ops)))

    text_ = refs(model_path, images)
    with open(ref_path, "w") as f:
        f.write(text_)
    for s in json.loads(text_)["samples"]:
        print("  %-22s %-6s %-3s %3dx%-3d %-9s -> %-9s %.3f"
              % (s["file"], s["format"], s["mode"], s["width"], s["height"],
                 s["class"], s["predicted"], max(s["softmax"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
