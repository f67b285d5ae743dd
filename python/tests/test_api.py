"""The whole Python API of issue 15: pickle and copy, the C++ MetricCollection as a mapping,
Python metrics in the same collection and all-reduce path, PyMetric semantics (reference
documents 001 and 002), the stateless API, the functional API, and input edge cases."""
import copy
import pickle

import numpy as np
import pytest

import tally
from test_metric import BinaryTruePositives

Y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
P = np.array([0.1, 0.8, 0.35, 0.4, 0.9, 0.05, 0.6, 0.2])
Y2 = np.array([1.0, 0.0, 1.0, 0.0])
P2 = np.array([0.7, 0.3, 0.45, 0.65])


def _updatable(class_name):
    """A catalog metric with its default config and one batch in, or None when the default
    config or these binary inputs do not apply to it (required options, class labels)."""
    try:
        m = getattr(tally.metrics, class_name)()
    except tally.Error:
        return None
    for y, p in ((Y, P), (Y.astype(np.int64), P)):
        try:
            m.update_state(y, p)
            return m
        except tally.Error:
            continue
    return None


def _second_batch(m):
    try:
        m.update_state(Y2, P2)
    except tally.Error:
        m.update_state(Y2.astype(np.int64), P2)


def _same(a, b):
    ra, rb = a.result(), b.result()
    np.testing.assert_array_equal(np.asarray(ra), np.asarray(rb))
    np.testing.assert_array_equal(a.to_vector(), b.to_vector())


def test_every_builtin_metric_pickles_and_copies_with_exact_continuation():
    covered = 0
    for row in tally.metrics.catalog():
        name = row["class_name"]
        if not hasattr(tally.metrics, name):
            continue
        m = _updatable(name)
        if m is None:
            continue
        covered += 1
        for twin in (pickle.loads(pickle.dumps(m)), copy.copy(m), copy.deepcopy(m)):
            assert type(twin) is type(m) and twin.get_config() == m.get_config()
            _same(twin, m)
            _second_batch(twin)
            reference = pickle.loads(pickle.dumps(m))
            _second_batch(reference)
            _same(twin, reference)
        # the copies are independent: m itself saw one batch only
        again = _updatable(name)
        _same(m, again)
    assert covered >= 30, covered


def test_python_metric_pickles_and_copies():
    m = BinaryTruePositives()
    m.update_state(Y, P > 0.5)
    assert m.result() == 3.0
    for twin in (pickle.loads(pickle.dumps(m)), copy.copy(m), copy.deepcopy(m)):
        assert twin.result() == 3.0
        twin.update_state(Y2, P2 > 0.5)
        assert twin.result() == 4.0
        assert twin.true_positives._metric is twin
    assert m.result() == 3.0


def test_collection_is_the_cpp_collection_and_a_mapping():
    auc = tally.metrics.AUC()
    tp = BinaryTruePositives()
    col = tally.MetricCollection([auc, "precision", "recall", tp])
    assert list(col) == ["auc", "precision", "recall", "binary_true_positives"]
    assert len(col) == 4 and "auc" in col and "mse" not in col
    assert col["auc"] is auc and col["binary_true_positives"] is tp
    assert list(col.keys()) == list(col) and list(col.values())[0] is auc
    assert dict(col.items())["precision"].class_name == "Precision"
    # Precision, Recall and AUC (200 thresholds) do not share; Precision and Recall at 0.5 do.
    assert ["precision", "recall"] in col.shared_work_groups()
    col.update_state(Y, P)
    # the objects given are the members: the collection's update shows in them
    assert tp.result() == 5.0  # BinaryTruePositives reads every nonzero probability as True
    assert col["precision"].result() == 1.0  # 0.8, 0.9 and 0.6 are the predictions above 0.5: all right
    assert col["recall"].result() == pytest.approx(3 / 5)
    assert auc.result() == pytest.approx(13 / 15, abs=0.01)  # sklearn roc_auc_score(Y, P) == 13/15
    text = repr(col)
    assert text.startswith("<tally.MetricCollection auc=0.86") and "binary_true_positives=5" in text
    with pytest.raises(tally.InvalidArgument, match='metric "auc" already belongs to a collection'):
        tally.MetricCollection([auc])
    twin = pickle.loads(pickle.dumps(col))
    np.testing.assert_array_equal(twin.to_vector(), col.to_vector())
    assert twin.layout_hash() == col.layout_hash()
    twin.update_state(Y2, P2)
    col.update_state(Y2, P2)
    np.testing.assert_array_equal(twin.to_vector(), col.to_vector())
    rebuilt = tally.MetricCollection.from_config(col.get_config())
    assert list(rebuilt) == list(col) and rebuilt.layout_hash() == col.layout_hash()
    deep = copy.deepcopy(col)
    deep.update_state(Y, P)
    assert deep["binary_true_positives"].result() == 12.0 and tp.result() == 7.0


def test_collection_update_is_all_or_nothing_with_python_members():
    class Fails(BinaryTruePositives):
        def update_state(self, y_true, y_pred, sample_weight=None):
            super().update_state(y_true, y_pred, sample_weight)
            if len(np.asarray(y_true)) == 3:
                raise ValueError("three rows refused")

    col = tally.MetricCollection(["mse", Fails(name="fails")])
    col.update_state(Y, P > 0.5)
    before = col.to_vector()
    with pytest.raises(ValueError, match="three rows refused"):
        col.update_state(Y[:3], P[:3] > 0.5)
    np.testing.assert_array_equal(col.to_vector(), before)


class _Doubling(tally.DistributedContext):
    """Two identical workers, simulated: sums double, min and max stay."""

    local_rank = global_rank = 0
    world_size = local_size = 2

    def all_reduce_in_place(self, buffer, op="sum"):
        if op == "sum":
            buffer *= 2
        return buffer


def test_all_reduce_runs_python_metrics_through_the_cpp_path():
    col = tally.MetricCollection(["mean_squared_error", BinaryTruePositives()])
    col.update_state(Y, P > 0.5)
    mse = col["mean_squared_error"].result()
    tally.all_reduce_metrics(col, _Doubling())
    assert col["binary_true_positives"].result() == 6.0
    assert col["mean_squared_error"].result() == pytest.approx(mse)  # mean of the same rows twice
    single = BinaryTruePositives()
    single.update_state(Y, P > 0.5)
    tally.all_reduce_metrics([single], _Doubling())
    assert single.result() == 6.0


class JaccardScore(tally.Metric):
    """Reference document 001's example, as written (state in plain attributes)."""

    def __init__(self, name="jaccard_score", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        from sklearn.metrics import jaccard_score
        self.jaccard_sum += jaccard_score(y_pred, y_true, average="macro")
        self.count += 1

    def reset_state(self):
        self.jaccard_sum = 0.
        self.count = 0.

    def result(self):
        return self.jaccard_sum / self.count


def test_pymetric_with_plain_attributes_works_alone_and_refuses_merging():
    from sklearn.metrics import jaccard_score
    m = JaccardScore()  # reset_state ran at construction, so the attributes exist
    m.update_state([0, 1, 1], [0, 1, 0])
    m.update_state([1, 1, 0], [1, 1, 0])
    want = (jaccard_score([0, 1, 0], [0, 1, 1], average="macro") + 1.0) / 2
    assert m.result() == pytest.approx(want)
    m.reset_states()
    assert m.count == 0.0
    message = r'JaccardScore "jaccard_score": (merge_state|to_vector|all_reduce_metrics|a MetricCollection) needs'
    with pytest.raises(tally.StateError, match=message):
        m.merge_state(JaccardScore())
    with pytest.raises(tally.StateError, match=message):
        m.to_vector()
    with pytest.raises(tally.StateError, match=message):
        tally.all_reduce_metrics([m], tally.NotDistributedContext())
    with pytest.raises(tally.StateError, match=message):
        tally.MetricCollection([JaccardScore()])


def test_pymetric_keras_surface():
    class Counts(tally.Metric):
        def __init__(self):
            super().__init__(name="counts")
            self.n = self.add_weight("n", shape=(), dtype=np.int64)  # TF order, numpy dtype
            self.total = self.add_weight("total", (2,), np.float64)
            self.resets = 0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n.assign_add(len(y_true))
            self.total.assign_add([np.sum(y_true), np.sum(y_pred)])

        def reset_state(self):
            super().reset_state()
            self.resets += 1

        def result(self):
            return float(self.total.value[1] / self.n.value)

    m = Counts()
    assert m.resets == 1  # reset_state() at construction
    assert [v.name for v in m.variables] == ["n", "total"]
    assert m.weights == m.non_trainable_weights == m.variables and m.trainable_weights == []
    assert m.n.dtype == "int64" and m.total.shape == (2,)
    m.update_state(Y, P)
    assert m.result() == pytest.approx(P.mean())
    with pytest.raises(tally.InvalidArgument, match=r"assign_add on int64 variable 'n' needs integers; received 0.5"):
        m.n.assign_add(0.5)
    assert int(m.n.value) == 8
    with pytest.raises(tally.InvalidArgument, match="dtype must be float64 or int64"):
        m.add_weight("bad", dtype=np.float32)
    m.reset_states()
    assert int(m.n.value) == 0 and m.resets == 2


def test_stateless_api_leaves_the_metric_untouched():
    for m, fresh in ((tally.metrics.AUC(), tally.metrics.AUC()), (BinaryTruePositives(), BinaryTruePositives())):
        m.update_state(Y2, P2 > 0.5 if isinstance(m, tally.Metric) else P2)
        before = m.to_vector()
        v0 = m.stateless_reset_state()
        assert isinstance(v0, list) and all(isinstance(a, np.ndarray) for a in v0)
        p = P > 0.5 if isinstance(m, tally.Metric) else P
        v1 = m.stateless_update_state(v0, Y, p)
        fresh.update_state(Y, p)
        np.testing.assert_array_equal(np.asarray(m.stateless_result(v1)), np.asarray(fresh.result()))
        np.testing.assert_array_equal(m.to_vector(), before)
        np.testing.assert_array_equal(np.concatenate([a.ravel() for a in v0]), np.zeros_like(before))
    mean = tally.metrics.Mean()
    v = mean.stateless_update_state(mean.stateless_reset_state(), [1.0, 2.0, 6.0])
    assert mean.stateless_result(v) == 3.0
    with pytest.raises(tally.StateError, match="expected 2 variables; received 1"):
        mean.stateless_result(v[:1])


def test_functional_api_equals_the_class_api():
    assert "auc" in tally.functional.names() and "mse" in tally.functional.names()
    m = tally.metrics.AUC(num_thresholds=1000)
    m.update_state(Y, P)
    assert tally.functional.auc(Y, P, num_thresholds=1000) == m.result()
    assert tally.functional.mse(Y, P) == pytest.approx(np.mean((Y - P) ** 2), rel=1e-12)
    assert tally.functional.mean([1.0, 2.0, 6.0], sample_weight=[1.0, 1.0, 0.0]) == 1.5
    with pytest.raises(tally.InvalidArgument, match="num_thresholds"):
        tally.functional.auc(Y, P, num_thresholds=1)


def test_masked_arrays_are_refused_and_generators_name_their_argument():
    masked = np.ma.masked_array([1.0, 2.0, 100.0], mask=[False, False, True])
    m = tally.metrics.Mean()
    with pytest.raises(tally.InvalidArgument, match=r"argument `values`: numpy masked arrays are not read"):
        m.update_state(masked)
    with pytest.raises(tally.InvalidArgument, match=r"argument `sample_weight`: numpy masked arrays are not read"):
        m.update_state([1.0, 2.0, 3.0], masked)
    with pytest.raises(tally.InvalidArgument, match=r"argument `values`: a generator is not an array"):
        m.update_state(x for x in [1.0, 2.0])
    with pytest.raises(tally.InvalidArgument, match=r"argument `y_pred`: a generator is not an array"):
        tally.metrics.MeanSquaredError().update_state([1.0], (x for x in [1.0]))
    assert m.to_vector().tolist() == [0.0, 0.0]


def test_python_tour_example_runs(capsys):
    import pathlib
    import runpy
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python_tour.py"
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "auc is the member: True" in out and "functional: True" in out and "stateless: True" in out
    assert "signature: (k=5, name='top_k_categorical_accuracy', dtype='float32')" in out
