#!/usr/bin/python3
"""
Train the XGBoost fixtures of t/models/ and write their reference outputs.

    /usr/bin/python3 t/models/gen_fixtures.py            # the fixtures
    /usr/bin/python3 t/models/gen_fixtures.py --check    # compare, write nothing
    /usr/bin/python3 t/models/gen_fixtures.py --bench build/bench

Debian's python3-xgboost and python3-sklearn only: the datasets ship inside
sklearn, nothing is downloaded.  Training is seeded and single-threaded, so
the same xgboost version makes the same files byte for byte (--check says
whether it does).

Each fixture NAME gives NAME.json (booster.save_model()) and NAME.ref.json:

    {"model": "NAME.json", "dataset": ..., "objective": ...,
     "xgboost_version": ..., "nfeatures": N, "noutputs": K,
     "rows": [[x, null, ...], ...],            null: a missing value (NaN)
     "predictions": [y, ...] or [[y1..yK], ...]}

The predictions are booster.predict(DMatrix(rows)) (output_margin=False,
all trees) of the booster reloaded from NAME.json.  Every number is written
with the fewest digits that give the float32 back when parsed as a double
and rounded to float, which is what the C request parser and Perl do.

--bench DIR writes DIR/bench_100x6.json (100 trees of depth 6 on a
synthetic dataset, too large to commit) and DIR/bench_rows.f32 (raw
little-endian float32 rows, row-major, for bench/xgb_bench.c) and
DIR/bench_row.json (the first of them as a request, for bench/run.sh).
"""

import json
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn import datasets


HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240611


def f32_text(v):
    """The shortest %g text that strtod() then (float) turns back into v."""
    v = np.float32(v)

    if not np.isfinite(v):
        raise ValueError("non-finite value %r" % v)

    for digits in range(1, 10):
        s = "%.*g" % (digits, float(v))
        if np.float32(float(s)) == v:
            return s

    raise AssertionError("no 9-digit text for %r" % v)


def row_text(row):
    return "[" + ",".join("null" if np.isnan(x) else f32_text(x)
                          for x in row) + "]"


def split(n, test_fraction, rs):
    perm = rs.permutation(n)
    ntest = max(1, int(round(n * test_fraction)))
    return perm[ntest:], perm[:ntest]


def punch_holes(X, fraction, rs):
    """NaN in a fraction of the cells: missing values, for default_left."""
    X = X.copy()
    mask = rs.random_sample(X.shape) < fraction
    X[mask] = np.nan
    return X


def load(name):
    loader = {
        "breast_cancer": datasets.load_breast_cancer,
        "diabetes": datasets.load_diabetes,
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
    }[name]
    X, y = loader(return_X_y=True)
    return X.astype(np.float32), y.astype(np.float64)


# name, dataset, params, rounds, target transform, train and test NaN share
FIXTURES = [
    ("bc_logistic", "breast_cancer",
     {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3},
     12, None, 0.05, 0.05),
    ("bc_logitraw", "breast_cancer",
     {"objective": "binary:logitraw", "max_depth": 3, "eta": 0.3,
      "base_score": 0.7},
     15, None, 0.0, 0.03),
    ("bc_earlystop", "breast_cancer",
     {"objective": "binary:logistic", "max_depth": 2, "eta": 0.5,
      "_early_stopping_rounds": 3},
     60, None, 0.0, 0.03),
    ("bc_forest", "breast_cancer",
     {"objective": "binary:logistic", "max_depth": 3, "eta": 1.0,
      "num_parallel_tree": 4, "subsample": 0.8, "colsample_bynode": 0.8,
      "base_score": 0.3},
     3, None, 0.02, 0.02),
    ("diabetes_squarederror", "diabetes",
     {"objective": "reg:squarederror", "max_depth": 4, "eta": 0.2,
      "base_score": 152.0},
     12, None, 0.05, 0.05),
    ("diabetes_poisson", "diabetes",
     {"objective": "count:poisson", "max_depth": 3, "eta": 0.3,
      "base_score": 150.0},
     20, None, 0.03, 0.03),
    ("diabetes_gamma", "diabetes",
     {"objective": "reg:gamma", "max_depth": 3, "eta": 0.3,
      "base_score": 150.0},
     15, None, 0.03, 0.03),
    ("diabetes_tweedie", "diabetes",
     {"objective": "reg:tweedie", "tweedie_variance_power": 1.5,
      "max_depth": 3, "eta": 0.3},
     15, None, 0.0, 0.03),
    ("diabetes_absoluteerror", "diabetes",
     {"objective": "reg:absoluteerror", "max_depth": 3, "eta": 0.3},
     10, None, 0.03, 0.03),
    ("diabetes_pseudohuber", "diabetes",
     {"objective": "reg:pseudohubererror", "huber_slope": 50.0,
      "max_depth": 3, "eta": 0.3, "base_score": 150.0},
     10, None, 0.0, 0.03),
    ("iris_softprob", "iris",
     {"objective": "multi:softprob", "num_class": 3, "max_depth": 3,
      "eta": 0.3},
     6, None, 0.05, 0.1),
    ("digits_softmax", "digits",
     {"objective": "multi:softmax", "num_class": 10, "max_depth": 3,
      "eta": 0.3},
     3, None, 0.02, 0.02),
    ("wine_logistic", "wine",
     {"objective": "reg:logistic", "max_depth": 3, "eta": 0.3,
      "base_score": 0.4},
     15, "half", 0.03, 0.05),
]


# fewer test rows where rows are wide or many: the files stay small
TEST_SHARE = {"breast_cancer": 0.1, "digits": 0.05}


def train(params, X, y, rounds):
    """_early_stopping_rounds: stop on the last quarter of the rows."""
    p = {"seed": SEED, "nthread": 1, "tree_method": "hist",
         "verbosity": 0}
    p.update(params)
    stop = p.pop("_early_stopping_rounds", None)

    if stop is None:
        return xgb.train(p, xgb.DMatrix(X, label=y, nthread=1), rounds)

    n = len(y) * 3 // 4
    train = xgb.DMatrix(X[:n], label=y[:n], nthread=1)
    valid = xgb.DMatrix(X[n:], label=y[n:], nthread=1)
    b = xgb.train(p, train, rounds, evals=[(valid, "valid")],
                  early_stopping_rounds=stop, verbose_eval=False)

    # predict() uses every tree, not best_iteration: the fixture shows it
    assert b.best_iteration + 1 < b.num_boosted_rounds()
    return b


def reference(path, X):
    """Predictions of the booster as saved: load the file back."""
    b = xgb.Booster(params={"nthread": 1}, model_file=path)
    return b.predict(xgb.DMatrix(X, nthread=1))


def make_fixture(outdir, spec):
    name, dataset, params, rounds, target, train_nan, test_nan = spec
    rs = np.random.RandomState(SEED + sum(map(ord, name)))

    X, y = load(dataset)
    if target == "half":
        y = y / 2.0                   # wine classes 0, 1, 2 into [0, 1]

    tr, te = split(len(y), TEST_SHARE.get(dataset, 0.2), rs)
    Xtr = punch_holes(X[tr], train_nan, rs) if train_nan else X[tr]
    Xte = punch_holes(X[te], test_nan, rs) if test_nan else X[te]

    booster = train(params, Xtr, y[tr], rounds)

    model = os.path.join(outdir, name + ".json")
    booster.save_model(model)

    pred = reference(model, Xte).astype(np.float32)

    noutputs = 1 if pred.ndim == 1 else pred.shape[1]

    lines = []
    lines.append('{"model":"%s.json",' % name)
    lines.append('"dataset":"%s",' % dataset)
    lines.append('"objective":"%s",' % params["objective"])
    lines.append('"xgboost_version":"%s",' % xgb.__version__)
    lines.append('"nfeatures":%d,' % X.shape[1])
    lines.append('"noutputs":%d,' % noutputs)
    lines.append('"rows":[')
    lines.append(",\n".join(row_text(r) for r in Xte) + "],")
    lines.append('"predictions":[')

    if noutputs == 1:
        lines.append(",\n".join(f32_text(v) for v in pred) + "]}")

    else:
        lines.append(",\n".join(row_text(r) for r in pred) + "]}")

    ref = os.path.join(outdir, name + ".ref.json")
    with open(ref, "w") as f:
        f.write("\n".join(lines) + "\n")

    # the file must say exactly what we computed

    with open(ref) as f:
        back = json.load(f)

    got = np.array([[np.nan if v is None else v for v in r]
                    for r in back["rows"]], dtype=np.float64)
    assert np.array_equal(got.astype(np.float32), Xte, equal_nan=True)
    assert np.array_equal(np.array(back["predictions"]).astype(np.float32),
                          pred)

    return [model, ref]


def make_bench(outdir):
    os.makedirs(outdir, exist_ok=True)

    X, y = datasets.make_classification(n_samples=20000, n_features=32,
                                        n_informative=20, n_redundant=4,
                                        random_state=SEED)
    X = X.astype(np.float32)

    booster = train({"objective": "binary:logistic", "max_depth": 6,
                     "eta": 0.1, "min_child_weight": 0},
                    X[:16000], y[:16000], 100)

    model = os.path.join(outdir, "bench_100x6.json")
    booster.save_model(model)

    rows = os.path.join(outdir, "bench_rows.f32")
    np.ascontiguousarray(X[16000:], dtype="<f4").tofile(rows)

    # one request of the simple protocol, for bench/run.sh's end-to-end case
    request = os.path.join(outdir, "bench_row.json")
    with open(request, "w") as f:
        f.write('{"features":%s}' % row_text(X[16000]))

    print("bench: %s (100 trees, depth 6, 32 features), %s (%d rows), %s"
          % (model, rows, 4000, request))


def main():
    args = sys.argv[1:]

    if args[:1] == ["--bench"]:
        make_bench(args[1] if len(args) > 1 else "build/bench")
        return 0

    check = args[:1] == ["--check"]
    outdir = HERE

    if check:
        import tempfile
        outdir = tempfile.mkdtemp(prefix="xgb-fixtures-")

    made = []
    for spec in FIXTURES:
        made += make_fixture(outdir, spec)

    if not check:
        total = sum(os.path.getsize(p) for p in made)
        print("fixtures: %d files, %d bytes, xgboost %s"
              % (len(made), total, xgb.__version__))
        return 0

    differ = 0
    for p in made:
        committed = os.path.join(HERE, os.path.basename(p))
        with open(p, "rb") as a:
            with open(committed, "rb") as b:
                if a.read() != b.read():
                    print("differs: %s" % committed)
                    differ += 1

    print("fixtures: %d files, %d differ" % (len(made), differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
