"""The built-in metric catalog with Keras 3 names, configs and results.

Every class here is generated from tally's C++ catalog (the same table that ``tally
list`` prints), so ``__all__`` always matches the library::

    import tally
    auc = tally.metrics.AUC(num_thresholds=200, curve="PR")
    auc.update_state(y_true, y_pred)
    auc.result()

``get(spec)`` builds a metric from a name, an alias, JSON text or a
``{"class_name": ..., "config": {...}}`` dict, as ``keras.metrics.get`` does.
"""
from . import _tally

__all__ = ["BuiltinMetric", "get", "serialize", "catalog"]


def _unwrap(metric):
    return metric._core if isinstance(metric, BuiltinMetric) else metric


class BuiltinMetric:
    """A catalog metric implemented in C++. Same verbs as a Keras metric."""

    _class_name = None

    def __init__(self, **config):
        if type(self)._class_name is None:
            raise TypeError("use tally.metrics.get(spec) or a catalog class such as tally.metrics.AUC")
        self._core = _tally.get({"class_name": type(self)._class_name, "config": config})

    @classmethod
    def _wrap(cls, core):
        wrapper_cls = _CLASSES.get(core.class_name, BuiltinMetric)
        obj = object.__new__(wrapper_cls)
        obj._core = core
        return obj

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds one batch. Arrays are read in place; the GIL is released while tally works."""
        self._core.update_state(y_true, y_pred, sample_weight)

    def result(self):
        """A float for scalar metrics, a numpy array for vector results."""
        return self._core.result()

    def reset_state(self):
        """Forgets everything seen."""
        self._core.reset_state()

    def merge_state(self, other):
        """Merges another metric (or a list of them) of the same class and config."""
        if isinstance(other, (list, tuple)):
            self._core.merge_state([_unwrap(o) for o in other])
        else:
            self._core.merge_state(_unwrap(other))

    def __call__(self, *args, **kwargs):
        """Keras ``__call__``: update_state, then result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def to_vector(self):
        """The state as one float64 vector."""
        return self._core.to_vector()

    def from_vector(self, values):
        """Restores the state from a vector (length and integrality are checked)."""
        self._core.from_vector(values)

    def state(self):
        """An immutable snapshot with +, to_vector, from_vector and result."""
        return self._core.state()

    def set_state(self, state):
        """Replaces the state with a snapshot of the same class and config."""
        self._core.set_state(state)

    def get_config(self):
        """The Keras config dict."""
        return self._core.get_config()

    @classmethod
    def from_config(cls, config):
        """Keras ``from_config``: ``cls(**config)``."""
        if cls._class_name is None:
            raise TypeError("from_config needs a catalog class")
        return cls(**config)

    def clone(self):
        """A deep copy with config and state."""
        return BuiltinMetric._wrap(self._core.clone())

    @property
    def name(self):
        return self._core.name

    @property
    def dtype(self):
        return self._core.dtype

    @property
    def class_name(self):
        return self._core.class_name

    @property
    def direction(self):
        """"up", "down" or "none": which way is better (used by model selection)."""
        return self._core.direction

    @property
    def variables(self):
        """Declared variables: name, shape, dtype, aggregation and current value."""
        return self._core.variables

    def __repr__(self):
        return f"<tally.metrics.{self.class_name} name={self.name!r} config={self.get_config()!r}>"


class _ValueMetric(BuiltinMetric):
    """Value-reducing metrics (Mean, Sum) take ``update_state(values, sample_weight=None)``."""

    def update_state(self, values, sample_weight=None):
        self._core.update_state(None, values, sample_weight)


_CLASSES = {}
_VALUE_METRICS = {"Mean", "Sum"}


def _make_class(row):
    base = _ValueMetric if row["class_name"] in _VALUE_METRICS else BuiltinMetric
    doc = f"{row['doc']}\n\nRegistry names: {', '.join([row['class_name']] + row['aliases'])}."
    return type(row["class_name"], (base,), {"_class_name": row["class_name"], "__doc__": doc,
                                             "__module__": __name__})


def catalog():
    """The catalog table: class name, aliases, family, direction and doc of every metric."""
    return _tally.catalog()


for _row in _tally.catalog():
    _name = _row["class_name"]
    if _name.isidentifier() and _name[0].isupper():
        _CLASSES[_name] = _make_class(_row)
        globals()[_name] = _CLASSES[_name]
        __all__.append(_name)


def get(spec):
    """Builds a metric from a name, an alias, JSON text, or a {"class_name", "config"} dict."""
    if isinstance(spec, BuiltinMetric):
        return spec
    return BuiltinMetric._wrap(_tally.get(spec))


def serialize(metric):
    """Keras serialize: {"module", "class_name", "config", "registered_name"}."""
    if isinstance(metric, BuiltinMetric):
        return _tally.serialize(metric._core)
    return {"module": type(metric).__module__, "class_name": type(metric).__name__, "config": metric.get_config(),
            "registered_name": type(metric).__name__}
