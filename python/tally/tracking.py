"""Model selection and logging for built-in and Python-written metrics alike."""
from . import _tally
from ._tally import CsvSink, JsonLinesSink, TensorBoardSink

__all__ = ["ModelSelector", "Logger", "JsonLinesSink", "CsvSink", "TensorBoardSink"]


def _value(value_or_metric):
    if hasattr(value_or_metric, "result"):
        return float(value_or_metric.result())
    return float(value_or_metric)


class ModelSelector:
    """Keeps the best value of a metric; see docs/logging.md. `operator` is "greater",
    "less", a callable (new, best) -> bool, "auto" (from the metric's direction) or None."""

    def __init__(self, metric_name, operator, logdir, metric=None):
        if operator == "auto":
            direction = getattr(metric, "direction", "none")
            if direction not in ("up", "down"):
                raise _tally.InvalidArgument(f"ModelSelector: metric {metric_name!r} has no direction; "
                                             "pass 'greater' or 'less'")
            operator = "greater" if direction == "up" else "less"
        self._core = _tally._ModelSelector(metric_name, operator, logdir)

    def update(self, value_or_metric, step, checkpoint=None):
        """Offers a value (or a scalar metric); returns whether it improved."""
        return self._core.update(_value(value_or_metric), step, checkpoint)

    best_folder = property(lambda self: self._core.best_folder())
    best_model_sel_file = property(lambda self: self._core.best_model_sel_file())
    best_value = property(lambda self: self._core.best_value)
    best_step = property(lambda self: self._core.best_step)
    json_read = staticmethod(_tally._ModelSelector.json_read)
    json_write = staticmethod(_tally._ModelSelector.json_write)


class Logger:
    """Fans results out to several sinks."""

    def __init__(self, *sinks):
        self.sinks = list(sinks)

    def write(self, step, results):
        for sink in self.sinks:
            sink.write(step, results)

    def log(self, metric_or_collection, step):
        """Logs a metric (under its name) or a MetricCollection."""
        if hasattr(metric_or_collection, "names"):
            results = metric_or_collection.result()
        else:
            results = {metric_or_collection.name: metric_or_collection.result()}
        self.write(step, results)
