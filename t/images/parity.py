#!/usr/bin/python3
"""
The module's image decoding and preprocessing against PIL 9.4 and
torchvision 0.14, to the bit:

    parity.py IMAGE_TOOL OUTDIR

Generates images (seeded, so the same every run) in a temporary
directory: JPEGs at qualities 50, 75, 95 in 4:4:4, 4:2:2 and 4:2:0 and in
grey; PNGs in RGB, RGBA, palette with transparency, grey, grey + alpha,
1 bit, Adam7-interlaced, and 16-bit RGB and grey; raw RGB too, which
checks the resampler without a decoder.  Their sizes shrink a lot, a
little, stay, grow, and are odd.  Each goes through image_tool (the
module's code; its tensor into OUTDIR) and through

    Compose([Resize(resize), CenterCrop((h, w)), ToTensor(),
             Normalize(mean, std)])(Image.open(f).convert("RGB"))

(Resize((h, w)) and no crop when resize is 0) in three configurations.
PIL 9 keeps the high byte of 16-bit RGB and clips 16-bit grey, where the
module rounds v / 257: for those the reference image is round(v / 257),
computed with numpy from the 16-bit samples.

Tolerance: none.  The tensors must be equal bit for bit: the resampler
is Pillow's integer arithmetic, and ToTensor / Normalize are the same
float32 operations (a division by 255, a subtraction and a division), so
any difference is a bug; a byte off by one after a pass is already
1 / 255 / std, about 0.0171 with ImageNet's std.

One line per case: the worst absolute difference and where (channel, y,
x); then "parity: N passed, M failed".  Exits 1 if any failed.
"""

import io
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageDraw


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])

# resize, width, height, layout, mean, std
CONFIGS = [
    (256, 224, 224, "nchw") + IMAGENET,
    (0, 32, 32, "nhwc", [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    (160, 144, 112, "nchw", [0.5, 0.25, 0.75], [0.25, 0.5, 0.125]),
]

# shrink a lot, a little, stay, grow, odd
SIZES = [(640, 480), (1000, 300), (300, 1000), (260, 250), (256, 256),
         (224, 224), (100, 80), (31, 17), (513, 257), (257, 333),
         (161, 160), (145, 113)]


def scene(w, h, rng):
    """gradients, shapes and a patch of noise: uint8 h x w x 3"""

    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // max(w - 1, 1),
                  y * 255 // max(h - 1, 1),
                  (x + 2 * y) * 255 // max(w + 2 * h - 3, 1)], -1)
    im = Image.fromarray(a.astype(np.uint8))
    d = ImageDraw.Draw(im)

    for _ in range(6):
        x0, x1 = sorted(rng.integers(0, w, 2).tolist())
        y0, y1 = sorted(rng.integers(0, h, 2).tolist())
        fill = tuple(rng.integers(0, 256, 3).tolist())

        if rng.integers(2):
            d.ellipse([x0, y0, x1, y1], fill=fill)
        else:
            d.rectangle([x0, y0, x1, y1], fill=fill)

        d.line([(x0, y1), (x1, y0)], fill=(255, 255, 255), width=2)

    a = np.asarray(im).copy()
    nh, nw = max(h // 3, 1), max(w // 3, 1)
    a[h - nh:, w - nw:] = rng.integers(0, 256, (nh, nw, 3), dtype=np.uint8)

    return a


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png_write(path, a, color, depth, interlace):
    """a PNG by hand: 16-bit samples and Adam7, which PIL cannot write"""

    h, w = a.shape[:2]
    dt = ">u2" if depth == 16 else np.uint8
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
              (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

    if not interlace:
        passes = [(0, 0, 1, 1)]

    raw = b""

    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]

        if sub.size == 0:
            continue

        for row in sub.astype(dt):
            raw += b"\0" + row.tobytes()

    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0,
                       1 if interlace else 0)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
                + png_chunk(b"IDAT", zlib.compress(raw, 9))
                + png_chunk(b"IEND", b""))


def make_images(d, rng):
    """[(name, path, reference PIL image or None, raw size or None)]"""

    out = []
    sizes = iter(SIZES * 4)

    def add(name, ext, save, ref=None, raw=None, size=None):
        w, h = size or next(sizes)
        a = scene(w, h, rng)
        path = os.path.join(d, "%s_%dx%d.%s" % (name, w, h, ext))
        r = save(path, a)
        out.append((os.path.basename(path), path, r if r is not None
                    else ref, (w, h) if raw else None))

    def jpeg(q, sub):
        def save(path, a):
            Image.fromarray(a).save(path, "JPEG", quality=q,
                                    subsampling=sub)
        return save

    for q in (50, 75, 95):
        for sub, name in ((0, "444"), (1, "422"), (2, "420")):
            add("jpeg_q%d_%s" % (q, name), "jpg", jpeg(q, sub))

    add("jpeg_gray", "jpg",
        lambda p, a: Image.fromarray(a).convert("L").save(p, "JPEG",
                                                          quality=90))

    add("png_rgb", "png", lambda p, a: Image.fromarray(a).save(p))

    def rgba(p, a):
        alpha = rng.integers(0, 256, a.shape[:2], dtype=np.uint8)
        Image.fromarray(np.dstack([a, alpha])).save(p)

    add("png_rgba", "png", rgba)

    def palette(p, a):
        im = Image.fromarray(a).quantize(colors=64)
        im.info["transparency"] = 3
        im.save(p, transparency=3)

    add("png_palette_trns", "png", palette)
    add("png_gray", "png",
        lambda p, a: Image.fromarray(a).convert("L").save(p))
    add("png_gray_alpha", "png",
        lambda p, a: Image.fromarray(a).convert("LA").save(p))
    add("png_1bit", "png",
        lambda p, a: Image.fromarray(a).convert("1").save(p))
    add("png_interlaced", "png",
        lambda p, a: png_write(p, a, 2, 8, True))

    def rgb16(p, a):
        v = a.astype(np.uint16) * 257 + rng.integers(-128, 129, a.shape)
        v = np.clip(v, 0, 65535).astype(np.uint16)
        png_write(p, v, 2, 16, False)
        return Image.fromarray(np.round(v / 257.0).astype(np.uint8))

    def gray16(p, a):
        v = a[..., 0].astype(np.uint16) * 251 + a[..., 1] // 4
        png_write(p, v, 0, 16, True)
        g = np.round(v / 257.0).astype(np.uint8)
        return Image.fromarray(np.dstack([g, g, g]))

    add("png_rgb16", "png", rgb16)
    add("png_gray16_interlaced", "png", gray16)

    def raw(p, a):
        a.tofile(p)
        return Image.fromarray(a)

    for _ in range(6):
        add("raw", "rgb", raw, raw=True)

    # to 32 x 32: the width only, the height only
    add("raw", "rgb", raw, raw=True, size=(300, 32))
    add("raw", "rgb", raw, raw=True, size=(32, 300))

    return out


def reference(im, resize, w, h, mean, std):
    if resize:
        tr = [T.Resize(resize), T.CenterCrop((h, w))]
    else:
        tr = [T.Resize((h, w))]

    return T.Compose(tr + [T.ToTensor(), T.Normalize(mean, std)])(im)


def run_case(tool, outdir, name, path, ref_im, raw, cfg):
    resize, w, h, layout, mean, std = cfg
    out = os.path.join(outdir, "%s_%d_%dx%d_%s.f32" % (name, resize, w, h,
                                                       layout))
    args = [tool, path, "%dx%d" % (w, h), str(resize), layout,
            ",".join(map(repr, mean)), ",".join(map(repr, std)), out]

    if raw:
        args.append("%dx%d" % raw)

    if ref_im is None:
        ref_im = Image.open(path).convert("RGB")

    want = reference(ref_im, resize, w, h, mean, std).numpy()
    r = subprocess.run(args, capture_output=True, text=True)

    if r.returncode != 0:
        return None, "image_tool failed: " + r.stderr.strip()

    got = np.fromfile(out, dtype=np.float32)

    if got.size != want.size:
        return None, "%d floats, not %d" % (got.size, want.size)

    got = got.reshape(want.shape if layout == "nchw"
                      else (h, w, 3)).astype(np.float32)

    if layout == "nhwc":
        got = got.transpose(2, 0, 1)

    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    same = np.array_equal(got.view(np.uint32), want.view(np.uint32))

    return same, "worst |diff| %.6g at (c %d, y %d, x %d)" % (
        diff[where], where[0], where[1], where[2])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: parity.py IMAGE_TOOL OUTDIR")

    tool, outdir = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)

    passed = failed = 0

    with tempfile.TemporaryDirectory() as d:
        for name, path, ref_im, raw in make_images(d,
                                                  np.random.default_rng(14)):
            for cfg in CONFIGS:
                same, msg = run_case(tool, outdir, name, path, ref_im, raw,
                                     cfg)
                ok = bool(same)
                passed += ok
                failed += not ok
                print("%s %s resize %d %dx%d %s: %s" % (
                    "ok" if ok else "FAIL", name, cfg[0], cfg[1], cfg[2],
                    cfg[3], msg))

    print("parity: %d passed, %d failed" % (passed, failed))

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
