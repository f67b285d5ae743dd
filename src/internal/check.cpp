#include "internal/check.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace tally::internal {

void check_present(std::string_view who, std::string_view arg, const TensorView& view) {
  if (!view.has_value()) throw ShapeError(str_cat(who, ": argument `", arg, "` is required; received None"));
}

void check_not_empty(std::string_view who, std::string_view arg, const TensorView& view) {
  check_present(who, arg, view);
  if (view.numel() == 0) {
    throw InvalidArgument(
        str_cat(who, ": argument `", arg, "` is an empty batch; received shape ", shape_string(view.shape())));
  }
}

void check_same_shape(std::string_view who, std::string_view a_name, const TensorView& a, std::string_view b_name,
                      const TensorView& b) {
  if (a.shape() != b.shape()) {
    throw ShapeError(str_cat(who, ": arguments `", a_name, "` and `", b_name, "` must have the same shape; received ",
                             a_name, " shape ", shape_string(a.shape()), ", ", b_name, " shape ",
                             shape_string(b.shape())));
  }
}

void check_same_rows(std::string_view who, std::string_view a_name, const TensorView& a, std::string_view b_name,
                     const TensorView& b) {
  if (a.ndim() == 0 || b.ndim() == 0 || a.shape()[0] != b.shape()[0]) {
    throw ShapeError(str_cat(who, ": argument `", b_name, "` must have the same number of rows as `", a_name,
                             "`; received ", a_name, " shape ", shape_string(a.shape()), ", ", b_name, " shape ",
                             shape_string(b.shape())));
  }
}

void check_rank(std::string_view who, std::string_view arg, const TensorView& view, std::int64_t min_rank,
                std::int64_t max_rank) {
  if (view.ndim() < min_rank || view.ndim() > max_rank) {
    const std::string expected =
        min_rank == max_rank ? str_cat("rank ", min_rank) : str_cat("rank ", min_rank, " to ", max_rank);
    throw ShapeError(
        str_cat(who, ": argument `", arg, "` must have ", expected, "; received shape ", shape_string(view.shape())));
  }
}

void check_floating(std::string_view who, std::string_view arg, const TensorView& view) {
  if (!is_floating(view.dtype())) {
    throw DTypeError(
        str_cat(who, ": argument `", arg, "` must be a floating dtype; received ", dtype_name(view.dtype())));
  }
}

namespace {
template <class T, class Pred>
std::int64_t find_first(const TensorView& view, Pred&& bad) {
  const T* p = static_cast<const T*>(view.data());
  if (view.is_contiguous()) {
    const std::int64_t n = view.numel();
    for (std::int64_t i = 0; i < n; ++i) {
      if (bad(to_double(p[i]))) return i;
    }
    return -1;
  }
  const std::int64_t n = view.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    if (bad(view.value_at(i))) return i;
  }
  return -1;
}
}  // namespace

void check_no_nan(std::string_view who, std::string_view arg, const TensorView& view) {
  if (!view.has_value() || !is_floating(view.dtype())) return;
  if (view.is_contiguous()) {
    // Branch-free screen (x - x is NaN only for NaN and infinities); the exact scan below
    // runs only when it fires.
    const std::int64_t n = view.numel();
    const bool suspect = visit_dtype(view.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = static_cast<const T*>(view.data());
      // OR of x != x (true only for NaN) in the element's own precision: independent
      // iterations the compiler vectorises, unlike a running sum.
      unsigned nan = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
          nan |= static_cast<unsigned>(p[i] != p[i]);
        } else {
          const double x = to_double(p[i]);
          nan |= static_cast<unsigned>(x != x);
        }
      }
      return nan != 0;
    });
    if (!suspect) return;
  }
  const std::int64_t at = visit_dtype(
      view.dtype(), [&](auto tag) { return find_first<decltype(tag)>(view, [](double x) { return std::isnan(x); }); });
  if (at >= 0) throw InvalidArgument(str_cat(who, ": argument `", arg, "` contains NaN (at flat index ", at, ")"));
}

namespace {
// True when some weight may be invalid: a sign bit is set (negative or -0.0) or the
// values are not all finite (x - x is NaN for NaN and infinities). Branch-free, so the
// common (valid) case runs at memory speed; a hit is confirmed by the exact scan.
template <class T>
bool maybe_invalid_weights(const T* p, std::int64_t n) {
  std::uint64_t signs = 0;
  double finite = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    signs |= sign_word(p[i]);
    const double x = to_double(p[i]);
    finite += x - x;
  }
  return (signs >> 63) != 0 || finite != 0.0;
}
}  // namespace

void check_sample_weight_values(std::string_view who, const TensorView& sample_weight) {
  if (!sample_weight.has_value()) return;
  if (sample_weight.dtype() == DType::kBool || sample_weight.dtype() == DType::kUInt8) return;
  if (sample_weight.is_contiguous()) {
    const bool suspect = visit_dtype(sample_weight.dtype(), [&](auto tag) {
      return maybe_invalid_weights(static_cast<const decltype(tag)*>(sample_weight.data()), sample_weight.numel());
    });
    if (!suspect) return;
  }
  const std::int64_t at = visit_dtype(sample_weight.dtype(), [&](auto tag) {
    return find_first<decltype(tag)>(sample_weight, [](double x) { return !(x >= 0.0) || std::isinf(x); });
  });
  if (at >= 0) {
    throw InvalidArgument(str_cat(who, ": argument `sample_weight` must be finite and non-negative; received ",
                                  sample_weight.value_at(at), " at flat index ", at));
  }
}

}  // namespace tally::internal
