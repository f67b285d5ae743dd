"""Issue 19 "Reliability II" from Python: one metric or collection used from several threads,
deeply nested specs, state files whose values make no sense, I/O failures that name the path
and the reason, and the memory limit (docs/reliability.md)."""
import json
import os
import struct
import threading

import numpy as np
import pytest

import tally

THREADS = 4
BATCHES = 200
ROWS = 1000


def run_threads(body, reader=None):
    """Runs body(t) on THREADS threads and reader() in a loop meanwhile; re-raises failures."""
    errors = []
    done = threading.Event()

    def guarded(fn, *args):
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)

    def read_loop():
        while not done.is_set():
            reader()

    threads = [threading.Thread(target=guarded, args=(body, t)) for t in range(THREADS)]
    reading = threading.Thread(target=guarded, args=(read_loop,)) if reader else None
    for t in threads:
        t.start()
    if reading:
        reading.start()
    for t in threads:
        t.join()
    done.set()
    if reading:
        reading.join()
    if errors:
        raise errors[0]


def test_mean_counts_every_row():
    mean = tally.metrics.Mean()
    ones = np.ones(ROWS)
    seen = []
    run_threads(lambda t: [mean.update_state(ones) for _ in range(BATCHES)], lambda: seen.append(mean.result()))
    assert mean.to_vector()[1] == THREADS * BATCHES * ROWS  # exact: no row lost
    assert set(seen) <= {0.0, 1.0}


@pytest.mark.parametrize("spec", ["auc", "f1_score", "precision"])
def test_builtin_metrics_match_a_serial_run(spec):
    rng = np.random.default_rng(5)
    batches = [(rng.integers(0, 2, (ROWS, 1)).astype(float), rng.random((ROWS, 1))) for _ in range(THREADS * 20)]
    shared, serial = tally.metrics.get(spec), tally.metrics.get(spec)
    for y, p in batches:
        serial.update_state(y, p)
    run_threads(lambda t: [shared.update_state(y, p) for y, p in batches[t::THREADS]], lambda: shared.result())
    np.testing.assert_array_equal(shared.to_vector(), serial.to_vector())


def test_collection_is_all_or_nothing_across_threads():
    c = tally.MetricCollection(["mse", "binary_accuracy", "auc"])
    y, p = np.ones(ROWS), np.full(ROWS, 0.75)
    results = []
    run_threads(lambda t: [c.update_state(y, p) for _ in range(BATCHES // 4)], lambda: results.append(c.result()))
    assert c["mean_squared_error"].to_vector()[1] == THREADS * (BATCHES // 4) * ROWS
    assert all(r["mean_squared_error"] in (0.0, 0.0625) for r in results)


class CountRows(tally.Metric):
    """A Python metric whose update reads, then writes: lost updates show without a lock."""

    def __init__(self, name="count_rows"):
        super().__init__(name=name)
        self.rows = self.add_variable(shape=(), name="rows")

    def update_state(self, y_true, y_pred, sample_weight=None):
        before = float(self.rows.value)
        np.asarray(y_pred).sum()  # releases the GIL now and then
        self.rows.assign(before + len(y_pred))

    def result(self):
        return float(self.rows.value)


def test_python_metric_updates_are_serialized():
    m = CountRows()
    run_threads(lambda t: [m.update_state(None, np.ones(100)) for _ in range(BATCHES)], m.result)
    assert m.result() == THREADS * BATCHES * 100
    assert m.clone().result() == m.result()  # copies get their own lock


def test_deep_specs_are_config_errors():
    deep = 0
    for _ in range(200_000):
        deep = {"a": deep}
    with pytest.raises(tally.ConfigError, match="nested deeper"):
        tally.metrics.get({"class_name": "AUC", "config": {"name": deep}})
    text = '{"class_name":"AUC","config":{"name":' + "[" * 200_000 + "]" * 200_000 + "}}"
    with pytest.raises(tally.ConfigError, match="JSON nested deeper than 100 levels"):
        tally.metrics.get(text)
    shallow = 0
    for _ in range(150):  # under Python's recursion limit, over tally's
        shallow = [shallow]
    with pytest.raises(tally.ConfigError, match="JSON nested deeper than 100 levels"):
        tally.metrics.get({"class_name": "AUC", "config": {"name": shallow}})


def test_deep_user_data_is_refused_on_save(tmp_path):
    deep = 0
    for _ in range(101):
        deep = {"k": deep}
    with pytest.raises(tally.InvalidArgument, match="user_data: JSON nested deeper than 100 levels"):
        tally.save_state(tally.metrics.Mean(), str(tmp_path / "m.state"), user_data=deep)
    for _ in range(5000):
        deep = {"k": deep}
    with pytest.raises(tally.InvalidArgument, match="save_state: user_data must be JSON"):
        tally.save_state(tally.metrics.Mean(), str(tmp_path / "m.state"), user_data=deep)


def _crc32c(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def test_negative_counts_are_state_errors(tmp_path):
    mean = tally.metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0])
    path = str(tmp_path / "mean.state")
    tally.save_state(mean, path)
    raw = open(path, "rb").read()
    for bad in (-5.0, float("nan")):
        body = raw[:-12] + struct.pack("<d", bad)  # the last payload value is the count
        with open(path, "wb") as f:
            f.write(body + struct.pack("<I", _crc32c(body)))
        with pytest.raises(tally.StateError, match='"count" element 0 is a count or a sum of weights'):
            tally.load_state(path).to_metric()
        with pytest.raises(tally.StateError, match="must be finite and >= 0"):
            mean.from_vector([10.0, bad])
    assert mean.result() == 2.0


def test_io_errors_name_path_and_reason(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")  # tests run as root: a path under a regular file fails with ENOTDIR
    logdir = str(plain / "logs")
    with pytest.raises(tally.IOError, match=r"/best/auc/: cannot create the folder: Not a directory"):
        tally.ModelSelector("auc", "greater", logdir).update(0.5, 1)
    with pytest.raises(tally.IOError, match="cannot create the folder: Not a directory"):
        tally.TensorBoardSink(logdir)
    with pytest.raises(tally.IOError, match="m.jsonl: cannot open for appending: Not a directory"):
        tally.JsonLinesSink(os.path.join(logdir, "m.jsonl")).write(1, {"acc": 0.5})
    with pytest.raises(tally.IOError, match="m.csv: cannot open for appending: Not a directory"):
        tally.CsvSink(os.path.join(logdir, "m.csv")).write(1, {"acc": 0.5})
    if os.path.exists("/dev/full"):
        with pytest.raises(tally.IOError, match="write failed: No space left on device"):
            tally.JsonLinesSink("/dev/full").write(1, {"acc": 0.5})


def test_memory_limit():
    assert tally.memory_limit() == 1 << 30
    with pytest.raises(tally.InvalidArgument, match="its state would take 1 GiB, more than half the memory limit"):
        tally.metrics.AUC(num_thresholds=2**24)
    with pytest.raises(tally.InvalidArgument, match=r"\(Python: tally\.set_memory_limit\)"):
        tally.metrics.MeanIoU(num_classes=8192)
    try:
        tally.set_memory_limit(20 << 20)
        auc = tally.metrics.AUC(num_thresholds=2**17)
        with pytest.raises(tally.InvalidArgument, match=r"this update needs 16\.8 MiB for confusion counts"):
            auc.update_state([0, 1], [0.2, 0.8])
        tally.set_memory_limit(64 << 20)
        auc.update_state([0, 1], [0.2, 0.8])
        assert auc.result() == pytest.approx(1.0)
    finally:
        tally.set_memory_limit(0)
    assert json.dumps(tally.memory_limit()) == str(1 << 30)
