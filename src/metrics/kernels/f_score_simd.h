#pragma once
// The unweighted F-score sums (f_score_counts.h) on Highway's runtime-dispatched SIMD targets
// (those of simd_math.h): one row's classes sit in the lanes of up to four float64 vectors,
// so every per-class sum is added row by row in the order of the scalar loop (f_score_add)
// and the sums are identical to it on every target (tests/metrics/row_argmax_test.cpp).
// float32 blocks whose labels are all 0 or 1 are counted in float32 lanes instead: every
// addend is then a whole number, so the float64 sums come out the same (docs/performance.md,
// "Row-wise argmax, top-k and F-score sums").

#include <cstdint>

namespace tally::metrics::kernels::simd {

/// How the F-score binarises a row: p > threshold, or Keras's argmax rule (p >= the row
/// maximum and |p| > zero_guard) when `use_threshold` is false.
struct FScoreRule {
  bool use_threshold = false;
  double threshold = 0.0;
  double zero_guard = 0.0;
};

/// Adds rows [0, rows) of scores `p` and labels `y` ([rows, classes], row-major) to
/// sums [tp | predicted | support], as the scalar loop would, and returns how many rows it
/// did: the first rows from 0, fewer than `rows` when the last ones would read past
/// `readable` elements, 0 when `classes` is too wide for this target (the caller's scalar
/// loop does the rest). `nan` is set when a counted element is NaN.
std::int64_t f_score_sums(const float* p, const float* y, std::int64_t rows, std::int64_t classes,
                          std::int64_t readable, const FScoreRule& rule, double* sums, bool& nan);
/// f_score_sums for float64 scores and labels.
std::int64_t f_score_sums(const double* p, const double* y, std::int64_t rows, std::int64_t classes,
                          std::int64_t readable, const FScoreRule& rule, double* sums, bool& nan);

}  // namespace tally::metrics::kernels::simd
