#!/usr/bin/python3
"""
The ONNX fixtures of t/models/onnx/: small networks exported with Debian's
python3-torch, their inputs and torch's outputs; and models the module must
refuse, made with python3-onnx's helpers.

    /usr/bin/python3 t/models/gen_onnx.py             # t/models/onnx/
    /usr/bin/python3 t/models/gen_onnx.py --check     # outputs still torch's?
    /usr/bin/python3 t/models/gen_onnx.py --big DIR   # ResNet-18, 3x32x32
    /usr/bin/python3 t/models/gen_onnx.py --bench DIR # make bench's models
    /usr/bin/python3 t/models/gen_onnx.py --example conf/models
                                    # digits-cnn.onnx, trained: make run's

Each fixture NAME gives NAME.onnx and NAME.ref.json:

    {"model": "NAME.onnx", "opset": 13, "torch_version": ...,
     "input": "x", "row_shape": [1, 28, 28],
     "rows": [row, ...]                      each nested as row_shape,
     "outputs": [{"name": "y", "row_shape": [10], "rows": [...]}, ...]}

The outputs are torch's (model.eval(), torch.no_grad(), one thread) on the
same float32 inputs, as text that reads back to the same float32.
Training is not needed: the weights are torch's seeded initialisation,
and BatchNormalization's statistics are set to values far from the
identity, so that folding them wrongly shows.  --check recomputes torch's
outputs from the committed .onnx files' own weights (onnx.numpy_helper)
is not possible without a runtime, so it re-exports and compares the
reference outputs: the same torch makes the same numbers.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx")
SEED = 20261203
ROWS = 16


def f32(v):
    """The shortest text that reads back (double, then float32) as v."""
    v = np.float32(v)
    if not np.isfinite(v):
        raise ValueError("non-finite %r" % v)
    for digits in range(1, 10):
        s = "%.*g" % (digits, float(v))
        if np.float32(float(s)) == v:
            return s
    raise AssertionError(v)


def text(a):
    """A float32 array as nested JSON text."""
    if a.ndim == 0:
        return f32(a)
    return "[" + ",".join(text(x) for x in a) + "]"


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=gen) * 2 - 1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(c, generator=gen) - 0.5)


class MLP(nn.Module):
    def __init__(self, sizes, act, softmax=False, bn=False):
        super().__init__()
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                if bn:
                    layers.append(nn.BatchNorm1d(sizes[i + 1]))
                layers.append(act())
        if softmax:
            layers.append(nn.Softmax(dim=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class TwoHeads(nn.Module):
    """Logits and their log-softmax: a graph with two outputs."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 20), nn.ReLU())
        self.head = nn.Linear(20, 5)

    def forward(self, x):
        z = self.head(self.body(x))
        return z, F.log_softmax(z, dim=1)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.f1 = nn.Linear(16 * 5 * 5, 120)
        self.f2 = nn.Linear(120, 84)
        self.f3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.avg_pool2d(F.relu(self.c2(x)), 2)
        x = x.view(x.size(0), -1)       # Shape, Gather, Unsqueeze, Concat
        return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))


class ResBlock(nn.Module):
    """A residual block with its BatchNormalizations, and a downsampling one."""

    def __init__(self, c, down=False):
        super().__init__()
        out = c * 2 if down else c
        s = 2 if down else 1
        self.c1 = nn.Conv2d(c, out, 3, s, 1, bias=False)
        self.b1 = nn.BatchNorm2d(out)
        self.c2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(out)
        self.short = None
        if down:
            self.short = nn.Sequential(nn.Conv2d(c, out, 1, 2, bias=False),
                                       nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (self.short(x) if self.short is not None else x))


class ResNetTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(8), nn.ReLU())
        self.b1 = ResBlock(8)
        self.b2 = ResBlock(8, down=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        x = self.b2(self.b1(self.stem(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Odds(nn.Module):
    """The other operators: Pad (reflect), Concat, pooling's corner cases,
    Clip (ReLU6), grouped and dilated convolutions, Sigmoid, Tanh."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2)
        self.b = nn.Conv2d(4, 8, 1)
        self.c = nn.Conv2d(16, 6, 3, stride=2)

    def forward(self, x):
        p = F.pad(x, (1, 2, 1, 0), mode="reflect")
        a = F.relu6(self.a(p))
        b = torch.sigmoid(self.b(p))
        y = torch.cat([a, b], dim=1)
        y = F.max_pool2d(y, 3, 2, ceil_mode=True)
        y = torch.tanh(self.c(F.avg_pool2d(y, 2, 1, 1, count_include_pad=True)))
        return y.flatten(1)


def fixtures():
    """name -> (model, row shape, opset, keep BatchNormalization)"""
    return {
        "mlp_relu": (lambda: MLP([30, 64, 64, 1], nn.ReLU), [30], 13, False),
        "mlp_tanh": (lambda: MLP([8, 32, 16, 3], nn.Tanh, softmax=True),
                     [8], 13, False),
        "mlp_sigmoid": (lambda: MLP([10, 16, 2], nn.Sigmoid), [10], 17,
                        False),
        "mlp_leaky_bn": (lambda: MLP([12, 24, 24, 4],
                                     lambda: nn.LeakyReLU(0.1), bn=True),
                         [12], 17, True),
        "two_heads": (TwoHeads, [6], 13, False),
        "lenet13": (LeNet, [1, 28, 28], 13, False),
        "lenet17": (LeNet, [1, 28, 28], 17, False),
        "resblock_bn13": (lambda: ResBlock(8), [8, 8, 8], 13, True),
        "resblock_bn17": (lambda: ResBlock(8), [8, 8, 8], 17, True),
        "resnet_tiny": (ResNetTiny, [3, 16, 16], 17, True),
        "odds": (Odds, [4, 11, 9], 13, False),
    }


def export(name, make, row_shape, opset, keep_bn, out_dir, rows=ROWS):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    model = make()
    randomize_bn(model, gen)
    model.eval()

    x = torch.randn(rows, *row_shape, generator=gen)
    kw = dict(input_names=["x"], opset_version=opset,
              dynamic_axes={"x": {0: "batch"}})
    with torch.no_grad():
        y = model(x)
    ys = list(y) if isinstance(y, tuple) else [y]
    names = ["y%d" % i if len(ys) > 1 else "y" for i in range(len(ys))]
    kw["output_names"] = names
    for n in names:
        kw["dynamic_axes"][n] = {0: "batch"}
    if keep_bn:
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
        kw["do_constant_folding"] = False

    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x[:1], path, **kw)

    ref = ['{"model": "%s.onnx", "opset": %d, "torch_version": "%s",'
           % (name, opset, torch.__version__),
           ' "input": "x", "row_shape": %s,' % json.dumps(row_shape),
           ' "rows": %s,' % text(x.numpy()),
           ' "outputs": [%s]}' % ",".join(
               '{"name": "%s", "row_shape": %s, "rows": %s}'
               % (n, json.dumps(list(o.shape[1:])), text(o.numpy()))
               for n, o in zip(names, ys))]
    return "\n".join(ref) + "\n"


class DigitsCNN(nn.Module):
    """sklearn's 8x8 digits (pixels 0 to 16), to the 10 digits' probabilities."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x / 16)), 2)
        x = F.relu(self.c2(x))
        return F.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def example(out_dir):
    """Train the digits CNN (seeded, one thread: the same file each time)."""
    from sklearn import datasets

    digits = datasets.load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target)
    test = torch.arange(len(y)) % 5 == 0

    torch.manual_seed(SEED)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(SEED)

    for epoch in range(15):
        order = torch.randperm(int((~test).sum()), generator=gen)
        xs, ys = x[~test][order], y[~test][order]
        for i in range(0, len(ys), 64):
            opt.zero_grad()
            p = model(xs[i:i + 64])
            loss = F.nll_loss(torch.log(p + 1e-9), ys[i:i + 64])
            loss.backward()
            opt.step()

    model.eval()
    with torch.no_grad():
        acc = (model(x[test]).argmax(1) == y[test]).float().mean().item()

    torch.onnx.export(model, x[:1], os.path.join(out_dir, "digits-cnn.onnx"),
                      input_names=["image"], output_names=["probabilities"],
                      dynamic_axes={"image": {0: "batch"},
                                    "probabilities": {0: "batch"}},
                      opset_version=13)

    # the first test image of a 3, as a request
    i = int(torch.nonzero(test & (y == 3))[0])
    with open(os.path.join(out_dir, "digits-3.json"), "w") as f:
        f.write('{"features":%s}\n' % text(x[i].numpy()))
    print("digits-cnn: %.1f%% of the held-out fifth right" % (100 * acc))


def constants(out_dir):
    """Constant's scalar and list attributes, made with onnx's helpers:
    y = Reshape((x + [1,2,3,4]) * 0.5, [-1,2,2]), z = x * Cast(2); the
    reference is numpy's, in float32 (the same IEEE operations)."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Constant", [], ["c"], "c", value_floats=[1.0, 2.0, 3.0, 4.0]),
        helper.make_node("Constant", [], ["h"], "h", value_float=0.5),
        helper.make_node("Constant", [], ["s"], "s", value_ints=[-1, 2, 2]),
        helper.make_node("Constant", [], ["two"], "two", value_int=2),
        helper.make_node("Cast", ["two"], ["twof"], "cast", to=1),
        helper.make_node("Add", ["x", "c"], ["a"], "add"),
        helper.make_node("Mul", ["a", "h"], ["m"], "mul"),
        helper.make_node("Reshape", ["m", "s"], ["y"], "reshape"),
        helper.make_node("Mul", ["x", "twof"], ["z"], "double"),
    ]
    g = helper.make_graph(
        nodes, "constants",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 2]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(out_dir, "constants.onnx"), "wb") as f:
        f.write(m.SerializeToString())

    x = np.random.default_rng(SEED).standard_normal((ROWS, 4)) \
        .astype(np.float32)
    y = ((x + np.float32([1, 2, 3, 4])) * np.float32(0.5)).reshape(-1, 2, 2)
    z = x * np.float32(2)
    return ('{"model": "constants.onnx", "opset": 13, "input": "x",'
            ' "row_shape": [4],\n "rows": %s,\n "outputs": ['
            '{"name": "y", "row_shape": [2, 2], "rows": %s},'
            '{"name": "z", "row_shape": [4], "rows": %s}]}\n'
            % (text(x), text(y), text(z)))


def slices(out_dir):
    """Slice folded on a constant at the int64 edges: steps of INT64_MAX
    and INT64_MIN + 1, starts and ends of INT64_MIN and INT64_MAX (the
    fuzz campaign found the output length overflowing there); numpy's
    slicing is the reference: y = x * d[S:E:4] + d[E:S:-4],
    z = x * d[0:E:E] + d[-1:S:S + 1], with d = 1.5 * [0..9],
    S = INT64_MIN, E = INT64_MAX."""
    from onnx import TensorProto, helper, numpy_helper

    lo, hi = -2 ** 63, 2 ** 63 - 1
    d = np.arange(10, dtype=np.float32) * np.float32(1.5)
    cuts = {                                    # name: start, end, step
        "every4": (lo, hi, 4), "back4": (hi, lo, -4),
        "first": (0, hi, hi), "last": (-1, lo, lo + 1),
    }
    inits = [numpy_helper.from_array(d, "d"),
             numpy_helper.from_array(np.int64([0]), "axis0")]
    nodes = []
    for name, cut in cuts.items():
        for part, v in zip(("start", "end", "step"), cut):
            inits.append(numpy_helper.from_array(np.int64([v]),
                                                 name + "_" + part))
        nodes.append(helper.make_node(
            "Slice", ["d", name + "_start", name + "_end", "axis0",
                      name + "_step"], [name], "slice_" + name))
    nodes += [
        helper.make_node("Mul", ["x", "every4"], ["xe"], "mul_every4"),
        helper.make_node("Add", ["xe", "back4"], ["y"], "add_back4"),
        helper.make_node("Mul", ["x", "first"], ["xf"], "mul_first"),
        helper.make_node("Add", ["xf", "last"], ["z"], "add_last"),
    ]
    g = helper.make_graph(
        nodes, "slices",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(out_dir, "slices.onnx"), "wb") as f:
        f.write(m.SerializeToString())

    x = np.random.default_rng(SEED).standard_normal((ROWS, 3)) \
        .astype(np.float32)
    cut = {k: d[slice(*v)] for k, v in cuts.items()}
    assert [len(v) for v in cut.values()] == [3, 3, 1, 1]
    y = x * cut["every4"] + cut["back4"]
    z = x * cut["first"] + cut["last"]
    return ('{"model": "slices.onnx", "opset": 13, "input": "x",'
            ' "row_shape": [3],\n "rows": %s,\n "outputs": ['
            '{"name": "y", "row_shape": [3], "rows": %s},'
            '{"name": "z", "row_shape": [3], "rows": %s}]}\n'
            % (text(x), text(y), text(z)))


def refused(out_dir):
    """Models the module must refuse at nginx -t, each for one reason."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def model(nodes, inputs, outputs, inits=(), opset=13):
        g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return m

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
    made = {}

    made["bad_op"] = model([helper.make_node("Erf", ["x"], ["y"], "erf1")],
                           [x], [y])
    made["bad_attr"] = model([helper.make_node("LeakyRelu", ["x"], ["y"],
                                               "leaky", beta=2.0)], [x], [y])
    made["two_inputs"] = model(
        [helper.make_node("Add", ["x", "x2"], ["y"], "add")],
        [x, helper.make_tensor_value_info("x2", TensorProto.FLOAT, ["N", 4])],
        [y])
    made["int_input"] = model(
        [helper.make_node("Cast", ["x"], ["y"], "cast", to=1)],
        [helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 4])],
        [y])
    made["dangling"] = model([helper.make_node("Add", ["x", "nowhere"], ["y"],
                                               "add")], [x], [y])
    made["cycle"] = model(
        [helper.make_node("Add", ["x", "b"], ["a"], "first"),
         helper.make_node("Relu", ["a"], ["b"], "second"),
         helper.make_node("Identity", ["a"], ["y"], "out")], [x], [y])
    ext = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    e = ext.external_data.add()
    e.key, e.value = "location", "weights.bin"
    made["external"] = model([helper.make_node("MatMul", ["x", "w"], ["y"],
                                               "matmul")], [x], [y], [ext])
    made["batch_mix"] = model(
        [helper.make_node("Softmax", ["x"], ["y"], "softmax", axis=0)],
        [x], [y])

    for name, m in made.items():
        with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())

    good = model([helper.make_node("MatMul", ["x", "w"], ["y"], "matmul")],
                 [x], [y], [w]).SerializeToString()
    with open(os.path.join(out_dir, "truncated.onnx"), "wb") as f:
        f.write(good[:len(good) - 7])


def main(argv):
    torch.set_num_threads(1)

    if len(argv) == 3 and argv[1] == "--example":
        example(argv[2])
        return 0

    if len(argv) == 3 and argv[1] in ("--big", "--bench"):
        import torchvision
        os.makedirs(argv[2], exist_ok=True)
        if argv[1] == "--big":
            ref = export("resnet18", lambda: torchvision.models.resnet18(),
                         [3, 32, 32], 13, True, argv[2], rows=4)
            with open(os.path.join(argv[2], "resnet18.ref.json"), "w") as f:
                f.write(ref)
            return 0
        torch.manual_seed(SEED)
        for name, make, shape in (
                ("bench_mlp", lambda: MLP([30, 64, 64, 1], nn.ReLU), [30]),
                ("bench_lenet", LeNet, [1, 28, 28]),
                ("bench_resnet18", lambda: torchvision.models.resnet18(),
                 [3, 224, 224])):
            ref = export(name, make, shape, 13, False, argv[2], rows=1)
            with open(os.path.join(argv[2], name + ".ref.json"), "w") as f:
                f.write(ref)
        return 0

    check = argv[1:] == ["--check"]
    if argv[1:] not in ([], ["--check"]):
        print(__doc__)
        return 2

    os.makedirs(OUT, exist_ok=True)
    tmp = os.path.join(OUT, ".check") if check else OUT
    os.makedirs(tmp, exist_ok=True)
    bad = 0

    for name, (make, shape, opset, keep_bn) in fixtures().items():
        ref = export(name, make, shape, opset, keep_bn, tmp)
        path = os.path.join(OUT, name + ".ref.json")
        if check:
            with open(path) as f:
                if f.read() != ref:
                    print("fixtures: %s differs from what torch %s makes"
                          % (path, torch.__version__))
                    bad += 1
            os.remove(os.path.join(tmp, name + ".onnx"))
        else:
            with open(path, "w") as f:
                f.write(ref)

    for name, make in (("constants", constants), ("slices", slices)):
        ref = make(tmp)
        path = os.path.join(OUT, name + ".ref.json")
        if check:
            with open(path) as f:
                if f.read() != ref:
                    print("fixtures: %s differs" % path)
                    bad += 1
            os.remove(os.path.join(tmp, name + ".onnx"))
        else:
            with open(path, "w") as f:
                f.write(ref)

    if check:
        os.rmdir(tmp)
    else:
        refused(OUT)

    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
