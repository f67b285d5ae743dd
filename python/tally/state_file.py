"""Durable state: save a metric's or a collection's state to a file and load it back, so
an evaluation killed midway restarts from its last save and ends with exactly the result
of an uninterrupted run::

    tally.save_state(metrics, "eval.state", user_data={"next_batch": k + 1})
    ...
    saved = tally.load_state("eval.state")
    saved.restore(metrics)
    start = saved.user_data["next_batch"]

The file is tally's C++ state file (docs/reliability.md): written atomically (temporary
file, fsync, rename), with a format version, the metrics' configs and layout hash, and a
checksum, so a C++ program reads what Python wrote and the reverse. A truncated, corrupt
or foreign file raises tally.StateError naming the file and what is wrong.

Only built-in (C++) metrics can be saved yet: a ``tally.Metric`` written in Python keeps
its state and its class in Python, which the file format (built from the C++ registry)
cannot name; saving one raises tally.InvalidArgument. Use its ``to_vector()`` and
``get_config()`` to persist it yourself.
"""
import json
import os

from . import _tally
from ._tally import InvalidArgument
from .collection import MetricCollection
from .metrics import BuiltinMetric

__all__ = ["SavedState", "save_state", "load_state"]


def _core_of(metric, where, verb="save_state"):
    if isinstance(metric, BuiltinMetric):
        return metric._core
    raise InvalidArgument(
        f"{verb}: {where} is a {type(metric).__name__} (name {getattr(metric, 'name', '?')!r}), a metric "
        "written in Python; only built-in (C++) metrics can be saved and restored yet. Save its to_vector() and "
        "get_config() yourself, or use a built-in metric from tally.metrics")


def _checked_user_data(user_data):
    try:
        json.dumps(user_data, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:  # RecursionError: nested past Python's limit
        raise InvalidArgument(f"save_state: user_data must be JSON (dicts, lists, strings, finite numbers, "
                              f"booleans, None); {e}") from None
    return user_data


def save_state(obj, path, user_data=None):
    """Writes a built-in metric's or a MetricCollection's config, layout and state to
    ``path`` atomically; ``user_data`` (any JSON-able object, e.g. the next batch index)
    is stored alongside and returned by ``load_state(path).user_data``. Metrics written
    in Python (tally.Metric subclasses) are refused with tally.InvalidArgument."""
    user_data = _checked_user_data(user_data)
    path = os.fspath(path)
    if isinstance(obj, MetricCollection):
        cores = [_core_of(m, f'metric "{m.name}" of the collection') for m in obj.metrics()]
        _tally.save_state_metrics(cores, path, user_data)
    elif isinstance(obj, _tally._Metric):
        _tally.save_state_metric(obj, path, user_data)
    else:
        _tally.save_state_metric(_core_of(obj, "the metric"), path, user_data)


class SavedState:
    """A state file read and verified by ``load_state``: restore it into metrics, or build
    new ones from the saved configurations."""

    def __init__(self, core):
        self._core = core

    @property
    def kind(self):
        """"metric" or "collection": what was saved."""
        return self._core.kind

    @property
    def user_data(self):
        """The user_data given to save_state (a fresh Python object on each access)."""
        return self._core.user_data

    @property
    def layout_hash(self):
        """The 64-bit layout hash of what was saved (names, classes, configs, variables)."""
        return self._core.layout_hash

    @property
    def names(self):
        """Names of the saved metrics, in order."""
        return list(self._core.names)

    def restore(self, obj):
        """Restores the saved state into a built-in metric (for a metric file) or a
        MetricCollection (for a collection file) with the same names, classes, configs and
        layouts. Raises tally.StateError naming both sides otherwise; ``obj`` is unchanged
        on error."""
        if isinstance(obj, MetricCollection):
            self._core.restore_metrics(
                [_core_of(m, f'metric "{m.name}" of the collection', "restore") for m in obj.metrics()])
        elif isinstance(obj, _tally._Metric):
            self._core.restore_metric(obj)
        else:
            self._core.restore_metric(_core_of(obj, "the target", "restore"))

    def to_metric(self):
        """A new metric (the class tally.metrics.get returns) holding the saved state."""
        return BuiltinMetric._wrap(self._core.to_metric())

    def to_collection(self):
        """A new MetricCollection built from the saved specs, holding the saved state."""
        return MetricCollection([BuiltinMetric._wrap(core) for core in self._core.to_metrics()])

    def __repr__(self):
        return f"<tally.SavedState {self.kind} {self.names} layout_hash={self.layout_hash:016x}>"


def load_state(path):
    """Reads and verifies a state file written by save_state (from Python or C++)."""
    return SavedState(_tally.load_state(os.fspath(path)))
