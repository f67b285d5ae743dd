"""One-call forms of every catalog metric: ``tally.functional.<registry_name>(y_true,
y_pred, sample_weight=None, **options)`` builds the metric with ``options`` (its Keras
constructor arguments), adds the one batch and returns the result, exactly what the class
API returns for the same call::

    tally.functional.auc(y, p, num_thresholds=1000)
    tally.functional.mean_squared_error(y, p)      # also tally.functional.mse
    tally.functional.mean(values, sample_weight=w)  # value metrics (Mean, Sum) take values

Every registry name and alias that is a Python identifier is a function here; ``names()``
lists them. The work is the class API's (one metric, one update), so the time is the same.
"""
import inspect

from . import _tally
from .metrics import _DESCRIPTIONS, _VALUE_METRICS, BuiltinMetric, _option_lines

__all__ = ["names"]

_FUNCTIONS = {}


def _make(class_name, name, doc):
    if class_name in _VALUE_METRICS:
        def function(values, sample_weight=None, **options):
            metric = _tally.get({"class_name": class_name, "config": options})
            metric.update_values(values, sample_weight)
            return metric.result()
    else:
        def function(y_true, y_pred, sample_weight=None, **options):
            aux = {key: options.pop(key) for key in ("query_ids", "index") if key in options}
            metric = _tally.get({"class_name": class_name, "config": options})
            metric.update_state(y_true, y_pred, sample_weight, **aux)
            return BuiltinMetric._wrap(metric).result()  # BootstrapInterval: the class API's dict
    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    options = _DESCRIPTIONS.get(class_name, {}).get("options", [])
    function.__doc__ = "\n".join([doc, "", f"One-call form of tally.metrics.{class_name}: builds it with ``options`` "
                                   "(its constructor arguments), updates it once and returns result().", "",
                                   "Options:"] + _option_lines(options))
    K = inspect.Parameter
    inputs = ([K("values", K.POSITIONAL_OR_KEYWORD)] if class_name in _VALUE_METRICS else
              [K("y_true", K.POSITIONAL_OR_KEYWORD), K("y_pred", K.POSITIONAL_OR_KEYWORD)])
    inputs.append(K("sample_weight", K.POSITIONAL_OR_KEYWORD, default=None))
    rest = [K(o["key"], K.KEYWORD_ONLY, default=K.empty if o.get("required") else o.get("default")) for o in options]
    contract = _DESCRIPTIONS.get(class_name, {}).get("inputs") or {}
    for key in contract.get("requires", []):  # auxiliary per-row inputs (docs/metrics.md)
        rest.insert(0, K(key, K.KEYWORD_ONLY))
    for key in contract.get("accepts", []):
        rest.append(K(key, K.KEYWORD_ONLY, default=None))
    if options:
        function.__signature__ = inspect.Signature(inputs + rest)
    return function


for _row in _tally.catalog():
    for _name in _row["aliases"]:
        if _name.isidentifier() and _name not in _FUNCTIONS:
            _FUNCTIONS[_name] = _make(_row["class_name"], _name, _row["doc"])
            globals()[_name] = _FUNCTIONS[_name]
            __all__.append(_name)


def names():
    """Every function name of this module (registry names and aliases)."""
    return sorted(_FUNCTIONS)
