#!/usr/bin/python3
"""|tally one-vs-rest AUC - scikit-learn's roc_auc_score(multi_class="ovr")| against
num_thresholds (the binning error), macro and weighted, on the bundled digits predictions
(10 classes) and on 1e5 random rows of 5 classes (softmax scores), through the CLI. Usage:
bench/auc_ovr_error.py build/tools/tally/tally"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))


def tally_auc(tool, folder, t, p, spec):
    np.save(os.path.join(folder, "t.npy"), t)
    np.save(os.path.join(folder, "p.npy"), p)
    out = subprocess.run([tool, "eval", "--y-true", os.path.join(folder, "t.npy"), "--y-pred",
                          os.path.join(folder, "p.npy"), "-m", json.dumps(spec), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return list(json.loads(out)["metrics"].values())[0]


def main():
    tool = sys.argv[1]
    folder = tempfile.mkdtemp(prefix="auc_ovr_")
    data = os.path.join(HERE, "..", "examples", "data")
    digits_p = np.load(os.path.join(data, "digits_y_pred.npy")).astype(np.float64)
    sets = {"digits (10 classes, 1797)": (np.load(os.path.join(data, "digits_y_true.npy")).astype(np.int64),
                                          digits_p / digits_p.sum(axis=1, keepdims=True))}
    rng = np.random.default_rng(0)
    n, c = 100_000, 5
    y = rng.integers(0, c, n)
    logits = rng.normal(0.0, 1.0, (n, c))
    logits[np.arange(n), y] += 1.0
    e = np.exp(logits)
    sets["random (5 classes, 1e5)"] = (y, e / e.sum(axis=1, keepdims=True))
    grids = [200, 1_000, 10_000, 100_000]
    print("| data | average | " + " | ".join(f"T = {t:g}" for t in grids) + " |")
    print("|---|---|" + "---|" * len(grids))
    for name, (t, p) in sets.items():
        classes = p.shape[1]
        for average in ["macro", "weighted"]:
            exact = roc_auc_score(t, p, multi_class="ovr", average=average)
            errors = []
            for grid in grids:
                config = {"num_thresholds": grid, "multi_class": "ovr", "num_classes": classes, "average": average,
                          "dtype": "float64"}
                errors.append(abs(tally_auc(tool, folder, t, p, {"class_name": "AUC", "config": config}) - exact))
            print(f"| {name} | {average} | " + " | ".join(f"{d:.1e}" for d in errors) + " |")


if __name__ == "__main__":
    main()
