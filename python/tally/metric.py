"""Metrics written in Python (Keras ``PyMetric``): declare variables, update them in
``update_state``, compute ``result``. Such a metric merges, flattens to a vector and
all-reduces exactly like a built-in one::

    class BinaryTruePositives(tally.Metric):
        def __init__(self, name="binary_true_positives"):
            super().__init__(name=name)
            self.true_positives = self.add_variable(shape=(), name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = np.logical_and(np.asarray(y_true, bool), np.asarray(y_pred, bool))
            weights = 1.0 if sample_weight is None else np.asarray(sample_weight, float)
            self.true_positives.assign_add(np.sum(values * weights))

        def result(self):
            return float(self.true_positives.value)
"""
import functools
import re
import threading

import numpy as np

from ._tally import InvalidArgument, StateError

__all__ = ["Metric", "Variable"]

_AGGREGATIONS = ("sum", "min", "max")
_MAX_EXACT = 2.0 ** 53


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class Variable:
    """One declared state variable: a float64 or int64 numpy array with an aggregation."""

    def __init__(self, name, shape, dtype, aggregation):
        if dtype not in ("float64", "int64"):
            raise InvalidArgument(f"Variable {name!r}: dtype must be 'float64' or 'int64'; received {dtype!r}")
        if aggregation not in _AGGREGATIONS:
            raise InvalidArgument(f"Variable {name!r}: aggregation must be sum, min or max; received {aggregation!r}")
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        self.aggregation = aggregation
        self.value = np.zeros(self.shape, dtype=dtype)
        self.reset()

    def reset(self):
        """Back to the identity of the aggregation: 0, +inf (min) or -inf (max)."""
        if self.aggregation == "sum":
            self.value[...] = 0
        elif self.dtype == "int64":
            info = np.iinfo(np.int64)
            self.value[...] = info.max if self.aggregation == "min" else info.min
        else:
            self.value[...] = np.inf if self.aggregation == "min" else -np.inf

    def assign(self, value):
        """Replaces the value (broadcast to the declared shape)."""
        self.value[...] = value

    def assign_add(self, value):
        """Adds to the value in place."""
        self.value[...] = self.value + np.asarray(value, dtype=self.value.dtype)

    def numpy(self):
        """A copy of the value."""
        return self.value.copy()

    def __array__(self, dtype=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __repr__(self):
        return f"<tally.Variable {self.name} {self.dtype}{list(self.shape)} {self.aggregation}>"


_LOCK_GUARD = threading.Lock()


def _lock_of(obj):
    """The object's own re-entrant lock, made on first use (docs/reliability.md, "Threads")."""
    lock = obj.__dict__.get("_tally_lock")
    if lock is None:
        with _LOCK_GUARD:
            lock = obj.__dict__.setdefault("_tally_lock", threading.RLock())
    return lock


def _locked(method):
    # One verb at a time per object, as the C++ lock does for built-in metrics.
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        with _lock_of(self):
            return method(self, *args, **kwargs)
    wrapped._tally_locked = True
    return wrapped


def _atomic_update(update):
    # A failed update must leave the state as it was, as for built-in metrics; updates from
    # several threads are serialized by the metric's lock.
    @functools.wraps(update)
    def wrapped(self, *args, **kwargs):
        with _lock_of(self):
            saved = [v.value.copy() for v in self._variables]
            try:
                return update(self, *args, **kwargs)
            except BaseException:
                for v, old in zip(self._variables, saved):
                    v.value = old
                raise
    wrapped._tally_atomic = True
    return wrapped


class Metric:
    """Base class of metrics written in Python. Subclasses declare variables with
    ``add_variable`` in ``__init__`` and implement ``update_state`` and ``result``."""

    #: "up", "down" or "none": which direction is better, read by model selection.
    direction = "none"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        update = cls.__dict__.get("update_state")
        if update is not None and not getattr(update, "_tally_atomic", False):
            cls.update_state = _atomic_update(update)
        for verb in ("result", "reset_state"):
            method = cls.__dict__.get(verb)
            if method is not None and not getattr(method, "_tally_locked", False):
                setattr(cls, verb, _locked(method))

    def __getstate__(self):
        # Copies (clone, pickle) get a lock of their own.
        state = self.__dict__.copy()
        state.pop("_tally_lock", None)
        return state

    def __init__(self, name=None, dtype="float32"):
        self.name = name or _snake_case(type(self).__name__)
        self.dtype = dtype
        self._variables = []

    @property
    def class_name(self):
        return type(self).__name__

    def add_variable(self, shape=(), initializer="zeros", dtype="float64", aggregation="sum", name=None):
        """Declares a state variable (Keras add_variable); returns its Variable."""
        if initializer != "zeros":
            raise InvalidArgument(f"{self.name}: only the 'zeros' initializer is supported (state must merge)")
        name = name or f"variable_{len(self._variables)}"
        if any(v.name == name for v in self._variables):
            raise InvalidArgument(f"{self.name}: variable {name!r} declared twice")
        variable = Variable(name, shape, dtype, aggregation)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self):
        """The declared variables, in declaration order."""
        return list(self._variables)

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    @_locked
    def reset_state(self):
        """Back to the identity values."""
        for v in self._variables:
            v.reset()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _layout(self):
        return [(v.name, v.shape, v.dtype, v.aggregation) for v in self._variables]

    def _check_mergeable(self, other):
        if type(other) is not type(self) or other._layout() != self._layout():
            raise StateError(f"{self.name}: cannot merge a {type(other).__name__} with a different variable layout "
                             f"into a {type(self).__name__}")

    @_locked
    def merge_state(self, other):
        """Merges another metric (or a list) of the same class by each variable's aggregation."""
        others = list(other) if isinstance(other, (list, tuple)) else [other]
        for o in others:
            self._check_mergeable(o)
        for o in others:
            for mine, theirs in zip(self._variables, o._variables):
                if mine.aggregation == "sum":
                    mine.value[...] = mine.value + theirs.value
                elif mine.aggregation == "min":
                    mine.value[...] = np.minimum(mine.value, theirs.value)
                else:
                    mine.value[...] = np.maximum(mine.value, theirs.value)

    @_locked
    def to_vector(self):
        """All variables flattened in declaration order as one float64 vector."""
        if not self._variables:
            return np.zeros(0)
        return np.concatenate([np.asarray(v.value, dtype=np.float64).ravel() for v in self._variables])

    @_locked
    def from_vector(self, values):
        """Restores the state from a vector; checks length and integrality; unchanged on error."""
        values = np.asarray(values, dtype=np.float64)
        expected = sum(int(np.prod(v.shape)) for v in self._variables)
        if values.ndim != 1 or values.size != expected:
            raise StateError(f"{self.name}: state vector has {values.size} elements; expected {expected}")
        parts, pos = [], 0
        for v in self._variables:
            n = int(np.prod(v.shape))
            chunk = values[pos:pos + n]
            pos += n
            if v.dtype == "int64":
                finite = chunk[np.isfinite(chunk)]
                if np.any(finite != np.floor(finite)) or np.any(np.abs(finite) > _MAX_EXACT) or (
                        v.aggregation == "sum" and not np.all(np.isfinite(chunk))):
                    raise StateError(f"{self.name}: variable {v.name!r} is int64 and needs integers")
                chunk = np.where(np.isposinf(chunk), np.iinfo(np.int64).max,
                                 np.where(np.isneginf(chunk), np.iinfo(np.int64).min, chunk))
            parts.append(chunk.astype(v.dtype).reshape(v.shape))
        for v, p in zip(self._variables, parts):
            v.value = p

    def state(self):
        """An immutable snapshot: a (metric class, vector) pair with +, to_vector and result."""
        return PyState(self, self.to_vector())

    @_locked
    def set_state(self, state):
        """Replaces the state with a snapshot of the same class."""
        self._check_mergeable(state._template)
        self.from_vector(state.to_vector())

    def clone(self):
        """A deep copy with configuration and state."""
        import copy
        return copy.deepcopy(self)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class PyState:
    """Snapshot of a Python metric's state (the Python twin of tally.State)."""

    def __init__(self, template, vector):
        self._template = template.clone()
        self._template.from_vector(vector)

    def __add__(self, other):
        merged = self._template.clone()
        merged.merge_state(other._template)
        return PyState(merged, merged.to_vector())

    def to_vector(self):
        return self._template.to_vector()

    def from_vector(self, values):
        return PyState(self._template, values)

    def result(self):
        return self._template.result()
