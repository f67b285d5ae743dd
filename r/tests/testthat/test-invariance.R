# Batch-split and merge invariance (docs/r.md): counts exactly, float sums within 1e-12.

set.seed(7)
n <- 1000
y <- rbinom(n, 1, 0.4)
p <- runif(n)
w <- runif(n)

split_result <- function(make, splits) {
  m <- make()
  bounds <- c(0, sort(splits), n)
  for (i in seq_len(length(bounds) - 1)) {
    idx <- (bounds[i] + 1):bounds[i + 1]
    m$update_state(y[idx], p[idx], w[idx])
  }
  m
}

test_that("any split into batches gives the same result", {
  for (make in list(metric_auc, metric_binary_accuracy, metric_precision, metric_mean_squared_error,
                    metric_binary_crossentropy)) {
    whole <- make()
    whole$update_state(y, p, w)
    parts <- split_result(make, c(1, 333, 334, 999))
    expect_equal(parts$result(), whole$result(), tolerance = 1e-12)
  }
  counts <- split_result(metric_true_positives, c(10, 500))
  whole <- metric_true_positives()
  whole$update_state(y, p, w)
  expect_identical(counts$to_vector(), whole$to_vector())
})

test_that("merge_state and to_vector sums equal one metric over all the data", {
  a <- metric_auc(num_thresholds = 50)
  b <- metric_auc(num_thresholds = 50)
  whole <- metric_auc(num_thresholds = 50)
  a$update_state(y[1:400], p[1:400])
  b$update_state(y[401:n], p[401:n])
  whole$update_state(y, p)
  va <- a$to_vector()
  vb <- b$to_vector()
  a$merge_state(b)
  expect_identical(a$to_vector(), whole$to_vector())
  expect_equal(a$result(), whole$result())
  c <- metric_auc(num_thresholds = 50)
  c$from_vector(va + vb)
  expect_equal(c$result(), whole$result())
  # a list of metrics merges all at once
  parts <- lapply(1:4, function(i) metric_mean())
  for (i in 1:4) parts[[i]]$update_state(NULL, p[(250 * (i - 1) + 1):(250 * i)])
  parts[[1]]$merge_state(parts[2:4])
  expect_equal(parts[[1]]$result(), mean(p), tolerance = 1e-12)
})

test_that("a matrix is read through its strides: (N, C) as keras3, any layout", {
  scores <- matrix(runif(300), ncol = 3)
  labels <- sample(0:2, 100, replace = TRUE)
  onehot <- diag(3)[labels + 1, ]
  a <- metric_categorical_accuracy()(onehot, scores)
  expected <- mean(max.col(scores, ties.method = "first") - 1 == labels)
  expect_equal(a, expected)
  expect_equal(metric_sparse_categorical_accuracy()(labels, scores), expected)
  # an integer matrix and a data frame give the same
  expect_equal(metric_categorical_accuracy()(matrix(as.integer(onehot), ncol = 3), scores), expected)
  expect_equal(metric_categorical_accuracy()(as.data.frame(onehot), as.data.frame(scores)), expected)
})

test_that("results: numbers, vectors and matrices with keras3 indexing", {
  f1 <- metric_f1_score(average = NULL)
  yt <- diag(3)[c(1, 2, 3, 1), ]
  yp <- diag(3)[c(1, 2, 2, 1), ]
  r <- f1(yt, yp)
  expect_equal(length(r), 3)
  expect_equal(r, c(1, 2 / 3, 0), tolerance = 1e-6)
  expect_true(is.numeric(metric_mean()$result()))
})
