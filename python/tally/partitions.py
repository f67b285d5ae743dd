"""Evaluation split into partitions on any engine: each partition becomes a small picklable
``PartitionState`` (the metrics' state vector and its layout), states combine in any order
and grouping by each variable's declared aggregation (sum, min or max), and the combined
state merges into the metrics. The result equals one pass over all rows, whatever the
partitioning (counts exactly; float sums within rounding).

``tally.dask.evaluate`` runs this on Dask; with ``concurrent.futures`` it is::

    with ProcessPoolExecutor(4) as pool:
        states = pool.map(tally.partitions.evaluate_partition, repeat(metrics), y_parts, p_parts)
        tally.partitions.merge_into(metrics, tally.partitions.combine(states))

(docs/distributed.md, "Dask and process pools").
"""
import numpy as np

from ._tally import StateError
from .collection import MetricCollection
from .metric import Metric
from .metrics import BuiltinMetric

__all__ = ["PartitionState", "evaluate_partition", "combine", "merge_into"]

_AGGREGATE = {"sum": np.add, "min": np.minimum, "max": np.maximum}


class PartitionState:
    """The state of some metrics over some rows: ``vector`` (float64, every variable of every
    metric in order) and ``layout`` (per metric, per variable: shape and aggregation).
    ``rows`` counts the rows it covers. An empty partition has ``vector`` None."""

    __slots__ = ("vector", "layout", "rows")

    def __init__(self, vector, layout, rows):
        self.vector = vector
        self.layout = layout
        self.rows = rows

    def __getstate__(self):
        return (self.vector, self.layout, self.rows)

    def __setstate__(self, state):
        self.vector, self.layout, self.rows = state

    def __repr__(self):
        size = 0 if self.vector is None else self.vector.size
        return f"<tally.partitions.PartitionState {self.rows} rows, {size} values>"


def _members(metrics):
    if isinstance(metrics, MetricCollection):
        return metrics.metrics()
    if isinstance(metrics, (list, tuple)):
        return list(metrics)
    return [metrics]


def _variables_layout(metric):
    if isinstance(metric, Metric):
        metric._state_check("tally.partitions")
        return tuple((tuple(v.shape), v.aggregation) for v in metric.variables)
    return tuple((tuple(v["shape"]), v["aggregation"]) for v in metric.variables)


def _layout(metrics):
    return tuple(_variables_layout(m) for m in _members(metrics))


def _fresh(metrics):
    """An empty copy with the same configs (a list stays a list)."""
    if isinstance(metrics, (list, tuple)):
        copies = [m.clone() for m in metrics]
        for c in copies:
            c.reset_state()
        return copies
    copy = metrics.clone()
    copy.reset_state()
    return copy


def _as_rows(x):
    """A partition's column as something tally reads (pandas objects become numpy)."""
    if x is None or isinstance(x, np.ndarray):
        return x
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    return x


def _row_count(x):
    shape = getattr(x, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else 1
    return len(x)


def evaluate_partition(metrics, y_true, y_pred, sample_weight=None):
    """The state of an empty copy of ``metrics`` (a metric, a list, or a MetricCollection)
    after one update with this partition; ``metrics`` itself is not changed. Value metrics
    (Mean, Sum) take their values as ``y_pred`` and ``y_true`` None."""
    y_true, y_pred, sample_weight = _as_rows(y_true), _as_rows(y_pred), _as_rows(sample_weight)
    rows = _row_count(y_pred)
    if rows == 0:  # nothing to add; tally rejects empty batches, an empty partition is no error
        return PartitionState(None, None, 0)
    if sample_weight is not None and np.ndim(sample_weight) == 0:
        # One weight for every row, given per row: Keras reduces a batch with a scalar weight
        # to its mean first, which would make partitions of different sizes count alike.
        sample_weight = np.full(rows, float(sample_weight))
    fresh = _fresh(metrics)
    for target in ([fresh] if isinstance(fresh, MetricCollection) else _members(fresh)):
        if y_true is None:
            target.update_state(y_pred, sample_weight=sample_weight)
        else:
            target.update_state(y_true, y_pred, sample_weight=sample_weight)
    vector = np.concatenate([np.asarray(m.to_vector(), dtype=np.float64) for m in _members(fresh)])
    return PartitionState(vector, _layout(fresh), rows)


def combine(states):
    """One PartitionState from several, each variable combined by its aggregation. Empty
    states are skipped; states of different layouts (e.g. a class count inferred differently
    from different data) raise StateError."""
    states = [s for s in states if s is not None]
    full = [s for s in states if s.vector is not None]
    rows = sum(s.rows for s in states)
    if not full:
        return PartitionState(None, None, rows)
    layout = full[0].layout
    for s in full[1:]:
        if s.layout != layout:
            raise StateError(f"tally.partitions.combine: partitions disagree on the state layout ({s.layout} vs "
                             f"{layout}); fix the sizes a metric infers from its first batch in its config "
                             "(e.g. num_classes)")
    out = full[0].vector.copy()
    pos = 0
    for variables in layout:
        for shape, aggregation in variables:
            size = int(np.prod(shape, dtype=np.int64)) if shape else 1
            view = out[pos:pos + size]
            for s in full[1:]:
                _AGGREGATE[aggregation](view, s.vector[pos:pos + size], out=view)
            pos += size
    return PartitionState(out, layout, rows)


def _restore(metric, layout, vector):
    """Writes a state into an empty metric, sizing a layout that the first batch sizes
    (F1Score without num_classes) from the partition's shapes."""
    if isinstance(metric, BuiltinMetric) and np.asarray(metric.to_vector()).size != vector.size:
        from . import _tally
        _tally._set_variables(metric._core, [list(shape) for shape, _ in layout], vector)
    else:
        metric.from_vector(vector)


def merge_into(metrics, state):
    """Merges a (combined) PartitionState into ``metrics``: afterwards they hold what they held
    plus every row of the partitions, as if updated with them in one process."""
    if state.vector is None:
        return metrics
    if len(state.layout) != len(_members(metrics)):
        raise StateError(f"tally.partitions.merge_into: the state covers {len(state.layout)} metrics; "
                         f"received {len(_members(metrics))}")
    computed = _fresh(metrics)
    pos = 0
    for metric, variables in zip(_members(computed), state.layout):
        size = sum(int(np.prod(shape, dtype=np.int64)) if shape else 1 for shape, _ in variables)
        _restore(metric, variables, state.vector[pos:pos + size])
        pos += size
    unsized = [isinstance(m, BuiltinMetric) and np.asarray(m.to_vector()).size != np.asarray(c.to_vector()).size
               for m, c in zip(_members(metrics), _members(computed))]
    if isinstance(metrics, MetricCollection) and not any(unsized):
        metrics.merge_state(computed)
        return metrics
    pos = 0
    for mine, theirs, variables, empty in zip(_members(metrics), _members(computed), state.layout, unsized):
        size = np.asarray(theirs.to_vector()).size
        if empty:  # a layout the first batch sizes, never sized here: no data yet, so the state is ours
            _restore(mine, variables, state.vector[pos:pos + size])
        else:
            mine.merge_state(theirs)
        pos += size
    return metrics
