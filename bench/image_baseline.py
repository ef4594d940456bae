#!/usr/bin/python3
"""
The image path as a Python service runs it, for bench/image.sh to put
beside the module's (src/test/infer_image_bench.c): PIL decodes, the
torchvision transforms preprocess, torch evaluates ResNet-18, one thread.

    /usr/bin/python3 bench/image_baseline.py --make DIR
    /usr/bin/python3 bench/image_baseline.py DIR MODELS [OUT]

--make draws the two bench pictures with PIL, the same bytes every time:
DIR/bench224.jpg (224x224) and DIR/photo500x375.jpg (500x375, a typical
photo's size, quality and subsampling: 4:2:0, quality 90), photo-like:
smooth colour fields, soft-edged objects, a horizon, fine grain.

The timed cases, for each picture NAME (bench224, photo500x375):

    decode_NAME       Image.open(bytes).convert("RGB"), decoded
    prep_NAME         Resize(256), CenterCrop(224), ToTensor(), Normalize
                      (ImageNet's mean and std) on the decoded picture
    decode_prep_NAME  both: bytes in memory to the 1x3x224x224 tensor

and on the photo's tensor:

    resnet18          ResNet-18's model(x) under torch.no_grad()
    pipeline          bytes to ResNet-18's 1000 outputs

torch's convolutions run in oneDNN; its BLAS (Debian's torch: the
reference BLAS, unless libopenblas0-pthread is installed; the first line
says which the process mapped) serves only ResNet-18's last, linear layer.

MODELS is t/models/gen_onnx.py --bench's directory: ResNet-18 is rebuilt
with its seeds (bench/onnx_torch.py's build()), so it has the weights of
MODELS/bench_resnet18.onnx, which MODELS/bench_resnet18.ref.json confirms.
Times are process CPU time, measured as bench/onnx_torch.py measures
(the median of 7 rounds of >= 0.25 s, fastest-slowest).  With OUT, it
writes OUT/NAME.x.f32 (each picture's tensor) and OUT/resnet18.y.f32
(ResNet-18's outputs for the photo's) for the module to be checked against.
"""

import io
import os
import re
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, features

import PIL
import torchvision
import torchvision.models
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "t", "models"))
import onnx_torch  # noqa: E402

SEED = 20261205
PICTURES = (("bench224", (224, 224)), ("photo500x375", (500, 375)))
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def photo(rng, w, h):
    """Something like a photo: a sky-to-ground gradient with a horizon,
    low-frequency colour, a few blurred objects, texture on the ground,
    sensor grain."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = h * rng.uniform(0.35, 0.6) \
        + h * 0.05 * np.sin(x / w * rng.uniform(2, 6) + rng.uniform(0, 6))
    sky = np.float32(rng.uniform(90, 230, 3))
    ground = np.float32(rng.uniform(30, 150, 3))
    t = np.clip((y - horizon) / (h * 0.04) + 0.5, 0, 1)[..., None]
    img = sky * (1 - t) + ground * t
    img *= (0.75 + 0.25 * (1 - y / h))[..., None]
    for _ in range(4):
        fx, fy = rng.uniform(0.5, 4, 2) * 2 * np.pi
        img += np.float32(rng.uniform(-25, 25, 3)) \
            * np.sin(x / w * fx + rng.uniform(0, 6))[..., None] \
            * np.cos(y / h * fy + rng.uniform(0, 6))[..., None]
    pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))

    objects = Image.new("RGB", (w, h))
    mask = Image.new("L", (w, h), 0)
    d, dm = ImageDraw.Draw(objects), ImageDraw.Draw(mask)
    for _ in range(7):
        cx, cy = rng.uniform(0, w), rng.uniform(h * 0.3, h)
        rx, ry = rng.uniform(0.04, 0.2) * w, rng.uniform(0.04, 0.25) * h
        box = [cx - rx, cy - ry, cx + rx, cy + ry]
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.ellipse(box, fill=colour)
            dm.ellipse(box, fill=255)
        else:
            d.rectangle(box, fill=colour)
            dm.rectangle(box, fill=255)
    pic.paste(objects.filter(ImageFilter.GaussianBlur(1.5)), (0, 0),
              mask.filter(ImageFilter.GaussianBlur(2.5)))

    # texture (foliage, gravel) below the horizon, grain everywhere
    noise = rng.normal(128, 60, (h, w)).clip(0, 255).astype(np.uint8)
    tex = np.asarray(Image.fromarray(noise).filter(
        ImageFilter.GaussianBlur(0.8)), np.float32) - 128
    a = np.asarray(pic, np.float32)
    a += (tex * 0.9 * t[..., 0])[..., None]
    a += rng.normal(0, 3, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def make(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for i, (name, (w, h)) in enumerate(PICTURES):
        pic = photo(np.random.default_rng(SEED + i), w, h)
        path = os.path.join(out_dir, name + ".jpg")
        pic.save(path, "JPEG", quality=90, subsampling=2)
        print("image_baseline: %s, %dx%d, %d bytes"
              % (path, w, h, os.path.getsize(path)))


def main(argv):
    if len(argv) == 3 and argv[1] == "--make":
        make(argv[2])
        return 0
    if len(argv) not in (3, 4):
        print(__doc__)
        return 2

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    config = torch.__config__.show()
    dnnl = re.search(r"MKL-DNN v([\d.]+)", config)
    dnnl = "v" + dnnl.group(1) if dnnl \
        and torch.backends.mkldnn.is_available() else "off"
    print("torch %s, torchvision %s, PIL %s (libjpeg-turbo %s, zlib %s), "
          "%d thread, MKL-DNN (oneDNN) %s, %s; process CPU time, median "
          "of %d rounds of >= %.2f s (fastest-slowest)"
          % (torch.__version__, torchvision.__version__, PIL.__version__,
             features.version("libjpeg_turbo")
             if features.check_feature("libjpeg_turbo")
             else "no: libjpeg " + features.version("jpg"),
             features.version("zlib"),
             torch.get_num_threads(), dnnl, onnx_torch.blas(),
             onnx_torch.ROUNDS, onnx_torch.ROUND_SECONDS), flush=True)

    resnet = onnx_torch.build(lambda: torchvision.models.resnet18())
    onnx_torch.same_weights(resnet, os.path.join(argv[2],
                                                 "bench_resnet18.ref.json"))

    prep = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize(MEAN, STD)])

    def decode(data):
        return Image.open(io.BytesIO(data)).convert("RGB")

    with torch.no_grad():
        for name, _ in PICTURES:
            with open(os.path.join(argv[1], name + ".jpg"), "rb") as f:
                data = f.read()
            pic = decode(data)
            x = prep(pic)
            if len(argv) == 4:
                x.numpy().astype(np.float32).tofile(
                    os.path.join(argv[3], name + ".x.f32"))

            onnx_torch.show("decode_" + name, 1,
                            onnx_torch.measure(lambda: decode(data)))
            onnx_torch.show("prep_" + name, 1,
                            onnx_torch.measure(lambda: prep(pic)))
            onnx_torch.show("decode_prep_" + name, 1,
                            onnx_torch.measure(lambda: prep(decode(data))))

        x = x[None]
        if len(argv) == 4:
            resnet(x).numpy().astype(np.float32).tofile(
                os.path.join(argv[3], "resnet18.y.f32"))
        onnx_torch.show("resnet18", 1, onnx_torch.measure(lambda: resnet(x)))
        onnx_torch.show("pipeline", 1, onnx_torch.measure(
            lambda: resnet(prep(decode(data))[None])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
