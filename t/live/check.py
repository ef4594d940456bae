#!/usr/bin/python3
"""Helpers for scripts/test-metrics-live.sh, run by Debian's /usr/bin/python3
(python3-prometheus-client).  Every command prints what it found and exits
non-zero when the input is wrong.

  check.py text FILE          parse FILE (Prometheus text 0.0.4) with
                              prometheus_client's parser; check that every
                              histogram's buckets never decrease and that its
                              +Inf bucket equals _count; print one line per
                              sample: name{k="v",...} value, labels sorted
  check.py om FILE            parse FILE (OpenMetrics 1.0) with the strict
                              parser; it must end with "# EOF\\n"; print the
                              samples like `text`, then "exemplar name{..} ID"
  check.py mono BEFORE AFTER  every sample of every counter and histogram
                              family in BEFORE is in AFTER, not smaller
  check.py decreases START    stdin: Prometheus' JSON answer to a range
                              query; print each step down of each series,
                              in seconds after START (unix time)
  check.py log FILE FROM      access-log lines FROM.. (1-based): each one a
                              JSON object whose model, version, status,
                              infer_status, batch, prediction, trace and
                              span ids are those of its uri and the body the
                              script sends there; print counts "uri model
                              status infer_status N" and "trace TRACE_ID" of
                              the last line
"""

import json
import math
import re
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_families)
from prometheus_client.parser import (
    text_string_to_metric_families as text_families)

# uri -> model, version, and for the body the script sends there: rows,
# the first output value ($infer_prediction) and how far it may be: linear3
# on [1,2,3] and [4,5,6] gives 6 and affine2 on [1,2] 0.25, exactly;
# logistic2x2 on [1,2] gives sigmoid(1), which the model computes in
# single precision: 2 float32 ulps
LOCATIONS = {
    "/predict": ("m", "3", 2, 6.0, 0.0),
    "/predict_tp": ("p", "7", 1, 1 / (1 + math.exp(-1)), 2 * 2.0 ** -24),
    "/predict_a": ("a", "2", 1, 0.25, 0.0),
}
STATUS_OF = {"ok": 200, "bad_json": 400, "bad_shape": 422,
             "content_type": 415}


def key(name, labels):
    return name + "{" + ",".join(
        '%s="%s"' % (k, labels[k]) for k in sorted(labels)) + "}"


def fmt(v):
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return "%d" % v
    return repr(v)


def samples(families):
    """{key: value} and {key: family type} of every sample"""
    vals, types = {}, {}
    for fam in families:
        for s in fam.samples:
            k = key(s.name, s.labels)
            if k in vals:
                raise ValueError("duplicate sample " + k)
            vals[k] = s.value
            types[k] = fam.type
    return vals, types


def histograms_sound(families):
    """cumulative buckets never decrease, +Inf equals _count"""
    for fam in families:
        if fam.type != "histogram":
            continue
        series = {}
        for s in fam.samples:
            rest = {k: v for k, v in s.labels.items() if k != "le"}
            h = series.setdefault(key("", rest), {"b": [], "count": None})
            if s.name.endswith("_bucket"):
                h["b"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                h["count"] = s.value
        for labels, h in series.items():
            b = sorted(h["b"])
            if not b or b[-1][0] != math.inf:
                raise ValueError("%s%s: no +Inf bucket" % (fam.name, labels))
            for (le0, v0), (le1, v1) in zip(b, b[1:]):
                if v1 < v0:
                    raise ValueError("%s%s: bucket le=%g (%g) < le=%g (%g)"
                                     % (fam.name, labels, le1, v1, le0, v0))
            if h["count"] != b[-1][1]:
                raise ValueError("%s%s: _count %r != +Inf bucket %r"
                                 % (fam.name, labels, h["count"], b[-1][1]))


def cmd_text(path):
    with open(path, encoding="utf-8") as f:
        fams = list(text_families(f.read()))
    histograms_sound(fams)
    vals, _ = samples(fams)
    for k in sorted(vals):
        print(k, fmt(vals[k]))


def cmd_om(path):
    with open(path, encoding="utf-8") as f:
        body = f.read()
    if not body.endswith("# EOF\n"):
        print("om: the text does not end with '# EOF\\n'")
        return 1
    fams = list(om_families(body))
    histograms_sound(fams)
    vals, _ = samples(fams)
    for k in sorted(vals):
        print(k, fmt(vals[k]))
    for fam in fams:
        for s in fam.samples:
            if s.exemplar is not None:
                print("exemplar", key(s.name, s.labels),
                      s.exemplar.labels.get("trace_id", "-"))
    return 0


def cmd_mono(before, after):
    with open(before, encoding="utf-8") as f:
        b, types = samples(text_families(f.read()))
    with open(after, encoding="utf-8") as f:
        a, _ = samples(text_families(f.read()))
    compared = bad = 0
    for k in sorted(b):
        if types[k] not in ("counter", "histogram"):
            continue
        compared += 1
        if k not in a:
            print("mono: missing after:", k)
            bad += 1
        elif a[k] < b[k]:
            print("mono: went back:", k, fmt(b[k]), "->", fmt(a[k]))
            bad += 1
    print("mono: %d samples compared, %d went back or vanished"
          % (compared, bad))
    return 1 if bad or compared == 0 else 0


def close(text, want, ulps):
    """the logged value is want, within a relative distance ulps"""
    try:
        got = float(text)
    except (TypeError, ValueError):
        return False
    return abs(got - want) <= ulps * abs(want)


def cmd_log(path, first):
    hexid = re.compile(r"^[0-9a-f]+$")
    counts, bad, last_trace, n = {}, 0, "", 0
    with open(path, encoding="utf-8", errors="strict") as f:
        for i, line in enumerate(f, 1):
            if i < first:
                continue
            n += 1
            why = ""
            try:
                r = json.loads(line)
            except ValueError as e:
                why = "not JSON (%s)" % e
                r = None
            if r is not None and not isinstance(r, dict):
                why = "not an object"
            elif r is not None:
                loc = LOCATIONS.get(r.get("uri"))
                st = STATUS_OF.get(r.get("infer_status"))
                if loc is None:
                    why = "unknown uri"
                elif r.get("model") != loc[0]:
                    why = "model %r for %s" % (r.get("model"), r["uri"])
                elif r.get("version") != loc[1]:
                    why = "version %r" % r.get("version")
                elif st is None or r.get("status") != st:
                    why = "status %r with infer_status %r" % (
                        r.get("status"), r.get("infer_status"))
                elif not (len(r.get("trace_id", "")) == 32
                          and hexid.match(r["trace_id"])
                          and len(r.get("span_id", "")) == 16
                          and hexid.match(r["span_id"])):
                    why = "trace or span id"
                elif st == 200 and r.get("batch") != loc[2]:
                    why = "batch %r, want %d" % (r.get("batch"), loc[2])
                elif st == 200 and not (
                        isinstance(r.get("latency_us"), int)
                        and r["latency_us"] >= 0):
                    why = "latency_us %r" % r.get("latency_us")
                elif st == 200 and not close(r.get("prediction"), loc[3],
                                             loc[4]):
                    why = "prediction %r, want %.9g" % (r.get("prediction"),
                                                        loc[3])
                elif st != 200 and (r.get("batch") != 0
                                    or r.get("prediction") != ""):
                    why = "batch %r, prediction %r on an error" % (
                        r.get("batch"), r.get("prediction"))
            if why:
                bad += 1
                if bad <= 5:
                    print("log: line %d: %s: %s" % (i, why, line.rstrip()))
                continue
            c = (r["uri"], r["model"], r["status"], r["infer_status"])
            counts[c] = counts.get(c, 0) + 1
            last_trace = r["trace_id"]
    for c in sorted(counts):
        print("%s %s %d %s %d" % (c + (counts[c],)))
    print("lines %d bad %d" % (n, bad))
    print("trace", last_trace or "-")
    return 1 if bad else 0


def cmd_decreases(start):
    """stdin: Prometheus' answer to a range query (a matrix); print every
    step where a series went down, the time relative to start"""
    r = json.load(sys.stdin)
    n = 0
    for series in r["data"]["result"]:
        labels = dict(series["metric"])
        name = labels.pop("__name__", "")
        prev = None
        for t, v in series["values"]:
            v = float(v)
            if prev is not None and v < prev[1]:
                n += 1
                if n <= 8:
                    print("decrease %s %s -> %s between %.1f s and %.1f s"
                          % (key(name, labels), fmt(prev[1]), fmt(v),
                             prev[0] - start, t - start))
            prev = (t, v)
    print("decreases %d" % n)
    return 1 if n else 0


def main(argv):
    try:
        if argv[1:2] == ["text"] and len(argv) == 3:
            return cmd_text(argv[2]) or 0
        if argv[1:2] == ["om"] and len(argv) == 3:
            return cmd_om(argv[2])
        if argv[1:2] == ["mono"] and len(argv) == 4:
            return cmd_mono(argv[2], argv[3])
        if argv[1:2] == ["decreases"] and len(argv) == 3:
            return cmd_decreases(float(argv[2]))
        if argv[1:2] == ["log"] and len(argv) == 4:
            return cmd_log(argv[2], int(argv[3]))
    except Exception as e:          # a parser's complaint is the finding
        print("%s: %s: %s" % (argv[1], type(e).__name__, e))
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
