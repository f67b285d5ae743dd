"""Data, metrics and a Python subclass metric shared by the engine tests (and importable on
Dask workers and pool processes, which unpickle the metric by its module)."""
import numpy as np

import tally

SEED = 7
ROWS = 1001  # divisible by neither 2 nor 3 nor 4 (1001 = 7 * 11 * 13)


def dataset(rows, seed=SEED):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.4).astype(np.float64)
    p = np.clip(y * 0.3 + rng.random(rows) * 0.7, 0.0, 1.0)
    w = rng.integers(1, 4, rows).astype(np.float64)
    return y, p, w


class MaxAbsError(tally.Metric):
    """A Python subclass metric with a sum, a min and a max variable (all three aggregations)."""

    def __init__(self, name="max_abs_error"):
        super().__init__(name=name)
        self.largest = self.add_weight("largest", shape=(), aggregation="max")
        self.smallest = self.add_weight("smallest", shape=(), aggregation="min")
        self.count = self.add_weight("count", shape=(), dtype="int64")

    def reset_state(self):
        super().reset_state()
        self.largest.assign(-np.inf)
        self.smallest.assign(np.inf)

    def update_state(self, y_true, y_pred, sample_weight=None):
        error = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
        self.largest.assign(max(float(self.largest.value), float(error.max())))
        self.smallest.assign(min(float(self.smallest.value), float(error.min())))
        self.count.assign_add(error.size)

    def result(self):
        return float(self.largest.value)


def collection():
    return tally.MetricCollection(["binary_accuracy", "auc", "mse", tally.metrics.Precision(thresholds=0.4),
                                   tally.metrics.FalseNegatives(), MaxAbsError()])
