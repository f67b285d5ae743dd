"""tally.SlicedCollection: per-slice results equal scikit-learn on each slice's rows; merge,
strings, min_slice_size, private release and bad input (state unchanged)."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

import tally


def data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.float64)
    country = rng.integers(0, 4, n)
    device = rng.choice(["phone", "desktop", "tablet"], n)
    return y, p, country, device


def make(**kw):
    return tally.SlicedCollection(["binary_accuracy", "auc", "mean_squared_error"], slice_names=["country", "device"],
                                  slices=[[], ["country"], ["device"], ["country", "device"]], **kw)


def test_every_slice_matches_sklearn_on_its_rows():
    y, p, country, device = data()
    s = make()
    s.update_state(y, p, slice_ids=[country, device])
    r = s.result()
    assert len(r) == 1 + 4 + 3 + 12
    assert list(r)[:2] == ["overall", "country=0"]
    for c in range(4):
        for d in ["desktop", "phone", "tablet"]:
            mask = (country == c) & (device == d)
            got = r[f"country={c},device={d}"]
            assert got["samples"] == mask.sum()
            assert got["metrics"]["binary_accuracy"] == pytest.approx(accuracy_score(y[mask], p[mask] > 0.5), abs=1e-12)
            assert got["metrics"]["mean_squared_error"] == pytest.approx(mean_squared_error(y[mask], p[mask]),
                                                                         rel=1e-12)
            # AUC with 200 thresholds approximates the exact AUC
            assert got["metrics"]["auc"] == pytest.approx(roc_auc_score(y[mask], p[mask]), abs=0.01)
    assert r["overall"]["samples"] == len(y)


def test_batches_and_merge_equal_one_pass():
    y, p, country, device = data(seed=1)
    one, a, b = make(), make(), make()
    one.update_state(y, p, slice_ids={"country": country, "device": device})
    a.update_state(y[:700], p[:700], slice_ids=[country[:700], device[:700]])
    b.update_state(y[700:], p[700:], slice_ids=[country[700:], device[700:]])
    a.merge_state(b)
    assert a.keys() == one.keys()
    np.testing.assert_allclose(a.to_vector(), one.to_vector(), rtol=1e-12)
    # all_reduce_metrics on one process is the identity
    tally.all_reduce_metrics(a, tally.NotDistributedContext())
    np.testing.assert_allclose(a.to_vector(), one.to_vector(), rtol=1e-12)


def test_weights_min_slice_size_and_float_ids():
    y, p, country, _ = data(seed=2)
    w = np.linspace(0.5, 1.5, len(y))
    s = tally.SlicedCollection(["mean_squared_error"], slice_names="bin")
    s.update_state(y, p, w, slice_ids=country.astype(np.float32))
    r = s.result()
    mask = country == 2
    assert r["bin=2"]["metrics"]["mean_squared_error"] == pytest.approx(
        mean_squared_error(y[mask], p[mask], sample_weight=w[mask]), rel=1e-12)
    big = s.result(min_slice_size=int(mask.sum()) + 1)
    assert "bin=2" not in big and "overall" in big


def test_private_release_per_slice():
    y, p, country, device = data(seed=3)
    s = make()
    s.update_state(y, p, slice_ids=[country, device])
    exact = s.result()
    zero = s.private_result(tally.privacy.GaussianMechanism.from_stddev(0.0), seed=1)
    assert {k: v["samples"] for k, v in zero.items()} == {k: v["samples"] for k, v in exact.items()}
    a = s.private_result(tally.privacy.GaussianMechanism.from_stddev(5.0), seed=7)
    b = s.private_result(tally.privacy.GaussianMechanism.from_stddev(5.0), seed=7)
    assert a == b
    assert sum(a[k]["samples"] != exact[k]["samples"] for k in exact) > 10


def test_bad_input_leaves_state_unchanged():
    y, p, country, device = data(n=100, seed=4)
    s = make(max_slices=30)
    s.update_state(y, p, slice_ids=[country, device])
    before = s.to_vector()
    with pytest.raises(tally.ShapeError, match='slice column "country" has 99 values; y_true has 100 rows'):
        s.update_state(y, p, slice_ids=[country[:99], device])
    bad = country.astype(np.float64)
    bad[5] = np.nan
    with pytest.raises(tally.InvalidArgument, match='holds NaN at row 5'):
        s.update_state(y, p, slice_ids=[bad, device])
    with pytest.raises(tally.InvalidArgument, match="more than max_slices=30"):
        s.update_state(y, p, slice_ids=[country + 10, device])
    with pytest.raises(tally.InvalidArgument, match="holds None at row 1"):
        s.update_state(y[:2], p[:2], slice_ids=[country[:2], np.array(["a", None], dtype=object)])
    with pytest.raises(tally.InvalidArgument, match="expected 2 slice columns"):
        s.update_state(y, p, slice_ids=[country])
    np.testing.assert_array_equal(s.to_vector(), before)
    with pytest.raises(tally.InvalidArgument, match='unknown feature "region"'):
        tally.SlicedCollection(["mse"], slice_names=["country"], slices=[["region"]])


def test_all_reduce_over_a_context_written_in_python_with_different_slice_sets():
    from test_collection_distributed import run_workers
    y, p, country, device = data(n=900, seed=5)
    country[-50:] = 9  # only the last worker sees country 9
    single = make()
    single.update_state(y, p, slice_ids=[country, device])
    for workers in (2, 3):
        got = {}

        def body(ctx):
            mine = make()
            rows = np.array_split(np.arange(len(y)), ctx.world_size)[ctx.global_rank]
            mine.update_state(y[rows], p[rows], slice_ids=[country[rows], device[rows]])
            tally.all_reduce_metrics(mine, ctx)
            got[ctx.global_rank] = (mine.keys(), mine.to_vector())

        run_workers(workers, body)
        for keys, vector in got.values():
            assert keys == single.keys()
            np.testing.assert_allclose(vector, single.to_vector(), rtol=1e-12)
        assert single.result()["country=9"]["samples"] == 50


@pytest.mark.parametrize("classes", [2, 3])
def test_rows_of_several_columns_are_grouped_whole(classes):
    # [n, 2] float32 rows are 8 bytes, [n, 3] rows 12: both scatter whole rows.
    rng = np.random.default_rng(6)
    n = 500
    scores = rng.random((n, classes)).astype(np.float32)
    labels = rng.integers(0, classes, n)
    group = rng.integers(0, 3, n)
    s = tally.SlicedCollection(["sparse_categorical_accuracy", "sparse_categorical_crossentropy"], slice_names="g")
    s.update_state(labels, scores, slice_ids=group)
    r = s.result()
    for g in range(3):
        mask = group == g
        c = tally.MetricCollection(["sparse_categorical_accuracy", "sparse_categorical_crossentropy"])
        c.update_state(labels[mask], scores[mask])
        want = c.result()
        assert r[f"g={g}"]["samples"] == mask.sum()
        for name, value in want.items():
            assert r[f"g={g}"]["metrics"][name] == pytest.approx(value, rel=1e-12)
