# set_num_threads(): results identical bit for bit on 1 and 2 threads (batches above the
# 32768-element threshold of docs/guide.md "Threads" really split), bad values rejected.

test_that("results are identical for 1 and 2 threads", {
  on.exit(set_num_threads(0))
  set.seed(7)
  n <- 200000
  y <- as.double(runif(n) < 0.4)
  x <- rnorm(n, sd = 4)
  labels <- sample.int(10, n / 10, replace = TRUE) - 1
  logits <- matrix(rnorm(n), ncol = 10)
  run <- function(threads) {
    set_num_threads(threads)
    expect_identical(num_threads(), as.integer(threads))
    bce <- metric_binary_crossentropy(from_logits = TRUE)
    bce$update_state(y, x)
    mse <- metric_mean_squared_error()
    mse$update_state(y, x)
    scce <- metric_sparse_categorical_crossentropy(from_logits = TRUE)
    scce$update_state(labels, logits)
    c(bce$result(), mse$result(), scce$result())
  }
  one <- run(1)
  two <- run(2)
  expect_identical(one, two)
  # a value from the formula, so the comparison above cannot pass on garbage
  expect_equal(one[2], mean((y - x)^2), tolerance = 1e-12)
  set_num_threads(0)
  expect_gte(num_threads(), 1L)
})

test_that("bad thread counts give a tally_invalid_argument_error and change nothing", {
  on.exit(set_num_threads(0))
  set_num_threads(3)
  expect_error(set_num_threads(-1), "threads must be >= 0; received -1", class = "tally_invalid_argument_error")
  expect_error(set_num_threads(1.5), "must be one whole number >= 0.*received 1.5",
               class = "tally_invalid_argument_error")
  expect_error(set_num_threads(NA), "received", class = "tally_invalid_argument_error")
  expect_error(set_num_threads(NA_real_), "received NA", class = "tally_invalid_argument_error")
  expect_error(set_num_threads(c(1, 2)), "received double of length 2", class = "tally_invalid_argument_error")
  expect_error(set_num_threads("2"), "received character of length 1", class = "tally_invalid_argument_error")
  expect_identical(num_threads(), 3L)
})
