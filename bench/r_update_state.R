# R front end speed (docs/performance.md, "R"): m$update_state() on 1e7 doubles against
# the bare C++ call on the same memory (measured in this process, so the ratio is of one
# run), and beside base R's mean((p > 0.5) == y).
#   R_LIBS=build/r-lib Rscript bench/r_update_state.R [n] [reps]
library(tally)
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1) as.numeric(args[1]) else 1e7
reps <- if (length(args) >= 2) as.integer(args[2]) else 7
set.seed(1)
y <- as.double(rbinom(n, 1, 0.4))
p <- runif(n)

# Wall time of one call with Sys.time()'s microsecond clock (system.time() rounds to 1 ms,
# a third of the fastest figure here).
elapsed <- function(f) {
  start <- Sys.time()
  f()
  as.double(Sys.time() - start, units = "secs")
}
best_of <- function(f) min(vapply(seq_len(reps), function(i) elapsed(f), numeric(1)))
row <- function(what, seconds) {
  cat(sprintf("| %-44s | %9.2f | %8.0f |\n", what, seconds * 1e3, n / seconds / 1e6))
}
cat(sprintf("n = %g doubles, best of %d\n\n", n, reps))
cat("| what | ms | M rows/s |\n|---|---:|---:|\n")
# R and C++ calls alternate, so load changes on a shared machine hit both alike; best of each.
for (make in c("binary_accuracy", "auc", "mean_squared_error")) {
  m <- metric_get(make)
  ptr <- environment(unclass(m))$self$.ptr
  r <- cpp <- Inf
  for (i in seq_len(reps)) {
    r <- min(r, elapsed(function() m$update_state(y, p)))
    cpp <- min(cpp, .Call(tally:::tally_r_time_update, ptr, y, p, 1L))
  }
  row(sprintf("%s: m$update_state(y, p)", make), r)
  row(sprintf("%s: C++ update_state, same memory", make), cpp)
  cat(sprintf("| %-44s | %9.2f | |\n", sprintf("%s: ratio R / C++", make), r / cpp))
}
old <- tally_check_na(FALSE)
for (make in c("binary_accuracy", "mean_squared_error")) {
  m <- metric_get(make)
  row(sprintf("%s: m$update_state, tally_check_na(FALSE)", make), best_of(function() m$update_state(y, p)))
}
tally_check_na(old)
row("base R: mean((p > 0.5) == y)", best_of(function() mean((p > 0.5) == y)))
row("base R: mean((p - y)^2)", best_of(function() mean((p - y)^2)))
