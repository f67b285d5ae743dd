#pragma once
// Row-wise argmax, top-k hits, class-confusion cell indices and per-class outcome counts of
// class ids, compiled for several SIMD targets in one binary (Google Highway, the targets of
// simd_math.h) and dispatched at run time.
//
// Argmax semantics are those of the scalar loop every argmax in tally used before
// (accuracy_math.h argmax_row): scanning left to right, a score replaces the best so far only
// when strictly greater. So ties go to the first index (numpy's argmax), and in a row holding
// a NaN the answer is what that loop gives (0 when the first score is NaN, else the first
// maximum of the other scores); such rows are rare and take the scalar loop itself (for
// rows of up to 64 classes, a call that meets a NaN runs it for all its rows). Counts
// built on these kernels are identical on every target (tests/metrics/row_argmax_test.cpp).
// See docs/performance.md, "Row-wise argmax".

#include <cstdint>

namespace tally::metrics::kernels::simd {

/// out[r] = argmax of row r of `scores` ([rows, classes], row-major) for r < rows; returns
/// true when any score is NaN.
bool row_argmax(const float* scores, std::int64_t rows, std::int64_t classes, std::int32_t* out);
/// The float64 form of row_argmax.
bool row_argmax(const double* scores, std::int64_t rows, std::int64_t classes, std::int32_t* out);

/// cells[i] = t[i] * classes + p[i] when both are class ids in [0, classes), else
/// classes * classes (a spare cell for rows that fail validation), for i < n.
void class_cells(const std::int32_t* t, const std::int32_t* p, std::int64_t n, std::int32_t classes,
                 std::int32_t* cells);

/// Classes up to which class_outcomes counts (one byte compare per class and 64 rows).
inline constexpr std::int64_t kOutcomeClasses = 16;

/// Per-class outcome counts of the first m rows of [0, n), m the largest multiple of 64 not
/// above n on AVX-512 targets and 0 on the others (the caller counts what is left, e.g. by
/// class_cells): counts[c] += rows with t = p = c, counts[classes + c] += rows with p = c,
/// counts[2 * classes + c] += rows with t = c, for 1 <= classes <= kOutcomeClasses. Returns
/// m, or -1 (counts partly added) when one of those rows holds an id outside [0, classes).
std::int64_t class_outcomes(const std::int32_t* t, const std::int32_t* p, std::int64_t n, std::int32_t classes,
                            std::int64_t* counts);

/// out[r] = 1.0 when targets[r] is among the top k of row r of `scores` ([rows, width]),
/// else 0.0, with Keras in_top_k's rule (accuracy_math.h: fewer than k scores strictly
/// larger; an index outside [0, width) or a non-finite target score misses).
void top_k_hits(const float* scores, std::int64_t rows, std::int64_t width, const std::int64_t* targets, std::int64_t k,
                double* out);
/// The float64 form of top_k_hits.
void top_k_hits(const double* scores, std::int64_t rows, std::int64_t width, const std::int64_t* targets,
                std::int64_t k, double* out);

/// The scalar argmax of one row, the reference the SIMD kernels reproduce (see above).
template <class T>
inline std::int32_t scalar_argmax(const T* row, std::int64_t classes) {
  std::int32_t arg = 0;
  T best = row[0];
  for (std::int64_t c = 1; c < classes; ++c) {
    if (row[c] > best) {
      best = row[c];
      arg = static_cast<std::int32_t>(c);
    }
  }
  return arg;
}

}  // namespace tally::metrics::kernels::simd
