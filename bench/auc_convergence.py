#!/usr/bin/python3
"""|binned AUC - scikit-learn's exact AUC| against num_thresholds, on the bundled
breast-cancer predictions and on random scores (1e6 rows, or --rows), for both metric
dtypes (float32: Keras's float32 bucketing, the default; float64). With 1e5-1e6 thresholds
the counting is radix-partitioned (docs/performance.md, "AUC with many thresholds").
Usage: PYTHONPATH=build/python bench/auc_convergence.py [--rows N] [--float32-scores]"""
import argparse
import os

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

import tally

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6, help="rows of the random set (default 1e6)")
    parser.add_argument("--float32-scores", action="store_true", help="round the random scores to float32")
    args = parser.parse_args()
    data = os.path.join(HERE, "..", "examples", "data")
    sets = {"breast cancer (569)": (np.load(os.path.join(data, "breast_cancer_y_true.npy")),
                                    np.load(os.path.join(data, "breast_cancer_y_pred.npy")).astype(np.float64))}
    rng = np.random.default_rng(0)
    rows = int(args.rows)
    y = (rng.random(rows) < 0.3).astype(np.int64)
    p = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    if args.float32_scores:
        p = p.astype(np.float32)
    sets[f"random ({rows:.0e})"] = (y, p)
    grids = [200, 10_000, 100_000, 1_000_000]
    print("| data | metric | dtype | " + " | ".join(f"T = {t:g}" for t in grids) + " |")
    print("|---|---|---|" + "---|" * len(grids))
    for name, (t, p) in sets.items():
        exact_roc, exact_ap = roc_auc_score(t, p), average_precision_score(t, p)
        for dtype in ("float32", "float64"):
            roc, pr = [], []
            for grid in grids:
                m = tally.metrics.AUC(num_thresholds=grid, dtype=dtype)
                m.update_state(t, p)
                roc.append(abs(m.result() - exact_roc))
                m = tally.metrics.AUC(num_thresholds=grid, curve="PR", summation_method="majoring", dtype=dtype)
                m.update_state(t, p)
                pr.append(abs(m.result() - exact_ap))
            print(f"| {name} | ROC AUC | {dtype} | " + " | ".join(f"{d:.1e}" for d in roc) + " |")
            print(f"| {name} | PR AUC (majoring) vs average precision | {dtype} | " +
                  " | ".join(f"{d:.1e}" for d in pr) + " |")


if __name__ == "__main__":
    main()
