# The fused NA scan and update (docs/performance.md, "R"; r/src/metric.cpp): inputs of
# 2^18 elements or more are cut into chunks of 2^15 elements, each added to a fresh copy of
# the metric and scanned for NA while in cache, the copies merged at the end. The result
# must be the plain update's (tally_check_na(FALSE) takes the plain path) within the
# batch-split tolerance (counts exactly, float sums within 1e-12), and NA anywhere must give
# the plain path's error with the state unchanged.

set.seed(11)
n <- 300000 # 10 chunks of 32768 rows, so 10 copies
y <- as.double(rbinom(n, 1, 0.4))
p <- runif(n)
w <- runif(n)

fused_count <- function() .Call(tally:::tally_r_fused_updates)

plain <- function(make, ...) {
  old <- tally_check_na(FALSE)
  on.exit(tally_check_na(old))
  m <- make()
  before <- fused_count()
  m$update_state(...)
  expect_identical(fused_count(), before)
  m
}

# Updates a new metric, checking that the update took the fused path.
fused <- function(make, ...) {
  m <- make()
  before <- fused_count()
  m$update_state(...)
  expect_identical(fused_count(), before + 1)
  m
}

test_that("only large inputs of metrics cut by rows take the fused path", {
  before <- fused_count()
  metric_binary_accuracy()$update_state(y[1:200000], p[1:200000]) # 2e5 < 2^18 elements
  metric_hinge()$update_state(y, p) # Hinge maps its labels per batch
  metric_cosine_similarity()$update_state(y, p) # a rank-1 input is one vector
  metric_binary_accuracy()$update_state(y, p, 2) # a batch weight
  expect_identical(fused_count(), before)
})

test_that("the fused update gives the plain update's state", {
  for (make in list(metric_binary_accuracy, metric_auc, metric_true_positives, metric_precision)) {
    expect_identical(fused(make, y, p)$to_vector(), plain(make, y, p)$to_vector())
    expect_equal(fused(make, y, p, w)$to_vector(), plain(make, y, p, w)$to_vector(), tolerance = 1e-12)
  }
  for (make in list(metric_mean_squared_error, metric_mean_absolute_error, metric_binary_crossentropy)) {
    expect_equal(fused(make, y, p)$to_vector(), plain(make, y, p)$to_vector(), tolerance = 1e-12)
    expect_equal(fused(make, y, p, w)$to_vector(), plain(make, y, p, w)$to_vector(), tolerance = 1e-12)
  }
  # Known values: the accuracy and the mean squared error of the whole data, by base R.
  expect_equal(fused(metric_binary_accuracy, y, p)$result(), mean((p > 0.5) == y), tolerance = 1e-12)
  expect_equal(fused(metric_mean_squared_error, y, p)$result(), mean((y - p)^2), tolerance = 1e-12)
  expect_equal(fused(metric_mean_squared_error, y, p, w)$result(), sum(w * (y - p)^2) / sum(w), tolerance = 1e-12)
  # A metric with a state merges the batch into it as a plain update adds it.
  a <- metric_mean_squared_error()
  a$update_state(c(1, 2), c(0, 0))
  before <- fused_count()
  a$update_state(y, p)
  expect_identical(fused_count(), before + 1)
  expect_equal(a$result(), (5 + sum((y - p)^2)) / (n + 2), tolerance = 1e-12)
})

test_that("(N, C) matrices are cut by rows, sparse labels too", {
  rows <- 100000 # 3e5 elements: 30 chunks of 1092 rows
  labels <- sample(0:2, rows, replace = TRUE)
  onehot <- diag(3)[labels + 1, ]
  scores <- matrix(runif(3 * rows), ncol = 3)
  probs <- scores / rowSums(scores)
  rw <- runif(rows)
  for (make in list(metric_categorical_crossentropy, metric_categorical_accuracy, metric_kl_divergence)) {
    expect_equal(fused(make, onehot, probs)$to_vector(), plain(make, onehot, probs)$to_vector(), tolerance = 1e-12)
    expect_equal(fused(make, onehot, probs, rw)$to_vector(), plain(make, onehot, probs, rw)$to_vector(),
                 tolerance = 1e-12)
  }
  expect_equal(fused(metric_categorical_crossentropy, onehot, probs)$result(),
               -mean(log(probs[cbind(seq_len(rows), labels + 1)])), tolerance = 1e-6)
  for (make in list(metric_sparse_categorical_accuracy, metric_sparse_categorical_crossentropy)) {
    expect_equal(fused(make, labels, probs)$to_vector(), plain(make, labels, probs)$to_vector(), tolerance = 1e-12)
  }
  expect_equal(fused(metric_sparse_categorical_accuracy, labels, probs)$result(),
               mean(max.col(probs, ties.method = "first") - 1 == labels))
})

test_that("a collection takes the fused path and gives each member's plain state", {
  members <- function() list(metric_binary_accuracy(), metric_mean_squared_error(), metric_auc())
  col <- metric_collection(members())
  before <- fused_count()
  col$update_state(y, p, w)
  expect_identical(fused_count(), before + 1)
  old <- tally_check_na(FALSE)
  ref <- metric_collection(members())
  ref$update_state(y, p, w)
  tally_check_na(old)
  expect_equal(col$to_vector(), ref$to_vector(), tolerance = 1e-12)
})

# NA at the start, in the middle and in the last chunk of each input.
na_rows <- c(1, n %/% 2, n - 2)

test_that("NA anywhere: the plain path's error, the state unchanged", {
  for (make in list(metric_binary_accuracy, metric_mean_squared_error, metric_auc)) {
    m <- make()
    m$update_state(y[1:100], p[1:100])
    before <- m$to_vector()
    name <- m$name
    for (row in na_rows) {
      for (arg in c("y_true", "y_pred", "sample_weight")) {
        inputs <- list(y_true = y, y_pred = p, sample_weight = w)
        inputs[[arg]][row] <- NA
        expect_error(m$update_state(inputs$y_true, inputs$y_pred, inputs$sample_weight),
                     sprintf("^%s: argument `%s` contains NA; remove or impute missing values first$", name, arg),
                     class = "tally_invalid_argument_error")
        expect_identical(m$to_vector(), before)
      }
    }
    # Integer and logical NA too.
    yi <- as.integer(y)
    yi[n - 2] <- NA
    expect_error(m$update_state(yi, p), "argument `y_true` contains NA", class = "tally_invalid_argument_error")
    yl <- y == 1
    yl[n %/% 2] <- NA
    expect_error(m$update_state(yl, p), "argument `y_true` contains NA", class = "tally_invalid_argument_error")
    expect_identical(m$to_vector(), before)
  }
})

test_that("the error names the first input with NA, wherever the NA lies", {
  m <- metric_mean_squared_error()
  yy <- y
  pp <- p
  pp[1] <- NA # y_pred's NA in the first chunk, y_true's in the last
  yy[n] <- NA
  expect_error(m$update_state(yy, pp), "argument `y_true` contains NA")
  expect_identical(m$to_vector(), c(0, 0))
})

test_that("a collection refuses NA with its state unchanged", {
  col <- metric_collection(metric_binary_accuracy(), metric_mean_squared_error())
  col$update_state(y[1:10], p[1:10])
  before <- col$to_vector()
  pp <- p
  pp[n - 1] <- NA
  expect_error(col$update_state(y, pp), "^MetricCollection: argument `y_pred` contains NA",
               class = "tally_invalid_argument_error")
  expect_identical(col$to_vector(), before)
})

test_that("NaN (not NA) is input like any number, as in the plain update", {
  pp <- p
  pp[c(5, n %/% 2, n - 1)] <- NaN
  expect_true(is.nan(fused(metric_mean_squared_error, y, pp)$result()))
  expect_true(is.nan(fused(metric_mean_absolute_error, y, pp)$result()))
  expect_true(is.nan(fused(metric_mean_squared_logarithmic_error, y, pp)$result()))
  expect_true(is.nan(fused(metric_log_cosh_error, y, pp)$result()))
  yy <- y
  yy[n %/% 2] <- NaN
  expect_true(is.nan(fused(metric_mean_squared_error, yy, p)$result()))
  expect_true(is.nan(fused(metric_mean_absolute_percentage_error, yy, p)$result()))
  expect_identical(fused(metric_binary_accuracy, y, pp)$to_vector(), plain(metric_binary_accuracy, y, pp)$to_vector())
  # AUC refuses NaN scores: the error is the plain update's, with the index in the whole batch.
  pp <- p
  pp[n %/% 2] <- NaN
  m <- metric_auc()
  expect_error(m$update_state(y, pp), sprintf("argument `y_pred` contains NaN \\(at flat index %d\\)", n %/% 2 - 1),
               class = "tally_invalid_argument_error")
  expect_identical(m$to_vector(), metric_auc()$to_vector())
  # Inf makes the state infinite: the chunks are then scanned, and no NA is found.
  pp <- p
  pp[n %/% 3] <- Inf
  expect_identical(fused(metric_mean_squared_error, y, pp)$result(), Inf)
})

test_that("a metric whose first batch fixes its layout is updated plainly once, then fused", {
  Y <- matrix(as.double(rbinom(2 * n, 1, 0.5)), ncol = 2)
  P <- matrix(runif(2 * n), ncol = 2)
  m <- metric_auc(multi_label = TRUE) # one set of counts per label, sized by the first batch
  before <- fused_count()
  m$update_state(Y, P)
  expect_identical(fused_count(), before) # the copies' layout differs from the fresh metric's
  m$update_state(Y, P)
  expect_identical(fused_count(), before + 1)
  old <- tally_check_na(FALSE)
  ref <- metric_auc(multi_label = TRUE)
  ref$update_state(Y, P)
  ref$update_state(Y, P)
  tally_check_na(old)
  expect_identical(m$to_vector(), ref$to_vector())
})
