"""The issue 17 metrics from Python: scikit-learn agreement on random data of several
shapes and dtypes (explained_variance_score, max_error, mean_tweedie_deviance,
brier_score_loss), registry names, and Classwise's dict result."""
import numpy as np
import pytest
from sklearn import metrics as skm

import tally


def close(got, want, rel=1e-9):
    np.testing.assert_allclose(got, want, rtol=rel, atol=1e-12)


def batches(n, parts=3):
    cuts = [0, n // 5, n // 2, n][: parts + 1]
    return list(zip(cuts[:-1], cuts[1:]))


@pytest.mark.parametrize("n", [7, 2000])
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_explained_variance_matches_sklearn(rng, n, outputs, dtype):
    shape = (n,) if outputs == 1 else (n, outputs)
    y = rng.normal(2.0, 1.5, shape).astype(dtype)
    p = (y + rng.normal(0.3, 0.5, shape)).astype(dtype)
    w = rng.random(n)
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    for multioutput in ["uniform_average", "variance_weighted", "raw_values"]:
        m = tally.metrics.ExplainedVariance(multioutput=multioutput, num_outputs=outputs)
        for b, e in batches(n):
            m.update_state(y[b:e], p[b:e], sample_weight=w[b:e])
        want = skm.explained_variance_score(y64, p64, sample_weight=w, multioutput=multioutput)
        close(m.result(), want, rel=1e-8)


@pytest.mark.parametrize("power", [-0.5, 0, 1, 1.5, 2, 3])
def test_tweedie_max_error_and_pinball_match_sklearn(rng, power):
    y = rng.gamma(2.0, 1.0, 500) + 0.01
    p = y * rng.uniform(0.5, 1.5, 500)
    w = rng.random(500)
    m = tally.metrics.TweedieDeviance(power=power)
    m.update_state(y, p, sample_weight=w)
    close(m.result(), skm.mean_tweedie_deviance(y, p, sample_weight=w, power=power))
    m = tally.metrics.get("max_error")
    m.update_state(y, p)
    assert m.result() == skm.max_error(y, p)
    m = tally.metrics.MeanPinballLoss(alpha=0.3)
    m.update_state(y, p, sample_weight=w)
    close(m.result(), skm.mean_pinball_loss(y, p, alpha=0.3, sample_weight=w))


def test_tweedie_domain_error_leaves_the_state():
    m = tally.metrics.TweedieDeviance(power=2)
    with pytest.raises(tally.InvalidArgument, match="strictly positive y and y_pred"):
        m.update_state(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    assert m.to_vector().tolist() == [0.0, 0.0]
    with pytest.raises(tally.InvalidArgument, match="power"):
        tally.metrics.TweedieDeviance(power=0.5)


def test_brier_and_calibration(rng):
    y = (rng.random(400) < 0.3).astype(np.int64)
    p = np.clip(0.5 * y + rng.random(400) * 0.6, 0, 1)
    w = rng.random(400)
    m = tally.metrics.BrierScore()
    m.update_state(y, p, sample_weight=w)
    close(m.result(), skm.brier_score_loss(y, p, sample_weight=w))
    # TorchMetrics' docstring example (binary_calibration_error, n_bins=2).
    ece = tally.metrics.ExpectedCalibrationError(num_bins=2, norm="max")
    ece.update_state(np.array([0, 0, 1, 1, 1]), np.array([0.25, 0.25, 0.55, 0.75, 0.75]))
    assert abs(ece.result() - 0.3167) < 5e-5
    assert tally.metrics.get("ece").class_name == "ExpectedCalibrationError"


def test_classwise_result_is_a_dict():
    y = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=np.float64)
    p = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    m = tally.metrics.Classwise(metric=tally.metrics.F1Score(threshold=0.5), labels=["cat", "dog", "bird"])
    m.update_state(y, p)
    got = m.result()
    assert list(got) == ["f1_score_cat", "f1_score_dog", "f1_score_bird"]
    close(list(got.values()), [0.5, 0.8, 2 / 3], rel=1e-6)  # Keras's F1Score docstring
    assert m.get_config()["metric"]["class_name"] == "F1Score"
    assert m.state().result() == got
    by_spec = tally.metrics.get({"class_name": "classwise", "config": {"metric": "f1_score", "name": "f1"}})
    by_spec.update_state(y, p)
    assert list(by_spec.result()) == ["f1_0", "f1_1", "f1_2"]
    with pytest.raises(tally.ConfigError, match="per-class vector"):
        tally.metrics.Classwise(metric={"class_name": "F1Score", "config": {"average": "macro"}})


def test_classwise_in_a_collection_adds_one_key_per_class():
    y = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=np.float64)
    p = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    col = tally.MetricCollection([tally.metrics.Classwise(metric=tally.metrics.F1Score(threshold=0.5),
                                                          labels=["cat", "dog", "bird"], name="f1"),
                                  tally.metrics.BrierScore(name="brier")])
    col.update_state(y, p)
    got = col.result()
    assert list(got) == ["f1_cat", "f1_dog", "f1_bird", "brier"]
    close(got["f1_dog"], 0.8, rel=1e-6)


def test_classwise_over_precision_with_class_ids_matches_sklearn(rng):
    y = np.eye(4)[rng.integers(0, 4, 300)]
    p = rng.random((300, 4))
    m = tally.metrics.Classwise(metric="precision", labels=["a", "b", "c", "d"])
    m.update_state(y[:100], p[:100])
    m.update_state(y[100:], p[100:])
    want = skm.precision_score(y, p > 0.5, average=None, zero_division=0)
    assert list(m.result()) == ["precision_a", "precision_b", "precision_c", "precision_d"]
    close(list(m.result().values()), want, rel=1e-12)
