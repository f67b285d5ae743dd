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
import inspect
import json

from . import _tally
from ._rows import ROW_INPUT_NAMES, select_rows

__all__ = ["BuiltinMetric", "get", "serialize", "catalog", "describe", "describe_catalog"]


def _unwrap(metric):
    return metric._core if isinstance(metric, BuiltinMetric) else metric


class BuiltinMetric:
    """A catalog metric implemented in C++. Same verbs as a Keras metric."""

    _class_name = None
    _option_keys = ()

    def __init__(self, *args, **config):
        if type(self)._class_name is None:
            raise TypeError("use tally.metrics.get(spec) or a catalog class such as tally.metrics.AUC")
        if args:  # positional arguments in Keras's constructor order
            keys = type(self)._option_keys
            if len(args) > len(keys):
                raise TypeError(f"{type(self).__name__}() takes at most {len(keys)} positional arguments "
                                f"({', '.join(keys)}); received {len(args)}")
            for key, value in zip(keys, args):
                if key in config:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {key!r}")
                config[key] = value
        for key, value in config.items():
            if isinstance(value, BuiltinMetric):  # a wrapped metric (Classwise(metric=F1Score(...))) by its spec
                config[key] = {"class_name": value._core.class_name, "config": value._core.get_config()}
        self._core = _tally.get({"class_name": type(self)._class_name, "config": config})

    @classmethod
    def _wrap(cls, core):
        wrapper_cls = _CLASSES.get(core.class_name, BuiltinMetric)
        obj = object.__new__(wrapper_cls)
        obj._core = core
        return obj

    def update_state(self, y_true, y_pred, sample_weight=None, valid_rows=None, *, query_ids=None, index=None):
        """Adds one batch. Arrays are read in place; the GIL is released while tally works.

        ``query_ids`` (ranking metrics) and ``index`` (``BootstrapInterval``) are the
        auxiliary per-row inputs; a metric refuses one it does not take.
        ``valid_rows``: a boolean mask of the rows that count (drops a DistributedSampler's
        padded repeats, docs/distributed.md); a batch with no valid row changes nothing."""
        if valid_rows is not None:
            rows = select_rows(valid_rows, (y_true, y_pred, sample_weight, query_ids, index), self.name,
                               ROW_INPUT_NAMES)
            if rows is None:
                return
            y_true, y_pred, sample_weight, query_ids, index = rows
        self._core.update_state(y_true, y_pred, sample_weight, query_ids=query_ids, index=index)

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

    def reset_states(self):
        """TF 2.x name of ``reset_state``."""
        self._core.reset_state()

    # --- Keras 3 stateless API: variables are a list of numpy arrays; self is not touched ---

    def stateless_reset_state(self):
        """Fresh identity values of the variables, as a list of numpy arrays."""
        return _tally._stateless_reset_state(self._core)

    def stateless_update_state(self, metric_variables, y_true, y_pred, sample_weight=None):
        """The variables after one batch, as a new list of arrays; the metric is not touched."""
        return _tally._stateless_update_state(self._core, metric_variables, y_true, y_pred, sample_weight)

    def stateless_result(self, metric_variables):
        """The result for the given variables; the metric is not touched."""
        return _tally._stateless_result(self._core, metric_variables)

    # --- pickle and copy: the Keras spec plus the state vector ----------------------------

    def __reduce__(self):
        shapes = [list(v["shape"]) for v in self._core.variables]
        return (_restore, (_tally.serialize(self._core), shapes, self._core.to_vector()))

    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        return self.clone()

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

    def update_state(self, values, sample_weight=None, valid_rows=None):
        """Adds one batch of values. Arrays are read in place; the GIL is released while tally works.
        ``valid_rows``: a boolean mask of the rows that count (see BuiltinMetric.update_state)."""
        if valid_rows is not None:
            rows = select_rows(valid_rows, (values, sample_weight), self.name, ("values", "sample_weight"))
            if rows is None:
                return
            values, sample_weight = rows
        self._core.update_values(values, sample_weight)

    def stateless_update_state(self, metric_variables, values, sample_weight=None):
        """The variables after one batch of values; the metric is not touched."""
        return _tally._stateless_update_state(self._core, metric_variables, None, values, sample_weight)


class _BootstrapMetric(BuiltinMetric):
    """BootstrapInterval: ``metric`` may be a metric object, a name or a spec; the result is a dict."""

    def __init__(self, *args, **config):
        if args and isinstance(args[0], BuiltinMetric):
            args = (serialize(args[0]),) + args[1:]
        if isinstance(config.get("metric"), BuiltinMetric):
            config["metric"] = serialize(config["metric"])
        if isinstance(config.get("metric"), dict):  # keep only what get() needs
            config["metric"] = {k: config["metric"][k] for k in ("class_name", "config") if k in config["metric"]}
        if args and isinstance(args[0], dict):
            args = ({k: args[0][k] for k in ("class_name", "config") if k in args[0]},) + args[1:]
        super().__init__(*args, **config)

    def result(self):
        """{"value", "lower", "upper", "std"}: the wrapped metric's value, the percentile
        interval and the standard deviation over the resamples (floats, or arrays for a
        vector-valued wrapped metric)."""
        r = self._core.result()
        return {key: (float(r[i]) if r.ndim == 1 else r[i]) for i, key in enumerate(("value", "lower", "upper", "std"))}

    def set_row_offset(self, offset):
        """The global index of this worker's first row (``context.distribute_range(n)[0]``),
        used when update_state gets no ``index``."""
        self._core.set_row_offset(int(offset))

    @property
    def row_offset(self):
        """The starting row offset (0 unless set)."""
        return self._core.row_offset


def _restore(spec, shapes, vector):
    """Unpickles a built-in metric: rebuilt from its spec, then its variables' shapes and values."""
    core = _tally.get({"class_name": spec["class_name"], "config": spec["config"]})
    _tally._set_variables(core, shapes, vector)
    return BuiltinMetric._wrap(core)


_CLASSES = {}
_VALUE_METRICS = {"Mean", "Sum"}


def _describe_catalog():
    """The C++ catalog description (tally::metrics::describe_catalog), or {} before it exists."""
    if not hasattr(_tally, "describe_catalog"):
        return {}
    description = _tally.describe_catalog()
    return json.loads(description) if isinstance(description, str) else description


_DESCRIPTION = _describe_catalog()
_DESCRIPTIONS = {d["class_name"]: d for d in _DESCRIPTION.get("metrics", [])}


def _parameters(options):
    """inspect.Parameters in Keras constructor order; required options have no default."""
    params = []
    for option in options:
        default = inspect.Parameter.empty if option.get("required") else option.get("default")
        params.append(inspect.Parameter(option["key"], inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default))
    return params


def _option_lines(options):
    lines = []
    for option in options:
        text = f"    {option['key']} ({option.get('type', 'json')}"
        text += ", required)" if option.get("required") else f", default {option.get('default')!r})"
        text += f": {option.get('doc', '')}"
        if option.get("rule"):
            text += f" Must be {option['rule']}."
        if option.get("choices"):
            text += f" One of {', '.join(map(repr, option['choices']))}."
        lines.append(text)
    return lines


def _class_doc(row, description):
    names = [row["class_name"]] + row["aliases"]
    if not description:
        return f"{row['doc']}\n\nRegistry names: {', '.join(names)}."
    value = row["class_name"] in _VALUE_METRICS
    lines = [description.get("doc", row["doc"]), ""]
    inputs = description.get("inputs") or {}
    if value:
        lines.append("update_state(values, sample_weight=None) adds a batch of values.")
    elif inputs:
        lines.append(f"update_state(y_true, y_pred, sample_weight=None): y_true {inputs.get('y_true', '?')}, "
                     f"y_pred {inputs.get('y_pred', '?')}, ranks {inputs.get('ranks', '?')}.")
        for key in inputs.get("requires", []):
            lines.append(f"Requires the keyword {key}= (one value per row) in update_state.")
        for key in inputs.get("accepts", []):
            lines.append(f"Accepts the keyword {key}= (one value per row) in update_state.")
    lines.append(f"result(): a {description.get('result', 'scalar')}; better is {description.get('direction', 'none')}.")
    state = description.get("state") or []
    if state:
        lines.append("State (merged across workers): " + ", ".join(
            f"{v['name']} {v.get('dtype', '')}{v.get('shape', '')} {v.get('aggregation', '')}" for v in state) + ".")
    lines += ["", "Args:"] + _option_lines(description.get("options", []))
    example_args = "[1.0, 2.0, 4.0]" if value else "[0, 1, 1, 0], [0.2, 0.8, 0.4, 0.3]"
    lines += ["", "Example:", f"    >>> m = tally.metrics.{row['class_name']}()",
              f"    >>> m.update_state({example_args})", "    >>> m.result()", "",
              f"Registry names: {', '.join(names)} (tally.metrics.get, tally.functional.{row['aliases'][0]})."
              if row["aliases"] else f"Registry names: {', '.join(names)}."]
    return "\n".join(lines)


def _make_class(row):
    base = _ValueMetric if row["class_name"] in _VALUE_METRICS else BuiltinMetric
    if row["class_name"] == "BootstrapInterval":
        base = _BootstrapMetric
    description = _DESCRIPTIONS.get(row["class_name"], {})
    options = description.get("options", [])
    attrs = {"_class_name": row["class_name"], "__doc__": _class_doc(row, description), "__module__": __name__,
             "_option_keys": tuple(o["key"] for o in options)}
    if options:
        attrs["__signature__"] = inspect.Signature(_parameters(options))
    return type(row["class_name"], (base,), attrs)


def describe(name):
    """The machine-readable description of one metric (class name or alias): options with
    types, defaults and rules, input contract, result shape, state layout."""
    return _tally.describe(name)


def describe_catalog():
    """{"version", "metrics": [describe(...) for each metric], "functions": [...]}, as
    ``tally list --format json`` prints it."""
    return _tally.describe_catalog()


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
