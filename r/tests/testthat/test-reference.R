# Reference values: the same fixtures and tolerances as the C++ suites
# (tests/metrics/*_test.cpp), through the R constructors.

test_that("accuracy family matches scikit-learn (tests/fixtures/accuracy.json)", {
  f <- fixture("accuracy")
  b <- f$binary
  expect_equal(metric_binary_accuracy()(b$y_true, b$y_pred), b$accuracy, tolerance = 1e-12)
  m <- metric_binary_accuracy()
  m$update_state(b$y_true, b$y_pred, b$sample_weight)
  expect_equal(m$result(), b$weighted_accuracy, tolerance = 1e-12)
  expect_equal(metric_binary_accuracy(threshold = 0.3)(b$y_true, b$y_pred), b[["accuracy_threshold_0.3"]],
               tolerance = 1e-12)
  # logical labels are read in place as int32
  expect_equal(metric_binary_accuracy()(b$y_true == 1, b$y_pred), b$accuracy, tolerance = 1e-12)

  mc <- f$multiclass
  scores <- mc$y_pred  # jsonlite: one row per sample, an (N, C) matrix read through column-major strides
  expect_true(is.matrix(scores))
  expect_equal(metric_sparse_categorical_accuracy()(mc$y_true, scores), mc$accuracy, tolerance = 1e-12)
  m <- metric_sparse_categorical_accuracy()
  m$update_state(mc$y_true, scores, mc$sample_weight)
  expect_equal(m$result(), mc$weighted_accuracy, tolerance = 1e-12)
  expect_equal(metric_sparse_top_k_categorical_accuracy(k = 3)(mc$y_true, scores), mc$top_3, tolerance = 1e-12)
  # factors are class ids, 0-based: level i is class i - 1
  labels <- factor(mc$y_true, levels = 0:(ncol(scores) - 1))
  expect_equal(metric_sparse_categorical_accuracy()(labels, scores), mc$accuracy, tolerance = 1e-12)
  # a transposed copy made contiguous gives the same result
  expect_equal(metric_sparse_categorical_accuracy()(mc$y_true, t(t(scores))), mc$accuracy, tolerance = 1e-12)
})

test_that("confusion family matches scikit-learn (tests/fixtures/confusion.json)", {
  f <- fixture("confusion")
  check <- function(m, w, want) {
    m$update_state(f$y_true, f$y_pred, w)
    expect_equal(m$result(), want, tolerance = 1e-9)
  }
  check(metric_auc(), NULL, f$roc_auc)
  check(metric_auc(), f$sample_weight, f$roc_auc_weighted)
  check(metric_precision(), NULL, f$precision)
  check(metric_recall(), NULL, f$recall)
  check(metric_precision(), f$sample_weight, f$precision_weighted)
  check(metric_recall(), f$sample_weight, f$recall_weighted)
})

test_that("regression family matches scikit-learn (tests/fixtures/regression.json)", {
  f <- fixture("regression")
  check <- function(m, w, want) {
    m$update_state(f$y_true, f$y_pred, w)
    expect_equal(m$result(), want, tolerance = 1e-9 * max(1, abs(want)))
  }
  check(metric_mean_squared_error(), NULL, f$mse)
  check(metric_mean_squared_error(), f$sample_weight, f$mse_weighted)
  check(metric_mean_absolute_error(), NULL, f$mae)
  check(metric_mean_absolute_error(), f$sample_weight, f$mae_weighted)
  check(metric_r2_score(), NULL, f$r2)
})

test_that("crossentropy and hinge match scikit-learn (tests/fixtures/probabilistic.json)", {
  f <- fixture("probabilistic")
  b <- f$binary
  expect_equal(metric_binary_crossentropy()(b$y_true, b$y_pred), b$log_loss, tolerance = 1e-12)
  m <- metric_binary_crossentropy()
  m$update_state(b$y_true, b$y_pred, b$sample_weight)
  expect_equal(m$result(), b$log_loss_weighted, tolerance = 1e-12)

  mc <- f$multiclass
  n <- length(mc$labels)
  scores <- matrix(mc$y_pred, nrow = n, byrow = TRUE)  # the fixture is C order
  onehot <- matrix(0, n, mc$classes)
  onehot[cbind(seq_len(n), mc$labels + 1)] <- 1
  expect_equal(metric_categorical_crossentropy()(onehot, scores), mc$log_loss, tolerance = 1e-12)
  m <- metric_sparse_categorical_crossentropy()
  m$update_state(mc$labels, scores, mc$sample_weight)
  expect_equal(m$result(), mc$log_loss_weighted, tolerance = 1e-12)

  h <- f$hinge
  expect_equal(metric_hinge()(h$y_true, h$y_pred), h$hinge_loss, tolerance = 1e-12)
})

test_that("per-sample functions return one value per sample (keras3's metric_huber(y_true, y_pred))", {
  y <- c(0, 1, 2, 3)
  p <- c(0.5, 1, 4, 3)
  expect_equal(metric_huber(y, p), c(0.125, 0, 1.5, 0))
  expect_equal(metric_huber(y, p, delta = 2), c(0.125, 0, 2, 0))
  expect_equal(metric_mean_squared_error(y, p), c(0.25, 0, 4, 0))
  expect_equal(metric_log_cosh(c(0, 0), c(0, 1)), c(0, log(cosh(1))), tolerance = 1e-12)
})

test_that("issue 17 metrics match scikit-learn and TorchMetrics (tests/fixtures/beyond.json)", {
  # Not keras3 constructors: reachable through metric_get() (docs/r.md).
  f <- fixture("beyond")
  get <- function(class_name, ...) metric_get(list(class_name = class_name, config = list(...)))
  score <- function(m, y, p) {
    m$update_state(y, p)
    m$result()
  }
  expect_equal(score(metric_get("explained_variance"), f$y_true, f$y_pred), f$ev, tolerance = 1e-12)
  expect_equal(score(get("ExplainedVariance", multioutput = "raw_values", num_outputs = 3), f$y_true_k, f$y_pred_k),
               f$ev_k_raw, tolerance = 1e-11)
  expect_equal(score(metric_get("max_error"), f$y_true, f$y_pred), f$max_error, tolerance = 1e-15)
  expect_equal(score(get("TweedieDeviance", power = 1.5), f$y_true_pos, f$y_pred_pos), f$tweedie[["1.5"]],
               tolerance = 1e-12)
  expect_equal(score(metric_get("brier_score"), f$binary_true, f$binary_prob), f$brier_binary, tolerance = 1e-12)
  expect_equal(score(get("ExpectedCalibrationError", norm = "l2"), f$binary_true, f$binary_prob), f$ece_binary$l2,
               tolerance = 1e-12)
})

test_that("Classwise returns a named list keyed <name>_<label>", {
  y <- matrix(c(1, 1, 1, 1, 0, 0, 1, 1, 0), nrow = 3, byrow = TRUE)
  p <- matrix(c(0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0), nrow = 3, byrow = TRUE)
  m <- metric_get(list(class_name = "Classwise",
                       config = list(metric = list(class_name = "F1Score", config = list(threshold = 0.5)),
                                     labels = c("cat", "dog", "bird"))))
  m$update_state(y, p)
  r <- m$result()
  expect_true(is.list(r))
  expect_equal(names(r), c("f1_score_cat", "f1_score_dog", "f1_score_bird"))
  expect_equal(unlist(r, use.names = FALSE), c(0.5, 0.8, 2 / 3), tolerance = 1e-6)
})
