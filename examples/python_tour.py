"""A tour of tally's Python API: a collection of built-in and Python-written metrics,
pickling a half-done evaluation, the functional and stateless forms, and signatures.
Run with an installed package (pip install --no-build-isolation .) or PYTHONPATH=build/python."""
import inspect
import pickle

import numpy as np

import tally


class PositiveRate(tally.Metric):
    """Share of predictions above 0.5, with its state in declared variables, so it merges."""

    direction = "none"

    def __init__(self, name="positive_rate", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.positives = self.add_weight("positives", shape=(), dtype=np.int64)
        self.total = self.add_weight("total", shape=(), dtype=np.int64)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred)
        self.positives.assign_add(int(np.sum(y_pred > 0.5)))
        self.total.assign_add(y_pred.size)

    def result(self):
        return float(self.positives.value / max(int(self.total.value), 1))


def main():
    rng = np.random.default_rng(0)
    y = (rng.random(1000) > 0.5).astype(np.float32)
    p = np.clip(y * 0.3 + rng.random(1000) * 0.7, 0, 1)

    auc = tally.metrics.AUC()
    col = tally.MetricCollection([auc, "precision", "recall", PositiveRate()])
    col.update_state(y[:500], p[:500])

    # Half-way: the whole evaluation pickles (joblib, multiprocessing and torch.save use this).
    resumed = pickle.loads(pickle.dumps(col))
    resumed.update_state(y[500:], p[500:])
    col.update_state(y[500:], p[500:])
    assert resumed.result() == col.result()

    print(col)                                          # names and current values
    print("auc is the member:", col["auc"] is auc)
    print("functional:", tally.functional.auc(y, p) == auc.result())
    stateless = auc.stateless_update_state(auc.stateless_reset_state(), y, p)
    print("stateless:", auc.stateless_result(stateless) == auc.result())
    print("signature:", inspect.signature(tally.metrics.TopKCategoricalAccuracy))
    tally.all_reduce_metrics(col, tally.NotDistributedContext())  # one process: unchanged
    print("positive rate:", round(col["positive_rate"].result(), 3))


if __name__ == "__main__":
    main()
