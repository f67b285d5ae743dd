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
    # The accuracy family is declared through the option tables (issue 14): Keras's order.
    sig = inspect.signature(tally.metrics.TopKCategoricalAccuracy)
    assert list(sig.parameters) == ["k", "name", "dtype"]
    assert sig.parameters["k"].default == 5 and sig.parameters["name"].default == "top_k_categorical_accuracy"
    doc = tally.metrics.BinaryAccuracy.__doc__
    assert "threshold (float, default 0.5): Scores strictly above it are predicted positive." in doc
    assert "Must be in [0, 1]." in doc and "Example:" in doc and "Args:" in doc
    # positional arguments follow Keras's order
    assert tally.metrics.TopKCategoricalAccuracy(3).get_config()["k"] == 3
    with pytest.raises(TypeError, match="multiple values for argument 'k'"):
        tally.metrics.TopKCategoricalAccuracy(3, k=2)
    fsig = inspect.signature(tally.functional.binary_accuracy)
    assert list(fsig.parameters) == ["y_true", "y_pred", "sample_weight", "name", "dtype", "threshold"]
    assert fsig.parameters["threshold"].kind is inspect.Parameter.KEYWORD_ONLY
    # Every class: the signature is the description's options, in order, with its defaults.
    descriptions = {d["class_name"]: d for d in tally.metrics.describe_catalog()["metrics"]}
    checked = 0
    for row in tally.metrics.catalog():
        cls = getattr(tally.metrics, row["class_name"], None)
        options = descriptions.get(row["class_name"], {}).get("options")
        if cls is None or not options:
            continue
        params = inspect.signature(cls).parameters
        assert list(params) == [o["key"] for o in options], row["class_name"]
        for o in options:
            if not o["required"]:
                assert params[o["key"]].default == o["default"], (row["class_name"], o["key"])
        assert "Args:" in cls.__doc__, row["class_name"]
        checked += 1
    assert checked >= 30, checked


GOOD = '''
import numpy as np
import tally

m = tally.metrics.BinaryAccuracy(threshold=0.7, name="acc")
m.update_state(np.array([0, 1]), np.array([0.2, 0.9]))
value: float = m.result()
top = tally.metrics.TopKCategoricalAccuracy(k=2)
mean = tally.metrics.Mean()
mean.update_state([1.0, 2.0])
vector: np.ndarray = mean.to_vector()
quick: float = tally.functional.binary_accuracy([0, 1], [0.1, 0.8], threshold=0.3)
described = tally.metrics.describe("auc")["options"]
# distributed engines (docs/distributed.md): shards, valid rows, partitions, torch, dask
context: tally.DistributedContext = tally.NotDistributedContext()
shard: range = tally.distributed_shard(10, context)
mask: np.ndarray = tally.sampler_valid_rows(10, context)
m.update_state(np.zeros(3), np.ones(3), valid_rows=mask[:3])
state: tally.partitions.PartitionState = tally.partitions.evaluate_partition(m, np.zeros(3), np.ones(3))
tally.partitions.merge_into(m, tally.partitions.combine([state, state]))
torch_context = tally.TorchDistributedContext(device="cpu", collective_timeout=10.0)
torch_context.set_collective_timeout(5.0)
evaluated = tally.dask.evaluate(m, np.zeros(3), np.ones(3), split_every=4)
'''

BAD = GOOD + '''
wrong = tally.metrics.TopKCategoricalAccuracy(k="two")
tally.distributed_shard("ten", context)
tally.TorchDistributedContext(collective_timeout="soon")
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
    assert 'Argument "k" to "TopKCategoricalAccuracy" has incompatible type "str"; expected "int"' in bad.stdout
    assert 'Argument 1 to "distributed_shard" has incompatible type "str"' in bad.stdout
    assert 'Argument "collective_timeout" to "TorchDistributedContext" has incompatible type "str"' in bad.stdout
    assert "Found 3 errors" in bad.stdout
