#!/usr/bin/python3
"""Writes breast_cancer_slices.csv: slicing features for the bundled breast cancer
predictions (same rows, same order as breast_cancer_y_true.npy), for the sliced-evaluation
examples of docs/guide.md and docs/cli.md. Columns: size (mean radius binned at its
tertiles: small, medium, large) and texture (mean texture binned at its quartiles: 0 to 3).
Run: /usr/bin/python3 make_slice_data.py"""
import csv
import os

import numpy as np
from sklearn.datasets import load_breast_cancer

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    data = load_breast_cancer()
    radius = data.data[:, list(data.feature_names).index("mean radius")]
    texture = data.data[:, list(data.feature_names).index("mean texture")]
    size = np.digitize(radius, np.quantile(radius, [1 / 3, 2 / 3]))
    names = np.array(["small", "medium", "large"])[size]
    texture_bin = np.digitize(texture, np.quantile(texture, [0.25, 0.5, 0.75]))
    with open(os.path.join(HERE, "breast_cancer_slices.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["size", "texture"])
        for s, t in zip(names, texture_bin):
            w.writerow([s, int(t)])


if __name__ == "__main__":
    main()
