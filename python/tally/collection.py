"""MetricCollection: named metrics (built-in or written in Python) updated together, with
one state vector. Built from specs (names, aliases, JSON, dicts) or metric objects."""
import numpy as np

from . import _tally
from .metric import Metric, PyState, _locked
from .metrics import BuiltinMetric, get

__all__ = ["MetricCollection"]


class MetricCollection:
    """Updates every metric with the same inputs; results, vectors and merges cover all."""

    def __getstate__(self):
        # Copies get a lock of their own (the lock is made on first use).
        state = self.__dict__.copy()
        state.pop("_tally_lock", None)
        return state

    def __init__(self, metrics=()):
        self._metrics = []
        for m in metrics:
            self.add(m)

    @_locked
    def add(self, metric):
        """Adds a metric (or a spec); its name must be new."""
        if not isinstance(metric, (BuiltinMetric, Metric)):
            metric = get(metric)
        for existing in self._metrics:
            if existing.name == metric.name:
                raise _tally.InvalidArgument(
                    f'MetricCollection: two metrics are named "{metric.name}" (a {existing.class_name} and a '
                    f"{metric.class_name}); give one a different name")
        self._metrics.append(metric)

    def metrics(self):
        return list(self._metrics)

    def names(self):
        return [m.name for m in self._metrics]

    def __len__(self):
        return len(self._metrics)

    def __getitem__(self, name):
        for m in self._metrics:
            if m.name == name:
                return m
        raise KeyError(f'MetricCollection: no metric named "{name}"; the metrics are {", ".join(self.names())}')

    @_locked
    def update_state(self, y_true, y_pred, sample_weight=None):
        """Updates every metric; all or nothing: if one rejects the batch, none changes."""
        saved = [m.to_vector() for m in self._metrics]
        try:
            for m in self._metrics:
                if isinstance(m, BuiltinMetric):
                    m._core.update_state(y_true, y_pred, sample_weight)
                else:
                    m.update_state(y_true, y_pred, sample_weight)
        except BaseException:
            for m, v in zip(self._metrics, saved):
                m.from_vector(v)
            raise

    @_locked
    def result(self):
        """{name: result} in insertion order."""
        return {m.name: m.result() for m in self._metrics}

    @_locked
    def reset_state(self):
        for m in self._metrics:
            m.reset_state()

    @_locked
    def merge_state(self, other):
        """Merges a collection with the same metrics (names and classes, in order)."""
        if other.names() != self.names():
            raise _tally.StateError(f"MetricCollection: cannot merge {other.names()} into {self.names()}")
        for mine, theirs in zip(self._metrics, other._metrics):
            mine.merge_state(theirs)

    @_locked
    def to_vector(self):
        """Every metric's state vector, concatenated."""
        parts = [np.asarray(m.to_vector(), dtype=np.float64) for m in self._metrics]
        return np.concatenate(parts) if parts else np.zeros(0)

    @_locked
    def from_vector(self, values):
        """Restores every metric from one vector; length checked first; unchanged on error."""
        values = np.asarray(values, dtype=np.float64)
        sizes = [len(m.to_vector()) for m in self._metrics]
        if values.ndim != 1 or values.size != sum(sizes):
            raise _tally.StateError(f"MetricCollection: state vector has {values.size} elements; expected {sum(sizes)}")
        saved = [m.to_vector() for m in self._metrics]
        pos = 0
        try:
            for m, n in zip(self._metrics, sizes):
                m.from_vector(values[pos:pos + n])
                pos += n
        except BaseException:
            for m, v in zip(self._metrics, saved):
                m.from_vector(v)
            raise

    @_locked
    def state(self):
        """Snapshots of every metric's state."""
        return [m.state() for m in self._metrics]

    @_locked
    def clone(self):
        return MetricCollection([m.clone() for m in self._metrics])

    def __repr__(self):
        return f"<tally.MetricCollection {self.names()}>"
