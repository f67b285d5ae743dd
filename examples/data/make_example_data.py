#!/usr/bin/python3
"""Writes the bundled example data: held-out predictions of simple scikit-learn models on
data sets that Debian's python3-sklearn ships. Run: /usr/bin/python3 make_example_data.py"""
import os

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, array):
    np.save(os.path.join(HERE, name), array)


def main():
    x, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    proba = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    save("breast_cancer_y_true.npy", y.astype(np.int64))
    save("breast_cancer_y_pred.npy", proba.astype(np.float32))

    x, y = load_digits(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    proba = cross_val_predict(model, x, y, cv=5, method="predict_proba")
    save("digits_y_true.npy", y.astype(np.int64))
    save("digits_y_pred.npy", proba.astype(np.float32))

    x, y = load_diabetes(return_X_y=True)
    pred = cross_val_predict(Ridge(alpha=0.1), x, y, cv=5)
    save("diabetes_y_true.npy", y.astype(np.float64))
    save("diabetes_y_pred.npy", pred.astype(np.float64))


if __name__ == "__main__":
    main()
