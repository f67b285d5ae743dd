"""tally.dask.evaluate and tally.partitions: each partition evaluated where it lives, states
combined by their variables' aggregations, the result equal to one pass over all rows for
any partitioning; on Dask's local schedulers, a distributed LocalCluster with 2 worker
processes, and a concurrent.futures ProcessPoolExecutor."""
import concurrent.futures
import itertools
import pickle

import numpy as np
import pytest

import tally
from engine_data import MaxAbsError, collection, dataset

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

ROWS = 2003


def _single(rows=ROWS, weighted=True):
    y, p, w = dataset(rows)
    metrics = collection()
    metrics.update_state(y, p, w if weighted else None)
    return metrics


def _assert_same(metrics, single):
    np.testing.assert_allclose(metrics.to_vector(), single.to_vector(), rtol=1e-12, atol=0)
    for name, value in single.result().items():
        np.testing.assert_allclose(metrics.result()[name], value, rtol=1e-12, atol=0)


@pytest.mark.parametrize("chunks", [ROWS, 1000, 257, (1, 2, 2000), (0, 1003, 0, 1000)])
def test_any_partitioning_equals_one_pass(chunks):
    y, p, w = dataset(ROWS)
    metrics = collection()
    # y_pred and the weights come chunked differently: evaluate aligns them to y_true's rows
    result = tally.dask.evaluate(metrics, da.from_array(y, chunks=chunks), da.from_array(p, chunks=500),
                                 da.from_array(w, chunks=ROWS), split_every=2, scheduler="sync")
    single = _single()
    _assert_same(metrics, single)
    assert result == metrics.result()
    assert int(metrics["max_abs_error"].count.value) == ROWS


def test_evaluate_adds_to_the_state_already_held_and_takes_lists_and_single_metrics():
    y, p, w = dataset(ROWS)
    metrics = collection()
    metrics.update_state(y[:3], p[:3], w[:3])
    tally.dask.evaluate(metrics, da.from_array(y[3:], chunks=400), da.from_array(p[3:], chunks=400),
                        da.from_array(w[3:], chunks=400), scheduler="threads")
    _assert_same(metrics, _single())
    auc, mae = tally.metrics.AUC(), MaxAbsError()
    results = tally.dask.evaluate([auc, mae], da.from_array(y, chunks=300), p, scheduler="threads")
    reference = tally.metrics.AUC()
    reference.update_state(y, p)
    assert results[0] == pytest.approx(reference.result(), rel=1e-12)
    assert results[1] == pytest.approx(float(np.max(np.abs(y - p))), rel=0)
    mean = tally.metrics.Mean()
    assert tally.dask.evaluate(mean, None, da.from_array(p, chunks=100), sample_weight=2.0,
                               scheduler="sync") == pytest.approx(float(np.mean(p)), rel=1e-12)


def test_inferred_layouts_and_dataframe_columns():
    y, p, w = dataset(ROWS)
    labels = (p * 3).astype(np.int64).clip(0, 2)
    onehot_true = np.eye(3)[(y * 2).astype(np.int64)]
    onehot_pred = np.eye(3)[labels]
    f1 = tally.metrics.F1Score(average="macro")  # its class count comes from the first batch
    tally.dask.evaluate(f1, da.from_array(onehot_true, chunks=(300, 3)), da.from_array(onehot_pred, chunks=(700, 3)),
                        scheduler="sync")
    reference = tally.metrics.F1Score(average="macro")
    reference.update_state(onehot_true, onehot_pred)
    assert f1.result() == pytest.approx(reference.result(), rel=1e-12)
    np.testing.assert_array_equal(f1.to_vector(), reference.to_vector())
    f1.merge_state(reference)  # the layout it was given is the one a first batch gives
    in_collection = tally.MetricCollection([tally.metrics.F1Score(average="macro"), "mse"])
    tally.dask.evaluate(in_collection, da.from_array(onehot_true, chunks=(300, 3)), onehot_pred, scheduler="sync")
    assert in_collection["f1_score"].result() == pytest.approx(reference.result(), rel=1e-12)
    frame = dd.from_pandas(pd.DataFrame({"y": y, "p": p, "w": w}), npartitions=7)
    metrics = collection()
    tally.dask.evaluate(metrics, frame["y"], frame["p"], frame["w"], scheduler="threads")
    _assert_same(metrics, _single())
    # a dataframe column against a dask array: aligned through the column's lengths
    metrics = collection()
    tally.dask.evaluate(metrics, frame["y"], da.from_array(p, chunks=600), w, scheduler="sync")
    _assert_same(metrics, _single())


def test_bad_input_is_reported_by_name():
    y, p, _ = dataset(ROWS)
    with pytest.raises(tally.ShapeError, match="tally.dask.evaluate: y_pred has 2002 rows but y_true has 2003"):
        tally.dask.evaluate(tally.metrics.AUC(), da.from_array(y), da.from_array(p[:-1]), scheduler="sync")
    with pytest.raises(tally.InvalidArgument, match="split_every must be an integer >= 2; received 1"):
        tally.dask.evaluate(tally.metrics.AUC(), da.from_array(y), da.from_array(p), split_every=1)
    # F1Score sizes its state from the first batch: partitions with 3 and 4 classes cannot combine
    f1 = tally.metrics.F1Score()
    three = tally.partitions.evaluate_partition(f1, np.eye(3), np.eye(3))
    four = tally.partitions.evaluate_partition(f1, np.eye(4), np.eye(4))
    with pytest.raises(tally.StateError, match="partitions disagree on the state layout"):
        tally.partitions.combine([three, four])
    assert f1.to_vector().size == 0  # evaluate_partition leaves the metric as it was


def test_partition_states_pickle_and_combine_in_any_grouping():
    y, p, w = dataset(ROWS)
    bounds = [0, 5, 700, 701, 1500, ROWS]
    states = [tally.partitions.evaluate_partition(collection(), y[a:b], p[a:b], w[a:b])
              for a, b in zip(bounds, bounds[1:])]
    states.append(tally.partitions.evaluate_partition(collection(), y[:0], p[:0], w[:0]))  # empty: no rows
    states = [pickle.loads(pickle.dumps(s)) for s in states]
    flat = tally.partitions.combine(states)
    nested = tally.partitions.combine([tally.partitions.combine(states[3:]), tally.partitions.combine(states[:3])])
    assert flat.rows == nested.rows == ROWS
    for combined in (flat, nested):
        metrics = tally.partitions.merge_into(collection(), combined)
        _assert_same(metrics, _single())


def _slice_state(bounds):
    a, b = bounds
    y, p, w = dataset(ROWS)  # each process loads its own rows; only the small state travels back
    return tally.partitions.evaluate_partition(collection(), y[a:b], p[a:b], w[a:b])


def test_process_pool_executor():
    bounds = [(a, min(a + 600, ROWS)) for a in range(0, ROWS, 600)]
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        states = list(pool.map(_slice_state, bounds))
    metrics = tally.partitions.merge_into(collection(), tally.partitions.combine(states))
    _assert_same(metrics, _single())
    y, p, w = dataset(ROWS)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:  # the documented pattern: arrays shipped
        parts = [(y[a:b], p[a:b]) for a, b in bounds]
        states = pool.map(tally.partitions.evaluate_partition, itertools.repeat(MaxAbsError()),
                          [t for t, _ in parts], [q for _, q in parts])
        metric = tally.partitions.merge_into(MaxAbsError(), tally.partitions.combine(states))
    assert metric.result() == float(np.max(np.abs(y - p)))
    assert int(metric.count.value) == ROWS


def test_local_cluster_with_two_worker_processes():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        y, p, w = dataset(ROWS)
        frame = dd.from_pandas(pd.DataFrame({"y": y, "p": p, "w": w}), npartitions=6)
        metrics = collection()  # built-ins and a Python subclass metric, unpickled on the workers
        tally.dask.evaluate(metrics, frame["y"], frame["p"], frame["w"])
        _assert_same(metrics, _single())
        workers = client.run(lambda: __import__("os").getpid())
        assert len(set(workers.values())) == 2
        arrays = collection()
        tally.dask.evaluate(arrays, da.from_array(y, chunks=250), da.from_array(p, chunks=250),
                            da.from_array(w, chunks=250), split_every=3)
        _assert_same(arrays, _single())
