#!/usr/bin/python3
"""|binned AUC - scikit-learn's exact AUC| against num_thresholds, on the bundled
breast-cancer predictions and on 1e6 random scores. Usage:
PYTHONPATH=build/python bench/auc_convergence.py"""
import os

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

import tally

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    data = os.path.join(HERE, "..", "examples", "data")
    sets = {"breast cancer (569)": (np.load(os.path.join(data, "breast_cancer_y_true.npy")),
                                    np.load(os.path.join(data, "breast_cancer_y_pred.npy")).astype(np.float64))}
    rng = np.random.default_rng(0)
    y = (rng.random(1_000_000) < 0.3).astype(np.int64)
    sets["random (1e6)"] = (y, np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1))
    grids = [200, 10_000, 100_000, 1_000_000]
    print("| data | metric | " + " | ".join(f"T = {t:g}" for t in grids) + " |")
    print("|---|---|" + "---|" * len(grids))
    for name, (t, p) in sets.items():
        exact_roc, exact_ap = roc_auc_score(t, p), average_precision_score(t, p)
        roc, pr = [], []
        for grid in grids:
            m = tally.metrics.AUC(num_thresholds=grid, dtype="float64")
            m.update_state(t, p)
            roc.append(abs(m.result() - exact_roc))
            m = tally.metrics.AUC(num_thresholds=grid, curve="PR", summation_method="majoring", dtype="float64")
            m.update_state(t, p)
            pr.append(abs(m.result() - exact_ap))
        print(f"| {name} | ROC AUC | " + " | ".join(f"{d:.1e}" for d in roc) + " |")
        print(f"| {name} | PR AUC (majoring) vs average precision | " + " | ".join(f"{d:.1e}" for d in pr) + " |")


if __name__ == "__main__":
    main()
