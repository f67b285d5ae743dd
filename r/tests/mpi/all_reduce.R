# Run by ctest as `mpirun -n 2 --allow-run-as-root --oversubscribe Rscript all_reduce.R`
# (r/CMakeLists.txt, bounded by TALLY_MPI_TIMEOUT and the test TIMEOUT): each rank updates
# a collection of built-in and R-written metrics with its share of the rows; after
# all_reduce_metrics() every rank holds the result over all rows. Exits non-zero on failure.
library(tally)

check <- function(ok, what) {
  if (!isTRUE(ok)) {
    cat(sprintf("rank %d: FAILED: %s\n", rank, what))
    quit(status = 1)
  }
}

metric_binary_true_positives <- Metric(
  classname = "BinaryTruePositives",
  initialize = function(name = "binary_true_positives", ...) {
    super$initialize(name = name, ...)
    self$true_positives <- self$add_weight(shape = shape(), initializer = "zeros", name = "true_positives")
  },
  update_state = function(y_true, y_pred, sample_weight = NULL) {
    values <- op_cast(op_cast(y_true, "bool") & op_cast(y_pred > 0.5, "bool"), self$dtype)
    if (!is.null(sample_weight)) values <- values * op_broadcast_to(op_cast(sample_weight, self$dtype), shape(values))
    self$true_positives$assign(self$true_positives + op_sum(values))
  },
  result = function() self$true_positives)

make <- function() {
  metric_collection(metric_auc(), metric_binary_accuracy(), metric_mean_squared_error(), metric_precision(),
                    metric_binary_true_positives())
}

ctx <- mpi_context(timeout = 60)
rank <- ctx$global_rank
check(ctx$world_size == 2, "world size 2")

set.seed(42)
n <- 10001
y <- rbinom(n, 1, 0.3)
p <- runif(n)
w <- runif(n)
share <- if (rank == 0) 1:5001 else 5002:n

local <- make()
local$update_state(y[share], p[share], w[share])
all_reduce_metrics(local, ctx)
whole <- make()
whole$update_state(y, p, w)
got <- local$result()
want <- whole$result()
for (name in names(want)) {
  check(isTRUE(all.equal(got[[name]], want[[name]], tolerance = 1e-12)),
        sprintf("%s: %s vs %s", name, format(got[[name]], digits = 17), format(want[[name]], digits = 17)))
}
check(identical(local$metric("binary_true_positives")$to_vector(),
                whole$metric("binary_true_positives")$to_vector()), "R metric state exact")

# a single metric all-reduces too
m <- metric_true_positives()
m$update_state(y[share], p[share])
all_reduce_metrics(m, ctx)
check(m$result() == sum(y == 1 & p > 0.5), "true positives over both ranks")

# different layouts fail on every rank with a tally_distributed_error
bad <- if (rank == 0) metric_collection(metric_auc()) else metric_collection(metric_auc(num_thresholds = 10))
err <- tryCatch({
  all_reduce_metrics(bad, ctx)
  NULL
}, tally_distributed_error = function(e) e)
check(inherits(err, "tally_distributed_error"), "layout mismatch is a tally_distributed_error")

ctx$close()
cat(sprintf("rank %d: all-reduce of %d metrics OK\n", rank, length(want)))
