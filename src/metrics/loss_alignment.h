#pragma once
// Shape alignment shared by the probabilistic and hinge families: turns (y_true, y_pred)
// into contiguous inputs whose reduced axis is last, plus the RowSpec of the loss.

#include <cstdint>
#include <string_view>

#include "metrics/kernels/row_loss.h"

namespace tally::metrics::detail {

/// Both inputs prepared for a kernel, and the loss layout.
struct Aligned {
  kernels::Prepared y_true;
  kernels::Prepared y_pred;
  kernels::RowSpec spec;
};

/// Losses averaged elementwise over `axis` (binary crossentropy, Poisson, hinge): same shape
/// after Keras's rank alignment; a rank-1 input is N samples of one value (docs/keras-differences.md §9).
Aligned align_elementwise(std::string_view who, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis);
/// Losses over a class `axis` (categorical crossentropy, KL divergence, categorical hinge):
/// same shape; a rank-1 input is one vector, so one sample.
Aligned align_classes(std::string_view who, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis);
/// Sparse labels: y_true is y_pred's shape without the class `axis` (or with it of size 1).
Aligned align_sparse(std::string_view who, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis);

}  // namespace tally::metrics::detail
