#include "metrics/loss_alignment.h"

#include "internal/check.h"
#include "internal/samplewise.h"

namespace tally::metrics::detail {
namespace {

std::int64_t normalize_axis(std::string_view who, std::int64_t axis, std::int64_t rank, const TensorView& view) {
  const std::int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw ShapeError(internal::str_cat(who, ": argument `axis` = ", axis, " is out of range for y_pred of shape ",
                                       shape_string(view.shape())));
  }
  return a;
}

void check_numeric(std::string_view who, std::string_view arg, const TensorView& v) {
  if (v.dtype() == DType::kBool && arg == "y_pred") {
    throw DTypeError(internal::str_cat(who, ": argument `", arg, "` must be numeric; received ", v.describe()));
  }
}

// Spec for a view whose reduced axis is last (rank >= 1).
kernels::RowSpec spec_with_last_axis_reduced(const TensorView& moved) {
  kernels::RowSpec spec;
  spec.width = moved.shape().back();
  spec.loss_shape.assign(moved.shape().begin(), moved.shape().end() - 1);
  spec.positions = spec.width == 0 ? 0 : moved.numel() / spec.width;
  spec.samples = spec.loss_shape.empty() ? 1 : spec.loss_shape[0];
  if (spec.loss_shape.empty()) {
    spec.loss_shape = {1};
    spec.positions = 1;
  }
  return spec;
}

}  // namespace

Aligned align_elementwise(std::string_view who, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis) {
  internal::check_not_empty(who, "y_true", y_true);
  internal::check_not_empty(who, "y_pred", y_pred);
  check_numeric(who, "y_pred", y_pred);
  TensorView yt = y_true;
  TensorView yp = y_pred;
  internal::squeeze_or_expand_to_same_rank(yt, yp);
  internal::check_rank(who, "y_pred", yp, 1, 64);
  internal::check_same_shape(who, "y_true", yt, "y_pred", yp);
  Aligned out;
  if (yp.ndim() == 1) {
    normalize_axis(who, axis, 1, y_pred);
    out.spec.samples = out.spec.positions = yp.shape()[0];
    out.spec.width = 1;
    out.spec.loss_shape = {yp.shape()[0]};
  } else {
    const std::int64_t a = normalize_axis(who, axis, yp.ndim(), y_pred);
    if (a != yp.ndim() - 1) {
      yt = yt.move_axis_to_end(a);
      yp = yp.move_axis_to_end(a);
    }
    out.spec = spec_with_last_axis_reduced(yp);
  }
  out.y_true = kernels::prepare_input(yt, true);
  out.y_pred = kernels::prepare_input(yp, false);
  return out;
}

Aligned align_classes(std::string_view who, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis) {
  internal::check_not_empty(who, "y_true", y_true);
  internal::check_not_empty(who, "y_pred", y_pred);
  check_numeric(who, "y_pred", y_pred);
  internal::check_rank(who, "y_pred", y_pred, 1, 64);
  internal::check_same_shape(who, "y_true", y_true, "y_pred", y_pred);
  TensorView yt = y_true;
  TensorView yp = y_pred;
  const std::int64_t a = normalize_axis(who, axis, yp.ndim(), y_pred);
  if (a != yp.ndim() - 1) {
    yt = yt.move_axis_to_end(a);
    yp = yp.move_axis_to_end(a);
  }
  Aligned out;
  out.spec = spec_with_last_axis_reduced(yp);
  out.y_true = kernels::prepare_input(yt, true);
  out.y_pred = kernels::prepare_input(yp, false);
  return out;
}

Aligned align_sparse(std::string_view who, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis) {
  internal::check_present(who, "y_true", y_true);
  internal::check_not_empty(who, "y_pred", y_pred);
  check_numeric(who, "y_pred", y_pred);
  internal::check_rank(who, "y_pred", y_pred, 1, 64);
  TensorView yp = y_pred;
  TensorView yt = y_true;
  const std::int64_t a = normalize_axis(who, axis, yp.ndim(), y_pred);
  if (yt.ndim() == yp.ndim() && yt.shape()[static_cast<std::size_t>(a)] == 1) yt = yt.squeeze(a);
  Shape expected = yp.shape();
  expected.erase(expected.begin() + a);
  if (yt.shape() != expected) {
    throw ShapeError(internal::str_cat(who,
                                       ": argument `y_true` must have the shape of `y_pred` without its class axis ", a,
                                       " (", shape_string(expected), "); received y_true shape ",
                                       shape_string(y_true.shape()), ", y_pred shape ", shape_string(y_pred.shape())));
  }
  if (a != yp.ndim() - 1) yp = yp.move_axis_to_end(a);
  Aligned out;
  out.spec = spec_with_last_axis_reduced(yp);
  out.y_true = kernels::prepare_input(yt, true);
  out.y_pred = kernels::prepare_input(yp, false);
  return out;
}

}  // namespace tally::metrics::detail
