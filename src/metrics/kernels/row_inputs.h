#pragma once
// Plumbing of the metrics whose state is not a plain weighted mean (ExplainedVariance,
// MaxError, WMAPE, the calibration family): inputs read as float64 rows of K values and
// one weight per row, validated before any variable is written.

#include <cstdint>
#include <string_view>
#include <vector>

#include "internal/check.h"
#include "metrics/kernels/mean_update.h"
#include "tally/error.h"
#include "tally/tensor.h"

namespace tally::metrics::kernels {

/// Aligned inputs as float64 rows: rows x width values each (a rank-1 input is one value per row).
struct ValueRows {
  std::vector<double> y_true, y_pred;
  std::int64_t rows = 0, width = 1;
};

/// Aligns y_true and y_pred (Keras rank rules), requires equal shapes of rank 1 or 2 and
/// reads them as float64 rows.
inline ValueRows value_rows(std::string_view who, const TensorView& y_true, const TensorView& y_pred) {
  TensorView t = y_true, p = y_pred;
  align_same_shape(who, t, p);
  if (p.ndim() < 1 || p.ndim() > 2) {
    throw ShapeError(internal::str_cat(who,
                                       ": arguments `y_true` and `y_pred` must have shape [N] or [N, K]; received ",
                                       shape_string(y_pred.shape())));
  }
  ValueRows out;
  out.rows = p.shape()[0];
  out.width = p.ndim() == 2 ? p.shape()[1] : 1;
  out.y_true = Tensor::copy_of(t).to_doubles();
  out.y_pred = Tensor::copy_of(p).to_doubles();
  return out;
}

/// One weight per row: all 1 without `sample_weight`; a 0-d weight applies to every row;
/// otherwise shape [N] or [N, 1]. Weights must be finite and >= 0 (InvalidArgument).
inline std::vector<double> row_weights(std::string_view who, const TensorView& sample_weight, std::int64_t rows) {
  std::vector<double> w(static_cast<std::size_t>(rows), 1.0);
  if (!sample_weight.has_value()) return w;
  internal::check_sample_weight_values(who, sample_weight);
  TensorView sw = sample_weight;
  if (sw.ndim() == 0) {
    std::fill(w.begin(), w.end(), sw.value_at(std::int64_t{0}));
    return w;
  }
  if (sw.ndim() == 2 && sw.shape()[1] == 1) sw = sw.squeeze(-1);
  if (sw.ndim() != 1 || sw.shape()[0] != rows) {
    throw ShapeError(internal::str_cat(who, ": argument `sample_weight` must have one weight per row; received shape ",
                                       shape_string(sample_weight.shape()), " for ", rows, " rows"));
  }
  for (std::int64_t r = 0; r < rows; ++r) w[static_cast<std::size_t>(r)] = sw.value_at(r);
  return w;
}

}  // namespace tally::metrics::kernels
