"""tally.save_state / tally.load_state: round trips of metrics and collections, restores
that continue exactly, every way a file can be bad, and an evaluation killed with SIGKILL
and restarted from its last save that ends exactly where an uninterrupted one does."""
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tally


def batch(k, rows=512):
    """Batch k of an evaluation: the same in every process."""
    rng = np.random.default_rng(1000 + k)
    y_true = (rng.random(rows) > 0.5).astype(np.float32)
    y_pred = rng.random(rows)
    weight = rng.random(rows) * 2.0
    return y_true, y_pred, weight


SPECS = ["auc", "binary_accuracy", "mean_squared_error",
         {"class_name": "Precision", "config": {"thresholds": [0.3, 0.6]}}]


def collection(specs=SPECS):
    return tally.MetricCollection(list(specs))


def assert_results_equal(a, b):
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]), err_msg=name)


def test_metric_round_trip_is_exact(tmp_path):
    auc = tally.metrics.AUC(num_thresholds=50)
    for k in range(3):
        auc.update_state(*batch(k)[:2])
    path = tmp_path / "auc.state"
    tally.save_state(auc, path, user_data={"epoch": 2, "tag": "val"})
    saved = tally.load_state(path)
    assert saved.kind == "metric"
    assert saved.names == ["auc"]
    assert saved.user_data == {"epoch": 2, "tag": "val"}
    assert isinstance(saved.layout_hash, int) and 0 < saved.layout_hash < 2 ** 64
    rebuilt = saved.to_metric()
    assert type(rebuilt) is tally.metrics.AUC
    assert rebuilt.get_config() == auc.get_config()
    assert rebuilt.result() == auc.result()
    np.testing.assert_array_equal(rebuilt.to_vector(), auc.to_vector())


def test_user_data_defaults_to_none_and_path_may_be_a_string(tmp_path):
    mse = tally.metrics.get("mse")
    mse.update_state([0.0, 1.0], [0.5, 0.5])
    tally.save_state(mse, str(tmp_path / "mse.state"))
    saved = tally.load_state(str(tmp_path / "mse.state"))
    assert saved.user_data is None
    assert saved.to_metric().result() == 0.25


def test_restore_into_a_fresh_metric_continues_identically(tmp_path):
    auc = tally.metrics.AUC()
    auc.update_state(*batch(0)[:2])
    tally.save_state(auc, tmp_path / "auc.state")
    fresh = tally.metrics.AUC()
    tally.load_state(tmp_path / "auc.state").restore(fresh)
    assert fresh.result() == auc.result()
    for m in (auc, fresh):
        m.update_state(*batch(1))
    assert fresh.result() == auc.result()
    np.testing.assert_array_equal(fresh.to_vector(), auc.to_vector())


def test_collection_round_trip_with_user_data(tmp_path):
    metrics = collection()
    for k in range(4):
        metrics.update_state(*batch(k))
    path = tmp_path / "eval.state"
    tally.save_state(metrics, path, user_data={"next_batch": 7})
    saved = tally.load_state(path)
    assert saved.kind == "collection"
    assert saved.names == ["auc", "binary_accuracy", "mean_squared_error", "precision"]
    assert saved.user_data == {"next_batch": 7}
    rebuilt = saved.to_collection()
    assert isinstance(rebuilt, tally.MetricCollection)
    assert [type(m) for m in rebuilt.metrics()] == [type(m) for m in metrics.metrics()]
    assert_results_equal(rebuilt.result(), metrics.result())

    fresh = collection()
    saved.restore(fresh)
    for c in (metrics, fresh, rebuilt):
        c.update_state(*batch(4))
    assert_results_equal(fresh.result(), metrics.result())
    assert_results_equal(rebuilt.result(), metrics.result())


def test_collection_restores_a_metric_sized_by_its_first_batch(tmp_path):
    # F1Score without num_classes sizes its state on the first batch; a fresh one is unsized.
    spec = {"class_name": "F1Score", "config": {"average": "macro", "threshold": 0.5}}
    rng = np.random.default_rng(3)
    y, p = (rng.random((64, 3)) > 0.5).astype(np.float32), rng.random((64, 3))
    metrics = collection([spec, "mse"])
    metrics.update_state(y, p)
    tally.save_state(metrics, tmp_path / "f1.state")
    fresh = collection([spec, "mse"])
    tally.load_state(tmp_path / "f1.state").restore(fresh)
    assert_results_equal(fresh.result(), metrics.result())


def test_mismatched_target_raises_state_error_and_leaves_it_unchanged(tmp_path):
    auc = tally.metrics.AUC(num_thresholds=50)
    auc.update_state(*batch(0)[:2])
    tally.save_state(auc, tmp_path / "auc.state")
    saved = tally.load_state(tmp_path / "auc.state")
    other = tally.metrics.AUC(num_thresholds=80)
    other.update_state(*batch(1)[:2])
    before = other.to_vector()
    with pytest.raises(tally.StateError, match=r'state file holds AUC "auc" with config .*"num_thresholds":50.*; '
                                               r'it does not match the target AUC "auc" with config .*80'):
        saved.restore(other)
    np.testing.assert_array_equal(other.to_vector(), before)
    with pytest.raises(tally.StateError, match="state file holds a single metric; restore it into a Metric"):
        saved.restore(collection())
    with pytest.raises(tally.StateError, match="use to_metric"):
        saved.to_collection()


def test_collection_restore_is_all_or_nothing(tmp_path):
    metrics = collection()
    metrics.update_state(*batch(0))
    tally.save_state(metrics, tmp_path / "eval.state")
    saved = tally.load_state(tmp_path / "eval.state")
    # The same names, but the last metric's thresholds differ: nothing may change.
    target = collection(SPECS[:3] + [{"class_name": "Precision", "config": {"thresholds": [0.5]}}])
    target.update_state(*batch(1))
    before = target.to_vector()
    with pytest.raises(tally.StateError, match='state file holds Precision "precision"'):
        saved.restore(target)
    np.testing.assert_array_equal(target.to_vector(), before)
    with pytest.raises(tally.StateError, match="holds 4 metrics; the target has 3"):
        saved.restore(collection(SPECS[:3]))
    with pytest.raises(tally.StateError, match="state file holds a collection"):
        saved.restore(tally.metrics.AUC())


def saved_bytes(tmp_path):
    metrics = collection()
    metrics.update_state(*batch(0))
    path = tmp_path / "good.state"
    tally.save_state(metrics, path, user_data={"next_batch": 1})
    return path.read_bytes()


def test_truncated_file_is_a_clear_error(tmp_path):
    data = saved_bytes(tmp_path)
    for keep in (len(data) - 1, len(data) // 2, 12):
        path = tmp_path / f"truncated_{keep}.state"
        path.write_bytes(data[:keep])
        with pytest.raises(tally.StateError, match=rf"{path.name}: truncated tally state file"):
            tally.load_state(path)


def test_flipped_byte_is_a_checksum_mismatch(tmp_path):
    data = bytearray(saved_bytes(tmp_path))
    for at in (30, len(data) // 2, len(data) - 10):
        flipped = bytearray(data)
        flipped[at] ^= 0x10
        path = tmp_path / f"flipped_{at}.state"
        path.write_bytes(bytes(flipped))
        with pytest.raises(tally.StateError, match=rf"{path.name}: corrupt tally state file \(checksum mismatch\)"):
            tally.load_state(path)


def test_foreign_and_missing_files_are_clear_errors(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("These are my notes, not metric state.\n" * 4)
    with pytest.raises(tally.StateError, match=r"notes.txt: not a tally state file"):
        tally.load_state(path)
    (tmp_path / "empty.state").write_bytes(b"")
    with pytest.raises(tally.StateError, match="not a tally state file"):
        tally.load_state(tmp_path / "empty.state")
    with pytest.raises(tally.IOError, match="missing.state"):
        tally.load_state(tmp_path / "missing.state")


class PyCount(tally.Metric):
    def __init__(self, name="py_count"):
        super().__init__(name=name)
        self.count = self.add_variable(shape=(), name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(len(np.asarray(y_pred)))

    def result(self):
        return float(self.count.value)


def test_metrics_written_in_python_are_refused_clearly(tmp_path):
    with pytest.raises(tally.InvalidArgument, match="PyCount .*written in Python; only built-in"):
        tally.save_state(PyCount(), tmp_path / "py.state")
    mixed = tally.MetricCollection(["mse", PyCount()])
    with pytest.raises(tally.InvalidArgument, match='metric "py_count" of the collection is a PyCount'):
        tally.save_state(mixed, tmp_path / "mixed.state")
    assert not (tmp_path / "py.state").exists() and not (tmp_path / "mixed.state").exists()


def test_user_data_must_be_json(tmp_path):
    mse = tally.metrics.get("mse")
    with pytest.raises(tally.InvalidArgument, match="user_data must be JSON"):
        tally.save_state(mse, tmp_path / "a.state", user_data={"when": object()})
    with pytest.raises(tally.InvalidArgument, match="user_data must be JSON"):
        tally.save_state(mse, tmp_path / "b.state", user_data=[float("nan")])
    tally.save_state(mse, tmp_path / "c.state", user_data=[1, 2.5, "x", None, True, {"n": [3]}])
    assert tally.load_state(tmp_path / "c.state").user_data == [1, 2.5, "x", None, True, {"n": [3]}]


# An evaluation that resumes from its last save: it prints "saved K" after saving the state
# before batch K, and finally the results as JSON (floats written with repr, so exactly).
EVALUATION = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    import tally

    path, batches = sys.argv[1], int(sys.argv[2])
    specs = {specs!r}
    metrics = tally.MetricCollection(specs)
    start = 0
    if os.path.exists(path):
        saved = tally.load_state(path)
        saved.restore(metrics)
        start = saved.user_data["next_batch"]
    for k in range(start, batches):
        rng = np.random.default_rng(1000 + k)
        y_true = (rng.random(512) > 0.5).astype(np.float32)
        y_pred = rng.random(512)
        weight = rng.random(512) * 2.0
        metrics.update_state(y_true, y_pred, weight)
        tally.save_state(metrics, path, user_data={{"next_batch": k + 1}})
        print(f"saved {{k + 1}}", flush=True)
        time.sleep(0.005)  # so that a kill can land anywhere in a run of many batches
    results = {{n: np.asarray(v).tolist() for n, v in metrics.result().items()}}
    print("result " + json.dumps(results), flush=True)
""").format(specs=SPECS)


def child_env():
    env = dict(os.environ)
    package_root = str(pathlib.Path(tally.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def result_of(output):
    lines = [line for line in output.splitlines() if line.startswith("result ")]
    assert len(lines) == 1, output
    return json.loads(lines[0][len("result "):])


def test_killed_and_restarted_evaluation_ends_exactly_like_an_uninterrupted_one(tmp_path):
    script = tmp_path / "evaluation.py"
    script.write_text(EVALUATION)
    batches = 40
    env = child_env()

    done = subprocess.run([sys.executable, str(script), str(tmp_path / "straight.state"), str(batches)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    expected = result_of(done.stdout)

    chooser = random.Random(os.getpid())
    path = tmp_path / "resumed.state"
    kills, resumed_from = 0, []
    final = None
    for run in range(batches + 1):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(batches)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if run < 8:
            # Wait until this run has saved once (so every run makes progress), then kill it
            # at a random moment: in an update, in a save, or between batches.
            first = proc.stdout.readline()
            if first.startswith("saved "):
                time.sleep(chooser.uniform(0.0, 0.05))
                proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            # The kill may land after the last save (in the final sleep or while printing the
            # results): then the next run resumes at the end and only reports.
            next_batch = tally.load_state(path).user_data["next_batch"]
            assert 1 <= next_batch <= batches
            resumed_from.append(next_batch)
            continue
        assert proc.returncode == 0, err
        final = result_of(out)
        break
    assert final is not None
    assert kills >= 1, "no run was killed mid-evaluation"
    assert resumed_from == sorted(resumed_from)
    assert final == expected  # exactly, bit for bit (json round-trips floats)
    assert tally.load_state(path).user_data == {"next_batch": batches}


def test_docs_example_runs():
    import re
    docs = pathlib.Path(__file__).resolve().parents[2] / "docs" / "python.md"
    section = docs.read_text().split("## Saving and restoring state", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, str(docs), "exec"), {})  # the example asserts its own figures
