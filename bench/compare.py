#!/usr/bin/python3
"""Times tally against numpy, scikit-learn and (when installed) torch in the same run,
on the same arrays, and prints a table of ratios (peer time / tally time; > 1 means tally
is faster). Also measures the fixed cost of one update_state on a 10-element batch.

Usage: PYTHONPATH=build/python bench/compare.py [--sizes 1e5,1e6,1e7] [--repeat 3]"""
import argparse
import time

import numpy as np
from sklearn import metrics as skm

import tally

try:
    import torch
except ImportError:  # torch is optional
    torch = None


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def tally_run(factory, *args):
    def run():
        m = factory()
        m.update_state(*args)
        return m.result()
    return run


def cases(n, rng):
    y = (rng.random(n) < 0.4).astype(np.int64)
    p = rng.random(n).astype(np.float32)
    yr = rng.normal(size=n).astype(np.float32)
    pr = (yr + rng.normal(0, 0.5, n)).astype(np.float32)
    out = [
        ("binary accuracy", tally_run(tally.metrics.BinaryAccuracy, y, p),
         {"numpy": lambda: np.mean((p > 0.5) == y), "sklearn": lambda: skm.accuracy_score(y, p > 0.5)}),
        ("MSE", tally_run(tally.metrics.MeanSquaredError, yr, pr),
         {"numpy": lambda: np.mean((yr - pr) ** 2), "sklearn": lambda: skm.mean_squared_error(yr, pr)}),
    ]
    if "AUC" in tally.metrics.__all__:
        out.append(("ROC AUC (200 bins vs exact)", tally_run(tally.metrics.AUC, y, p),
                    {"sklearn": lambda: skm.roc_auc_score(y, p)}))
        out.append(("ROC AUC (1e5 bins vs exact)", tally_run(lambda: tally.metrics.AUC(num_thresholds=100_000), y, p),
                    {"sklearn": lambda: skm.roc_auc_score(y, p)}))
    rows = max(n // 10, 1)
    labels = rng.integers(0, 10, rows)
    scores = rng.random((rows, 10)).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[labels]
    pred = (scores > 0.5).astype(np.int64)
    out.append(("F1 macro, 10 classes", tally_run(lambda: tally.metrics.F1Score(average="macro", threshold=0.5),
                                                   onehot, scores),
                {"sklearn": lambda: skm.f1_score(onehot.astype(np.int64), pred, average="macro", zero_division=0)}))
    logits = rng.normal(size=(rows, 10)).astype(np.float32)
    out.append(("crossentropy from logits, 10 classes",
                tally_run(lambda: tally.metrics.SparseCategoricalCrossentropy(from_logits=True), labels, logits),
                {"numpy": lambda: np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(rows), labels]),
                 "sklearn": lambda: skm.log_loss(labels, np.exp(logits) / np.exp(logits).sum(1, keepdims=True),
                                                 labels=list(range(10)))}))
    if torch is not None:
        tl, tg = torch.from_numpy(logits), torch.from_numpy(labels)
        out[-1][2]["torch"] = lambda: torch.nn.functional.cross_entropy(tl, tg).item()
    rows_k = max(n // 1000, 1)
    labels_k = rng.integers(0, 1000, rows_k)
    scores_k = rng.random((rows_k, 1000)).astype(np.float32)
    out.append(("top-5 accuracy, 1000 classes", tally_run(lambda: tally.metrics.SparseTopKCategoricalAccuracy(k=5),
                                                           labels_k, scores_k),
                {"sklearn": lambda: skm.top_k_accuracy_score(labels_k, scores_k, k=5, labels=np.arange(1000)),
                 "numpy": lambda: np.mean((scores_k > scores_k[np.arange(rows_k), labels_k][:, None]).sum(1) < 5)}))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1e5,1e6,1e7")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"tally {tally.version()}, numpy {np.__version__}, torch {'absent' if torch is None else torch.__version__}")
    print(f"{'metric':38} {'rows':>6} {'tally ms':>9}  peer ratios (peer time / tally time)")
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        for name, tally_fn, peers in cases(size, rng):
            t = best(tally_fn, args.repeat)
            ratios = ", ".join(f"{peer} {best(fn, args.repeat) / t:.1f}x" for peer, fn in peers.items())
            print(f"{name:38} {size:>6.0e} {t * 1e3:9.2f}  {ratios}")
    m = tally.metrics.Mean()
    x = np.arange(10, dtype=np.float64)
    for _ in range(1000):
        m.update_state(x)
    t0 = time.perf_counter()
    for _ in range(100_000):
        m.update_state(x)
    per_call = (time.perf_counter() - t0) / 100_000
    print(f"update_state on a 10-element numpy batch: {per_call * 1e6:.2f} us per call (Mean)")
    b = tally.metrics.BinaryAccuracy()
    xb = (x > 4).astype(np.float64)
    t0 = time.perf_counter()
    for _ in range(100_000):
        b.update_state(xb, x / 10)
    print(f"update_state on a 10-element batch pair: {(time.perf_counter() - t0) / 100_000 * 1e6:.2f} us per call "
          "(BinaryAccuracy)")


if __name__ == "__main__":
    main()
