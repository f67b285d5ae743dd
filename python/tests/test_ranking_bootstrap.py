"""Ranking metrics (query_ids=) and BootstrapInterval (index=, dict result) from Python,
against scikit-learn's ndcg_score and the invariances of docs/metrics.md."""
import inspect

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

import tally


def _queries(seed=0, queries=30):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, queries)
    qid = np.repeat(np.arange(queries) * 2 + 1, sizes)
    rel = rng.integers(0, 3, len(qid)).astype(np.float64)
    score = rng.random(len(qid))
    return qid, rel, score, sizes


def test_ndcg_matches_scikit_learn_per_query_mean():
    qid, rel, score, sizes = _queries()
    starts = np.concatenate([[0], np.cumsum(sizes)])
    expected = np.mean([ndcg_score([rel[a:b]], [score[a:b]], k=5) for a, b in zip(starts[:-1], starts[1:])])
    m = tally.metrics.NDCG(k=5)
    m.update_state(rel, score, query_ids=qid)
    assert m.result() == pytest.approx(expected, rel=1e-12)
    # The same in a collection with a metric that takes no query ids.
    col2 = tally.MetricCollection([tally.metrics.NDCG(k=5, name="ndcg5"), tally.metrics.MeanSquaredError()])
    col2.update_state(rel, score, query_ids=qid)
    assert col2.result()["ndcg5"] == pytest.approx(expected, rel=1e-12)
    # The one-call form takes the same keyword.
    assert tally.functional.ndcg(rel, score, query_ids=qid, k=5) == pytest.approx(expected, rel=1e-12)
    assert "query_ids" in inspect.signature(tally.functional.ndcg).parameters


def test_ranking_errors_name_the_problem():
    m = tally.metrics.MeanReciprocalRank()
    with pytest.raises(tally.InvalidArgument, match="argument `query_ids` is required"):
        m.update_state([1, 0], [0.3, 0.2])
    m.update_state([1, 0], [0.3, 0.2], query_ids=np.array([4, 4]))
    with pytest.raises(tally.InvalidArgument, match="query id 4 continues the previous batch's last query"):
        m.update_state([0, 1], [0.3, 0.2], query_ids=np.array([4, 5]))
    with pytest.raises(tally.InvalidArgument, match="takes no `query_ids`"):
        tally.metrics.BinaryAccuracy().update_state([1, 0], [0.3, 0.2], query_ids=np.array([1, 1]))
    assert tally.metrics.describe("mrr")["inputs"]["requires"] == ["query_ids"]


def test_bootstrap_signature_dict_and_invariances():
    sig = inspect.signature(tally.metrics.BootstrapInterval)
    assert list(sig.parameters)[:4] == ["metric", "num_resamples", "confidence", "seed"]
    assert sig.parameters["num_resamples"].default == 1000
    rng = np.random.default_rng(3)
    y = (rng.random(4000) < 0.4).astype(np.float32)
    p = np.clip(0.35 * y + 0.65 * rng.random(4000), 0, 0.999).astype(np.float32)
    one = tally.metrics.BootstrapInterval(tally.metrics.BinaryAccuracy(), num_resamples=200, seed=1)
    one.update_state(y, p)
    r = one.result()
    assert set(r) == {"value", "lower", "upper", "std"}
    assert r["value"] == tally.metrics.BinaryAccuracy()(y, p)
    assert r["lower"] < r["value"] < r["upper"]
    # Two workers with their offsets, merged, equal one process; so does an explicit index.
    a = tally.metrics.BootstrapInterval("binary_accuracy", num_resamples=200, seed=1)
    b = tally.metrics.BootstrapInterval("binary_accuracy", num_resamples=200, seed=1)
    a.update_state(y[:1500], p[:1500])
    b.set_row_offset(1500)
    b.update_state(y[1500:], p[1500:])
    a.merge_state(b)
    np.testing.assert_allclose(a.to_vector(), one.to_vector(), rtol=1e-12)
    c = tally.metrics.BootstrapInterval("binary_accuracy", num_resamples=200, seed=1)
    idx = np.arange(4000)
    c.update_state(y[2000:], p[2000:], index=idx[2000:])
    c.update_state(y[:2000], p[:2000], index=idx[:2000])
    np.testing.assert_allclose(c.to_vector()[:-1], one.to_vector()[:-1], rtol=1e-12)
    assert tally.functional.bootstrap_interval(y, p, metric="binary_accuracy", num_resamples=200, seed=1) == r
    with pytest.raises(tally.InvalidArgument, match="merged by max"):
        tally.metrics.BootstrapInterval("ndcg")
