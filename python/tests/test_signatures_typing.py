"""Signatures, docstrings and type stubs come from the C++ catalog description: every class
shows its Keras arguments, and mypy checks a typed example against the generated stubs."""
import inspect
import os
import pathlib
import subprocess
import sys

import pytest

import tally

PACKAGE = pathlib.Path(tally.__file__).resolve().parent


def test_classes_have_keras_signatures_and_real_docstrings():
    sig = inspect.signature(tally.metrics.AUC)
    params = sig.parameters
    assert list(params)[:3] == ["num_thresholds", "curve", "summation_method"]
    assert params["num_thresholds"].default == 200 and params["curve"].default == "ROC"
    assert params["name"].default == "auc" and params["dtype"].default == "float32"
    doc = tally.metrics.AUC.__doc__
    assert "Args:" in doc and "num_thresholds" in doc and "Example:" in doc and "ROC" in doc
    # positional arguments follow Keras's order
    assert tally.metrics.AUC(300).get_config()["num_thresholds"] == 300
    with pytest.raises(TypeError, match="multiple values for argument 'num_thresholds'"):
        tally.metrics.AUC(300, num_thresholds=10)
    fsig = inspect.signature(tally.functional.auc)
    assert list(fsig.parameters)[:3] == ["y_true", "y_pred", "sample_weight"]
    assert fsig.parameters["num_thresholds"].kind is inspect.Parameter.KEYWORD_ONLY
    described = {d["class_name"] for d in tally.metrics._DESCRIPTION["metrics"]}
    for row in tally.metrics.catalog():
        cls = getattr(tally.metrics, row["class_name"], None)
        if cls is not None and row["class_name"] in described:
            assert "Args:" in cls.__doc__, row["class_name"]
            assert hasattr(cls, "__signature__"), row["class_name"]


GOOD = '''
import numpy as np
import tally

m = tally.metrics.AUC(num_thresholds=100, curve="PR")
m.update_state(np.array([0, 1]), np.array([0.2, 0.9]))
value: float = m.result()
f1 = tally.metrics.F1Score(num_classes=3)
scores: np.ndarray = f1.result()
mean = tally.metrics.Mean()
mean.update_state([1.0, 2.0])
quick: float = tally.functional.auc([0, 1], [0.1, 0.8], num_thresholds=50)
'''

BAD = GOOD + '''
wrong = tally.metrics.AUC(num_thresholds="many")
'''


def _mypy(tmp_path, source):
    (tmp_path / "example.py").write_text(source)
    env = dict(os.environ, MYPYPATH=str(PACKAGE.parent))
    return subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--ignore-missing-imports",
                           "--no-incremental", "--cache-dir", os.devnull, "example.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)


def test_mypy_accepts_a_typed_example_and_catches_a_wrong_argument(tmp_path):
    assert (PACKAGE / "metrics.pyi").exists() and (PACKAGE / "py.typed").exists()
    good = _mypy(tmp_path, GOOD)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _mypy(tmp_path, BAD)
    assert bad.returncode == 1, bad.stdout
    assert 'Argument "num_thresholds" to "AUC" has incompatible type "str"; expected "int"' in bad.stdout
