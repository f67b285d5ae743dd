"""Metrics written in Python (Keras ``PyMetric``): declare variables, update them in
``update_state``, compute ``result``. Such a metric merges, flattens to a vector, joins a
``MetricCollection`` and all-reduces through the same C++ code as a built-in one: its
variables live in C++ and tally calls its Python methods back (docs/python.md)::

    class BinaryTruePositives(tally.Metric):
        def __init__(self, name="binary_true_positives"):
            super().__init__(name=name)
            self.true_positives = self.add_weight("true_positives", shape=())

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = np.logical_and(np.asarray(y_true, bool), np.asarray(y_pred, bool))
            weights = 1.0 if sample_weight is None else np.asarray(sample_weight, float)
            self.true_positives.assign_add(np.sum(values * weights))

        def result(self):
            return float(self.true_positives.value)

A subclass that keeps its state in plain attributes (``self.count = 0`` in ``reset_state``,
as reference document 001's JaccardScore) works alone, but tally cannot merge, flatten or
all-reduce what it cannot see: ``merge_state``, ``to_vector`` and ``all_reduce_metrics``
raise a StateError naming the metric unless the subclass overrides ``merge_state``.
"""
import functools
import re
import weakref

import numpy as np

from . import _tally
from ._rows import select_rows
from ._tally import InvalidArgument, StateError

__all__ = ["Metric", "Variable"]

_AGGREGATIONS = ("sum", "min", "max")


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _dtype_name(dtype, who):
    """'float64' / 'int64' from a string, a numpy dtype or a numpy type (np.int64)."""
    if dtype is None:
        return "float64"
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise InvalidArgument(f"{who}: dtype must be float64 or int64 (a string or a numpy dtype); "
                              f"received {dtype!r}") from None
    if name not in ("float64", "int64"):
        raise InvalidArgument(f"{who}: dtype must be float64 or int64 (state must merge exactly); received {name}")
    return name


class Variable:
    """One declared state variable of a Python metric: a float64 or int64 array with an
    aggregation (sum, min or max). The values live in the metric's C++ state; ``value`` and
    ``numpy()`` return copies, ``assign`` / ``assign_add`` write."""

    def __init__(self, metric, index, name, shape, dtype, aggregation):
        self._metric = metric
        self._index = index
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        self.aggregation = aggregation

    @property
    def value(self):
        """A copy of the current value (numpy array of the declared shape)."""
        return self._metric._core._value(self._index)

    def numpy(self):
        """A copy of the value."""
        return self.value

    def _check(self, value, what):
        array = np.asarray(value)
        if array.dtype == object:
            raise InvalidArgument(f"{self._metric.name}: {what} on variable {self.name!r} needs numbers; "
                                  f"received {type(value).__name__}")
        if self.dtype == "int64" and array.dtype.kind not in "biu":
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise InvalidArgument(f"{self._metric.name}: {what} on int64 variable {self.name!r} needs integers; "
                                      f"received {value!r} (convert explicitly if truncation is meant)")
        return array

    def assign(self, value):
        """Replaces the value (broadcast to the declared shape)."""
        array = self._check(value, "assign")
        out = np.empty(self.shape, dtype=np.float64)
        out[...] = array
        self._metric._core._write(self._index, out.ravel())

    def assign_add(self, value):
        """Adds to the value."""
        array = self._check(value, "assign_add")
        self.assign(self.value + array)

    def assign_sub(self, value):
        """Subtracts from the value."""
        array = self._check(value, "assign_sub")
        self.assign(self.value - array)

    def __array__(self, dtype=None, copy=None):
        v = self.value
        return v if dtype is None else v.astype(dtype)

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return f"<tally.Variable {self.name} {self.dtype}{list(self.shape)} {self.aggregation}>"


def _routed_update(update):
    # update_state runs through C++ Metric::update_state: on a copy of the state, committed
    # only if the Python code returns, so a failed update leaves the state as it was.
    @functools.wraps(update)
    def wrapped(self, *args, **kwargs):
        valid_rows = kwargs.pop("valid_rows", None)
        if valid_rows is not None:  # keep the valid rows of every array argument (docs/distributed.md)
            names = [("y_true", "y_pred", "sample_weight")[i] if i < 3 else f"argument {i}" for i in range(len(args))]
            names += list(kwargs)
            rows = select_rows(valid_rows, list(args) + list(kwargs.values()), self.name, names)
            if rows is None:
                return None
            args, kwargs = tuple(rows[:len(args)]), dict(zip(kwargs, rows[len(args):]))
        core = self.__dict__.get("_core")
        if core is None or not self.__dict__.get("_variables") or core._in_update():
            return update(self, *args, **kwargs)
        return core._update(args, kwargs)

    wrapped._tally_routed = True
    wrapped._tally_raw = update
    return wrapped


class Metric:
    """Base class of metrics written in Python (Keras 3 ``Metric`` / TF ``PyMetric``).

    Subclasses declare variables with ``add_weight`` / ``add_variable`` in ``__init__`` and
    implement ``update_state`` and ``result``. ``reset_state()`` is called at construction,
    as Keras does, so a subclass that sets up plain attributes there works as written."""

    #: "up", "down" or "none": which direction is better, read by model selection.
    direction = "none"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        update = cls.__dict__.get("update_state")
        if update is not None and not getattr(update, "_tally_routed", False):
            cls.update_state = _routed_update(update)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_tally_resets", False):
            cls.__init__ = _resetting_init(init)

    def __init__(self, name=None, dtype="float32"):
        self.name = name or _snake_case(type(self).__name__)
        self.dtype = dtype if isinstance(dtype, str) else np.dtype(dtype).name
        self._variables = []
        self.__dict__["_core"] = _tally._PythonMetric(weakref.ref(self), type(self).__name__, self.name, self.dtype)
        self._collection = None

    @property
    def class_name(self):
        return type(self).__name__

    def add_variable(self, shape=(), initializer="zeros", dtype="float64", aggregation="sum", name=None):
        """Declares a state variable (Keras 3 ``add_variable`` argument order); returns it."""
        return self._declare(name, shape, initializer, dtype, aggregation)

    def add_weight(self, name=None, shape=(), dtype=None, initializer="zeros", aggregation="sum", **kwargs):
        """Declares a state variable (TF / Keras ``add_weight`` order: name first). ``dtype``
        is a string or a numpy dtype (float64 or int64). Keras keywords that do not apply to
        metric state (``trainable=False``, ``synchronization``) are accepted and ignored."""
        if kwargs.get("trainable"):
            raise InvalidArgument(f"{self.name}: metric variables are not trainable; received trainable=True")
        unknown = set(kwargs) - {"trainable", "synchronization", "regularizer", "constraint", "use_resource"}
        if unknown:
            raise TypeError(f"add_weight() got unexpected keyword arguments {sorted(unknown)}")
        return self._declare(name, shape, initializer, dtype, aggregation)

    def _declare(self, name, shape, initializer, dtype, aggregation):
        if "_core" not in self.__dict__:
            raise InvalidArgument(f"{type(self).__name__}: call super().__init__() before declaring variables")
        if initializer not in ("zeros", None):
            raise InvalidArgument(f"{self.name}: only the 'zeros' initializer is supported (state must merge)")
        if aggregation not in _AGGREGATIONS:
            raise InvalidArgument(f"{self.name}: aggregation must be sum, min or max; received {aggregation!r}")
        if self._collection is not None:
            raise InvalidArgument(f"{self.name}: declare variables before adding the metric to a collection")
        dtype = _dtype_name(dtype, f"{self.name}: variable {name!r}")
        name = name or f"variable_{len(self._variables)}"
        shape = () if shape is None else tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else
                                                                 (shape,)))
        index = self._core._declare(name, list(shape), dtype, aggregation)
        variable = Variable(self, index, name, shape, dtype, aggregation)
        self._variables.append(variable)
        return variable

    @property
    def variables(self):
        """The declared variables, in declaration order."""
        return list(self._variables)

    weights = variables
    non_trainable_weights = variables
    non_trainable_variables = variables

    @property
    def trainable_weights(self):
        """Always empty: metric state is not trained."""
        return []

    trainable_variables = trainable_weights

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        """Back to the identity values of every variable."""
        self._core.reset_state()

    def reset_states(self):
        """TF 2.x name of ``reset_state``."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- state through C++ ------------------------------------------------------------

    def _state_check(self, what):
        """Refuses state tally cannot see: no declared variables and no merge_state override."""
        if not self._variables and type(self).merge_state is Metric.merge_state:
            raise StateError(
                f"{type(self).__name__} \"{self.name}\": {what} needs the metric's state in declared variables, but "
                "it declares none (its state lives in plain attributes, which tally cannot see); declare the state "
                "with self.add_weight(...) or override merge_state")

    def merge_state(self, other):
        """Merges another metric (or a list) of the same class by each variable's aggregation."""
        self._state_check("merge_state")
        others = list(other) if isinstance(other, (list, tuple)) else [other]
        for o in others:
            if not isinstance(o, Metric):
                raise StateError(f"{self.name}: cannot merge a {type(o).__name__} into a {type(self).__name__}")
            o._state_check("merge_state")
        self._core.merge_state([o._core for o in others])

    def to_vector(self):
        """All variables flattened in declaration order as one float64 vector."""
        self._state_check("to_vector")
        return self._core.to_vector()

    def from_vector(self, values):
        """Restores the state from a vector; checks length and integrality; unchanged on error."""
        self._state_check("from_vector")
        self._core.from_vector(values)

    def state(self):
        """An immutable snapshot (a tally.State): +, to_vector, from_vector and result."""
        self._state_check("state")
        return self._core.state()

    def set_state(self, state):
        """Replaces the state with a snapshot of the same class."""
        self._core.set_state(state)

    def stateless_reset_state(self):
        """Keras 3: fresh identity values of the variables, as a list of numpy arrays."""
        return _tally._stateless_reset_state(self._core)

    def stateless_update_state(self, metric_variables, y_true, y_pred, sample_weight=None):
        """Keras 3: the variables after one batch, as a new list; the metric is not touched."""
        return _tally._stateless_update_state(self._core, metric_variables, y_true, y_pred, sample_weight)

    def stateless_result(self, metric_variables):
        """Keras 3: the result for the given variables; the metric is not touched."""
        return _tally._stateless_result(self._core, metric_variables)

    def clone(self):
        """A deep copy with configuration and state."""
        import copy
        return copy.deepcopy(self)

    # --- pickle and copy: the attributes plus the C++ state -------------------------------

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_core", "_collection")}
        state["_tally_layout"] = [(v.name, v.shape, v.dtype, v.aggregation) for v in self._variables]
        state["_tally_vector"] = self._core.to_vector()
        return state

    def __setstate__(self, state):
        state = dict(state)
        layout = state.pop("_tally_layout")
        vector = state.pop("_tally_vector")
        self.__dict__.update(state)
        self.__dict__["_core"] = _tally._PythonMetric(weakref.ref(self), type(self).__name__, self.name, self.dtype)
        self._collection = None
        for name, shape, dtype, aggregation in layout:
            self._core._declare(name, list(shape), dtype, aggregation)
        for v in self._variables:
            v._metric = self
        self._core.from_vector(vector)

    def __copy__(self):
        return self.__deepcopy__({})

    def __deepcopy__(self, memo):
        import copy
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return clone

    def __repr__(self):
        try:
            value = self.result()
        except Exception:  # noqa: BLE001 - repr must not raise (e.g. a division by a zero count)
            value = "?"
        return f"<{type(self).__name__} name={self.name!r} result={value!r}>"


def _resetting_init(init):
    # Keras calls reset_state() at the end of construction; so does tally, once, after the
    # outermost subclass __init__ returns (a plain-attribute PyMetric's state exists then).
    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        depth = self.__dict__.get("_tally_init_depth", 0)
        self.__dict__["_tally_init_depth"] = depth + 1
        try:
            init(self, *args, **kwargs)
        finally:
            self.__dict__["_tally_init_depth"] = depth
        if depth == 0:
            del self.__dict__["_tally_init_depth"]
            self.reset_state()

    wrapped._tally_resets = True
    return wrapped
