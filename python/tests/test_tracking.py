"""Model selection and logging from Python, with a built-in metric and a Python one."""
import json
import os

import numpy as np

import tally
from test_metric import BinaryTruePositives


def test_selector_with_builtin_and_python_metrics(tmp_path):
    auc = tally.metrics.AUC()
    auc.update_state([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3])
    sel = tally.ModelSelector("auc", "auto", str(tmp_path), metric=auc)
    saved = []
    assert sel.update(auc, 1, saved.append)
    assert saved == [sel.best_folder]
    assert tally.ModelSelector.json_read(sel.best_model_sel_file) == {"metric": "auc", "value": 1.0, "step": 1}
    tp = BinaryTruePositives()
    tp.update_state([1, 1], [1, 1])
    sel_tp = tally.ModelSelector("tp", "auto", str(tmp_path), metric=tp)
    assert sel_tp.update(tp, 3)
    assert not sel_tp.update(1.0, 4)
    restarted = tally.ModelSelector("tp", "greater", str(tmp_path))
    assert restarted.best_value == 2.0 and restarted.best_step == 3
    custom = tally.ModelSelector("x", lambda new, best: new > best + 0.5, str(tmp_path / "c"))
    assert custom.update(1.0, 1) and not custom.update(1.2, 2) and custom.update(2.0, 3)


def test_logger_writes_every_sink(tmp_path):
    c = tally.MetricCollection(["binary_accuracy", "mse"])
    c.update_state(np.array([1.0, 0.0]), np.array([0.9, 0.2]))
    logger = tally.Logger(tally.JsonLinesSink(str(tmp_path / "m.jsonl")), tally.CsvSink(str(tmp_path / "m.csv")),
                          tally.TensorBoardSink(str(tmp_path / "tb")))
    logger.log(c, 1)
    row = json.loads(open(tmp_path / "m.jsonl").readline())
    assert row["step"] == 1 and row["metrics"]["binary_accuracy"] == 1.0
    assert open(tmp_path / "m.csv").readline().strip() == "step,binary_accuracy,mean_squared_error"
    assert len(os.listdir(tmp_path / "tb")) == 1
