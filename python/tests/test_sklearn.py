"""Differential tests against scikit-learn on random data of several shapes and dtypes,
for every catalog metric that computes the same quantity."""
import numpy as np
import pytest
from sklearn import metrics as skm

import tally
from conftest import require

SIZES = [7, 1000, 20_000]
LABEL_DTYPES = [np.int32, np.int64, np.float32, np.float64, bool]
SCORE_DTYPES = [np.float32, np.float64]


def close(got, want, rel=1e-9):
    np.testing.assert_allclose(got, want, rtol=rel, atol=1e-12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("label_dtype", LABEL_DTYPES)
@pytest.mark.parametrize("score_dtype", SCORE_DTYPES)
def test_binary_metrics(rng, n, label_dtype, score_dtype):
    y = (rng.random(n) < 0.4).astype(label_dtype)
    p = rng.random(n).astype(score_dtype)
    w = rng.random(n)
    m = tally.metrics.BinaryAccuracy()
    m.update_state(y, p)
    close(m.result(), skm.accuracy_score(y.astype(int), p > 0.5))
    m = tally.metrics.BinaryAccuracy()
    m.update_state(y, p, sample_weight=w)
    close(m.result(), skm.accuracy_score(y.astype(int), p > 0.5, sample_weight=w))
    if "BinaryCrossentropy" in tally.metrics.__all__:
        pc = np.clip(p.astype(np.float64), 1e-3, 1 - 1e-3).astype(score_dtype)
        m = tally.metrics.BinaryCrossentropy()
        m.update_state(y, pc, sample_weight=w)
        close(m.result(), skm.log_loss(y.astype(int), pc.astype(np.float64), sample_weight=w, labels=[0, 1]),
              rel=1e-6)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("classes", [3, 10])
@pytest.mark.parametrize("score_dtype", SCORE_DTYPES)
def test_multiclass_metrics(rng, n, classes, score_dtype):
    y = rng.integers(0, classes, n)
    p = rng.random((n, classes))
    p = (p / p.sum(1, keepdims=True)).astype(score_dtype)
    w = rng.random(n)
    m = tally.metrics.SparseCategoricalAccuracy()
    m.update_state(y, p, sample_weight=w)
    close(m.result(), skm.accuracy_score(y, p.argmax(1), sample_weight=w))
    m = tally.metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state(y, p)
    close(m.result(), skm.top_k_accuracy_score(y, p, k=2, labels=list(range(classes))))
    onehot = np.eye(classes)[y]
    m = tally.metrics.CategoricalAccuracy()
    m.update_state(onehot, p)
    close(m.result(), skm.accuracy_score(y, p.argmax(1)))
    if "SparseCategoricalCrossentropy" in tally.metrics.__all__:
        m = tally.metrics.SparseCategoricalCrossentropy()
        m.update_state(y, p, sample_weight=w)
        close(m.result(), skm.log_loss(y, p.astype(np.float64), sample_weight=w, labels=list(range(classes))),
              rel=1e-5)
    if "F1Score" in tally.metrics.__all__:
        for average in ["micro", "macro", "weighted"]:
            f1 = tally.metrics.F1Score(average=average, threshold=0.5)
            f1.update_state(onehot.astype(np.float32), p)
            pred = (p > 0.5).astype(int)
            close(f1.result(), skm.f1_score(onehot.astype(int), pred, average=average, zero_division=0), rel=1e-5)
    if "MeanIoU" in tally.metrics.__all__:
        iou = tally.metrics.MeanIoU(num_classes=classes)
        iou.update_state(y, p.argmax(1))
        present = np.union1d(y, p.argmax(1))
        close(iou.result(), skm.jaccard_score(y, p.argmax(1), average="macro", labels=present), rel=1e-6)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("dtype", SCORE_DTYPES)
def test_regression_metrics(rng, n, outputs, dtype):
    shape = (n,) if outputs == 1 else (n, outputs)
    y = rng.normal(2.0, 1.5, shape).astype(dtype)
    p = (y + rng.normal(0, 0.5, shape)).astype(dtype)
    w = rng.random(n)
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    for cls, fn in [(tally.metrics.MeanSquaredError, skm.mean_squared_error),
                    (tally.metrics.MeanAbsoluteError, skm.mean_absolute_error)]:
        m = cls()
        m.update_state(y, p, sample_weight=w)
        close(m.result(), fn(y64, p64, sample_weight=w))
    m = tally.metrics.RootMeanSquaredError()
    m.update_state(y, p)
    close(m.result(), np.sqrt(skm.mean_squared_error(y64, p64)))
    r2 = tally.metrics.R2Score(num_outputs=outputs)
    r2.update_state(y, p, sample_weight=w)
    close(r2.result(), skm.r2_score(y64, p64, sample_weight=w))
    if outputs == 1:
        m = tally.metrics.MeanAbsolutePercentageError(dtype="float64")
        m.update_state(y, p)
        close(m.result(), 100 * skm.mean_absolute_percentage_error(y64, p64), rel=1e-6)


def test_hinge_matches_sklearn(rng):
    require("Hinge")
    y = np.where(rng.random(500) < 0.5, -1.0, 1.0)
    d = rng.normal(0, 1.5, 500)
    m = tally.metrics.Hinge()
    m.update_state(y, d)
    close(m.result(), skm.hinge_loss(y, d))


def test_auc_matches_sklearn_on_the_threshold_grid(rng):
    require("AUC")
    y = (rng.random(5000) < 0.3).astype(int)
    # One distinct score per bucket of Keras's default grid (bucket centres), so binning
    # loses no ROC point and the binned AUC equals the exact one.
    grid = (rng.integers(0, 199, 5000) + 0.5) / 199.0
    m = tally.metrics.AUC()
    m.update_state(y, grid)
    close(m.result(), skm.roc_auc_score(y, grid), rel=1e-6)
    pr = tally.metrics.AUC(curve="PR", summation_method="majoring", num_thresholds=1000)
    pr.update_state(y, grid)
    assert abs(pr.result() - skm.average_precision_score(y, grid)) < 0.02
    w = rng.random(5000)
    m = tally.metrics.AUC()
    m.update_state(y, grid, sample_weight=w)
    close(m.result(), skm.roc_auc_score(y, grid, sample_weight=w), rel=1e-6)
    for name, fn in [("Precision", skm.precision_score), ("Recall", skm.recall_score)]:
        m = getattr(tally.metrics, name)()
        m.update_state(y, grid, sample_weight=w)
        close(m.result(), fn(y, grid > 0.5, sample_weight=w))


def test_r2_score_builds_outputs_from_the_first_batch(rng, tmp_path):
    # Keras 3: R2Score() takes (N, K) inputs without num_outputs; the first batch fixes K.
    y = rng.normal(2.0, 1.5, (500, 3))
    p = y + rng.normal(0, 0.5, (500, 3))
    r2 = tally.metrics.R2Score(class_aggregation=None)
    r2.update_state(y[:200], p[:200])
    r2.update_state(y[200:], p[200:])
    close(r2.result(), skm.r2_score(y, p, multioutput="raw_values"))
    assert "num_outputs" not in r2.get_config()
    with pytest.raises(tally.ShapeError, match="fixed the number of outputs at 3; this batch has 2"):
        r2.update_state(y[:10, :2], p[:10, :2])
    close(r2.result(), skm.r2_score(y, p, multioutput="raw_values"))  # the failed batch changed nothing
    # A state file of the built metric restores into a fresh one (the state sizes it).
    path = tmp_path / "r2.tally"
    tally.save_state(r2, path)
    close(tally.load_state(path).to_metric().result(), skm.r2_score(y, p, multioutput="raw_values"))


@pytest.mark.parametrize("classes", [2, 5])
def test_classification_family_and_integer_labels(rng, classes):
    # Issue 17: the classification family and the integer-label confusion metrics; matrix
    # and vector results come back as numpy arrays.
    n = 2000
    y = rng.integers(0, classes, n)
    p = rng.random((n, classes))
    p = p / p.sum(1, keepdims=True)
    pred = p.argmax(1)
    w = rng.random(n)
    labels = list(range(classes))
    cm = tally.metrics.ConfusionMatrix(num_classes=classes)
    cm.update_state(y, p, sample_weight=w)
    got = cm.result()
    assert isinstance(got, np.ndarray) and got.shape == (classes, classes)
    close(got, skm.confusion_matrix(y, pred, labels=labels, sample_weight=w))
    for cls, want in [("MatthewsCorrelationCoefficient", skm.matthews_corrcoef(y, pred, sample_weight=w)),
                      ("BalancedAccuracy", skm.balanced_accuracy_score(y, pred, sample_weight=w)),
                      ("CohenKappa", skm.cohen_kappa_score(y, pred, labels=labels, sample_weight=w))]:
        m = getattr(tally.metrics, cls)(num_classes=classes)
        m.update_state(y, p, sample_weight=w)
        close(m.result(), want)
    precision = tally.metrics.Precision(num_classes=classes)
    precision.update_state(y, pred)
    close(precision.result(), skm.precision_score(y, pred, labels=labels, average=None, zero_division=0))
    f1 = tally.metrics.F1Score(num_classes=classes, average="macro")
    f1.update_state(y, p)
    close(f1.result(), skm.f1_score(y, pred, average="macro"), rel=1e-6)
    if classes > 2:
        auc = tally.metrics.AUC(multi_class="ovr", num_classes=classes, num_thresholds=10001)
        auc.update_state(y, p)
        close(auc.result(), skm.roc_auc_score(y, p, multi_class="ovr"), rel=2e-3)
    else:
        roc = tally.metrics.ROCCurve(num_thresholds=11)
        roc.update_state(y, p[:, 1])
        curve = roc.result()
        assert isinstance(curve, np.ndarray) and curve.shape == (3, 11)
        for t, fpr, tpr in curve.T:
            tn, fp, fn, tp = skm.confusion_matrix(y, p[:, 1] > t, labels=[0, 1]).ravel()
            close([fpr, tpr], [fp / (fp + tn), tp / (tp + fn)])
