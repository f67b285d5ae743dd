#pragma once
// Shared plumbing of the mean-based families: per-sample values into Keras's Mean update,
// contiguous typed access to inputs, and the rank alignment of y_true and y_pred.

#include <string>
#include <string_view>

#include "internal/check.h"
#include "internal/samplewise.h"
#include "metrics/kernels/contiguous.h"
#include "tally/metric.h"

namespace tally::metrics::kernels {

/// "Class \"name\"": the prefix of every message of a metric.
inline std::string who(const Metric& metric) { return metric.class_name() + " \"" + metric.name() + "\""; }

/// Adds per-sample `values` (first axis = batch) to total/count (variables 0 and 1) with
/// Keras's sample-weight rules. Validates the weights before writing.
inline void add_samplewise(Variables& vars, std::string_view who, const TensorView& values,
                           const TensorView& sample_weight) {
  const internal::WeightedTotals t =
      internal::reduce_to_samplewise(who, values, sample_weight, internal::SampleReduce::kMean);
  vars.f64(0)[0] += t.total;
  vars.f64(1)[0] += t.count;
}

/// Keras squeeze_or_expand_to_same_rank on (y_true, y_pred), then requires equal shapes.
inline void align_same_shape(std::string_view who, TensorView& y_true, TensorView& y_pred) {
  internal::check_not_empty(who, "y_true", y_true);
  internal::check_not_empty(who, "y_pred", y_pred);
  TensorView t = y_true, p = y_pred;
  internal::squeeze_or_expand_to_same_rank(t, p);
  internal::check_same_shape(who, "y_true", t, "y_pred", p);
  y_true = t;
  y_pred = p;
}

/// Aligned inputs as contiguous rows of the values along `axis` (moved last): the shared
/// prologue of cosine similarity and the correlations.
struct AxisRows {
  Tensor y_true, y_pred;  ///< contiguous, `axis` last
  std::int64_t rows = 0, width = 0;
  Shape leading;  ///< the input shape without `axis`
};

/// Aligns the inputs and moves `axis` (negative counts from the end) to the end; throws
/// ShapeError for scalars or an axis out of range.
inline AxisRows rows_along_axis(std::string_view who, const TensorView& y_true, const TensorView& y_pred,
                                std::int64_t axis) {
  TensorView t = y_true, p = y_pred;
  align_same_shape(who, t, p);
  if (p.ndim() == 0) {
    throw ShapeError(
        internal::str_cat(who, ": arguments `y_true` and `y_pred` must have at least one axis; received scalars"));
  }
  const std::int64_t a = axis < 0 ? axis + p.ndim() : axis;
  if (a < 0 || a >= p.ndim()) {
    throw ShapeError(internal::str_cat(who, ": argument `axis` = ", axis, " is out of range for inputs of shape ",
                                       shape_string(p.shape())));
  }
  AxisRows out;
  out.y_true = Tensor::copy_of(t.move_axis_to_end(a));
  out.y_pred = Tensor::copy_of(p.move_axis_to_end(a));
  out.width = p.shape()[static_cast<std::size_t>(a)];
  out.rows = out.width == 0 ? 0 : p.numel() / out.width;
  out.leading = out.y_pred.shape();
  out.leading.pop_back();
  return out;
}

}  // namespace tally::metrics::kernels
