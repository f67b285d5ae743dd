"""MetricCollection: named metrics (built-in or written in Python) updated together, with
one state vector: the C++ ``tally::MetricCollection`` (shared per-batch work such as one
confusion count for Precision, Recall and AUC, one layout hash, all-or-nothing updates).

A metric object given to a collection *becomes* that collection's member: updates through
the collection show in the object and the other way round. A metric belongs to at most
one collection; pass ``metric.clone()`` to put a copy in another. The collection is a
mapping from names to metrics: ``"auc" in col``, ``col["auc"]``, ``len(col)``,
iteration over names, ``keys()``, ``values()``, ``items()``."""
from collections.abc import Mapping

from . import _tally
from ._rows import ROW_INPUT_NAMES, select_rows
from .metric import Metric
from .metrics import BuiltinMetric, get, serialize

__all__ = ["MetricCollection"]


class MetricCollection(Mapping):
    """Updates every metric with the same inputs; results, vectors and merges cover all."""

    def __init__(self, metrics=()):
        self._core = _tally._MetricCollection()
        self._members = []
        for m in metrics:
            self.add(m)

    def add(self, metric):
        """Adds a metric (an object or a spec: name, alias, JSON or dict); its name must be new."""
        if not isinstance(metric, (BuiltinMetric, Metric)):
            metric = get(metric)
        if getattr(metric, "_collection", None) is not None:
            raise _tally.InvalidArgument(
                f'MetricCollection: metric "{metric.name}" already belongs to a collection; add metric.clone()')
        if isinstance(metric, Metric):
            metric._state_check("a MetricCollection")
        member = self._core.add(metric._core)  # a copy with config and state, owned by the collection
        metric.__dict__["_core"] = member
        metric._collection = self
        self._members.append(metric)

    def metrics(self):
        """The metric objects, in order."""
        return list(self._members)

    def names(self):
        """Names in order."""
        return [m.name for m in self._members]

    # --- Mapping ------------------------------------------------------------------------

    def __len__(self):
        return len(self._members)

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name):
        return any(m.name == name for m in self._members)

    def __getitem__(self, name):
        for m in self._members:
            if m.name == name:
                return m
        raise KeyError(f'MetricCollection: no metric named "{name}"; the metrics are {", ".join(self.names())}')

    # --- Keras verbs --------------------------------------------------------------------

    def update_state(self, y_true, y_pred, sample_weight=None, valid_rows=None, *, query_ids=None, index=None):
        """Updates every metric; all or nothing: if one rejects the batch, none changes.

        Each member receives the auxiliary inputs (``query_ids``, ``index``) it takes.
        ``valid_rows``: a boolean mask of the rows that count (drops a DistributedSampler's
        padded repeats, docs/distributed.md); a batch with no valid row changes nothing."""
        if valid_rows is not None:
            rows = select_rows(valid_rows, (y_true, y_pred, sample_weight, query_ids, index), "MetricCollection",
                               ROW_INPUT_NAMES)
            if rows is None:
                return
            y_true, y_pred, sample_weight, query_ids, index = rows
        self._core.update_state(y_true, y_pred, sample_weight, query_ids=query_ids, index=index)

    def result(self):
        """{name: result} in insertion order; a Classwise member gives one "<name>_<label>" key per class,
        as TorchMetrics' MetricCollection does with a ClasswiseWrapper."""
        out = {}
        for m in self._members:
            value = m.result()
            if isinstance(value, dict):
                out.update(value)
            else:
                out[m.name] = value
        return out

    def reset_state(self):
        """Forgets everything seen, in every metric."""
        for m in self._members:
            m.reset_state()

    reset_states = reset_state

    def merge_state(self, other):
        """Merges a collection with the same metrics (names, classes, configs, in order)."""
        if not isinstance(other, MetricCollection):
            raise _tally.StateError(f"MetricCollection: cannot merge a {type(other).__name__}")
        self._core.merge_state(other._core)

    def to_vector(self):
        """Every metric's state vector, concatenated."""
        return self._core.to_vector()

    def from_vector(self, values):
        """Restores every metric from one vector; length checked first; unchanged on error."""
        self._core.from_vector(values)

    def state(self):
        """Snapshots of every metric's state."""
        return [m.state() for m in self._members]

    def layout_hash(self):
        """The 64-bit layout hash that all_reduce_metrics and state files compare."""
        return self._core.layout_hash()

    def shared_work_groups(self):
        """Lists of member names that share per-batch work (one confusion count, ...)."""
        names = self.names()
        return [[names[i] for i in group] for group in self._core.shared_work_groups()]

    def clone(self):
        """A deep copy: new metric objects with the same configs and states."""
        return MetricCollection([m.clone() for m in self._members])

    def get_config(self):
        """{"metrics": [serialized metric, ...]} (Keras serialize of each member)."""
        return {"metrics": [serialize(m) for m in self._members]}

    @classmethod
    def from_config(cls, config):
        """The collection of ``get_config()``; Python metrics are rebuilt from their class."""
        import importlib
        members = []
        for spec in config["metrics"]:
            module = spec.get("module", "")
            if module and not module.startswith(("tally", "keras")):  # built-ins serialize as keras.metrics
                klass = getattr(importlib.import_module(module), spec["class_name"])
                members.append(klass.from_config(spec["config"]))
            else:
                members.append(get({"class_name": spec["class_name"], "config": spec["config"]}))
        return cls(members)

    # --- pickle and copy ------------------------------------------------------------------

    def __reduce__(self):
        return (_rebuild, ([_detached(m) for m in self._members],))

    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        return self.clone()

    def __repr__(self):
        parts = []
        for m in self._members:
            try:
                value = m.result()
                text = f"{value:.6g}" if isinstance(value, float) else repr(value)
            except Exception:  # noqa: BLE001 - repr must not raise
                text = "?"
            parts.append(f"{m.name}={text}")
        return f"<tally.MetricCollection {', '.join(parts)}>"


def _detached(metric):
    # Members are pickled as independent metrics (config + state); the collection re-adopts them.
    return metric.clone()


def _rebuild(members):
    return MetricCollection(members)
