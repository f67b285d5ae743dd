"""The Metric API from Python: arrays in without copies, errors as Python exceptions,
states and vectors, configs, and metrics written in Python (Keras PyMetric)."""
import threading

import numpy as np
import pytest

import tally


def test_mean_matches_numpy_for_every_input_kind(rng):
    x = rng.random(1000)
    w = rng.random(1000)
    inputs = [x, x.astype(np.float32), x.astype(np.float16), list(x), x[::2].repeat(2), x.astype(">f8"),
              np.asfortranarray(x.reshape(100, 10)).ravel(order="F")]
    for values in inputs:
        m = tally.metrics.Mean()
        m.update_state(values)
        want = np.asarray(values, dtype=np.float64).mean()
        assert m.result() == pytest.approx(want, rel=1e-12)
    m = tally.metrics.Mean()
    m.update_state(x, sample_weight=w)
    assert m.result() == pytest.approx(np.average(x, weights=w), rel=1e-12)
    s = tally.metrics.Sum()
    s.update_state(np.int16([1, 2, 3]))  # widened to int64
    assert s.result() == 6.0
    s.update_state(5)
    assert s.result() == 11.0


def test_strided_views_are_read_in_place(rng):
    x = rng.random((200, 3))
    m = tally.metrics.Mean()
    m.update_state(x[:, 1])  # non-contiguous column
    assert m.result() == pytest.approx(x[:, 1].mean(), rel=1e-12)


def test_dlpack_producers_are_accepted(rng):
    x = rng.random(64).astype(np.float32)

    class Producer:  # anything with __dlpack__, as torch tensors have
        def __dlpack__(self, stream=None):
            return x.__dlpack__()

        def __dlpack_device__(self):
            return x.__dlpack_device__()

    m = tally.metrics.Mean()
    m.update_state(Producer())
    assert m.result() == pytest.approx(x.astype(np.float64).mean(), rel=1e-12)


def test_errors_are_python_exceptions_with_the_cpp_message():
    m = tally.metrics.Mean()
    m.update_state([1.0, 2.0])
    before = m.to_vector()
    with pytest.raises(ValueError, match=r'Mean "mean": argument `sample_weight` must be finite and non-negative'):
        m.update_state([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(tally.ShapeError, match=r"cannot be broadcast"):
        m.update_state([1.0, 2.0, 3.0], [1.0, 2.0])
    np.testing.assert_array_equal(before, m.to_vector())
    with pytest.raises(tally.StateError, match="expected 2"):
        m.from_vector([1.0])
    with pytest.raises(tally.ConfigError, match="unknown config key"):
        tally.metrics.Mean(nmae="x")
    with pytest.raises(tally.InvalidArgument, match="closest known names"):
        tally.metrics.get("maen")
    with pytest.raises(TypeError):
        m.update_state(np.array(["a", "b"], dtype=object))
    assert issubclass(tally.DTypeError, TypeError) and issubclass(tally.ShapeError, ValueError)


def test_vectors_states_and_merge():
    a, b = tally.metrics.Mean(), tally.metrics.Mean()
    a.update_state([1.0, 2.0, 3.0])
    b.update_state([10.0])
    summed = tally.metrics.Mean()
    summed.from_vector(a.to_vector() + b.to_vector())
    a2 = a.clone()
    a2.merge_state(b)
    assert summed.result() == a2.result() == 4.0
    state = a.state() + b.state()
    assert state.result() == 4.0
    c = tally.metrics.Mean()
    c.merge_state([a, b])
    assert c.result() == 4.0
    with pytest.raises(tally.StateError):
        c.merge_state(tally.metrics.Sum())


def test_config_get_and_serialize_round_trip():
    m = tally.metrics.get({"class_name": "Sum", "config": {"name": "total", "dtype": "float64"}})
    assert isinstance(m, tally.metrics.Sum)
    spec = tally.metrics.serialize(m)
    assert spec == {"module": "keras.metrics", "class_name": "Sum",
                    "config": {"name": "total", "dtype": "float64"}, "registered_name": None}
    assert tally.metrics.get(spec).get_config() == m.get_config()
    assert tally.metrics.Sum.from_config(m.get_config()).name == "total"
    assert tally.metrics.get('{"class_name": "Mean"}').class_name == "Mean"
    assert "Mean" in tally.metrics.__all__


def test_updates_release_the_gil_and_are_thread_safe_per_metric(rng):
    data = [rng.random(200_000) for _ in range(4)]
    metrics = [tally.metrics.Mean() for _ in data]
    threads = [threading.Thread(target=m.update_state, args=(d,)) for m, d in zip(metrics, data)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for m, d in zip(metrics, data):
        assert m.result() == pytest.approx(d.mean(), rel=1e-12)


class BinaryTruePositives(tally.Metric):
    """The Keras documentation's example metric."""

    direction = "up"

    def __init__(self, name="binary_true_positives", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.true_positives = self.add_variable(shape=(), name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, dtype=bool)
        y_pred = np.asarray(y_pred, dtype=bool)
        if y_true.shape != y_pred.shape:
            raise tally.ShapeError(f"shapes differ: {y_true.shape} vs {y_pred.shape}")
        values = np.logical_and(y_true, y_pred).astype(np.float64)
        if sample_weight is not None:
            values = values * np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), values.shape)
        self.true_positives.assign_add(values.sum())
        if np.any(np.asarray(sample_weight if sample_weight is not None else 0.0) < 0):
            raise tally.InvalidArgument("negative weight")  # after the write: the base class rolls back

    def result(self):
        return float(self.true_positives.value)


class Extremes(tally.Metric):
    def __init__(self):
        super().__init__()
        self.low = self.add_variable(aggregation="min", name="low")
        self.high = self.add_variable(aggregation="max", name="high")
        self.count = self.add_variable(dtype="int64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        self.low.assign(min(float(self.low.value), y_pred.min()))
        self.high.assign(max(float(self.high.value), y_pred.max()))
        self.count.assign_add(y_pred.size)

    def result(self):
        return np.array([self.low.value, self.high.value, self.count.value], dtype=np.float64)


def test_python_metric_updates_merges_and_rolls_back():
    m = BinaryTruePositives()
    m.update_state([1, 1, 0, 1], [1, 0, 1, 1])
    assert m.result() == 2.0
    before = m.to_vector()
    with pytest.raises(tally.InvalidArgument):
        m.update_state([1, 1], [1, 1], [1.0, -1.0])
    np.testing.assert_array_equal(before, m.to_vector())
    other = BinaryTruePositives()
    other.update_state([1], [1], [0.5])
    m.merge_state(other)
    assert m.result() == 2.5
    assert (m.state() + other.state()).result() == 3.0
    fresh = BinaryTruePositives()
    fresh.from_vector(m.to_vector())
    assert fresh.result() == 2.5
    assert m.get_config() == {"name": "binary_true_positives", "dtype": "float32"}


def test_python_metric_min_max_and_int_variables():
    a, b = Extremes(), Extremes()
    a.update_state(None, [3.0, 5.0])
    b.update_state(None, [-1.0])
    a.merge_state(b)
    np.testing.assert_array_equal(a.result(), [-1.0, 5.0, 3.0])
    with pytest.raises(tally.StateError, match="int64"):
        a.from_vector([0.0, 1.0, 2.5])
    fresh = Extremes()
    fresh.from_vector(Extremes().to_vector())  # identity values (+inf, -inf) round-trip
    assert np.isinf(fresh.low.value)


def test_torch_tensors_come_in_through_dlpack():
    torch = pytest.importorskip("torch", reason="torch is optional (Debian's python3-torch)")
    x = torch.rand(1000)
    m = tally.metrics.Mean()
    m.update_state(x)
    assert m.result() == pytest.approx(float(x.double().mean()), rel=1e-12)
    b = torch.rand(64).to(torch.bfloat16)  # bfloat16 has no numpy dtype: DLPack only
    m = tally.metrics.Mean()
    m.update_state(b)
    assert m.result() == pytest.approx(float(b.double().mean()), rel=1e-12)
    acc = tally.metrics.BinaryAccuracy()
    acc.update_state(torch.tensor([1, 0, 1]), torch.tensor([0.9, 0.2, 0.4]))
    assert acc.result() == pytest.approx(2 / 3)
