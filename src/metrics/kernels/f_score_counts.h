#pragma once
// The counting loops of the F-score family: y_pred and y_true made contiguous in the form the
// loops read, per-row weights broadcast, and per-class sums of true positives, predicted
// positives and support over fixed row chunks (so sums do not depend on the thread count).
// The per-class formula is in f_score_math.h; Keras's rounding of y_pred to the metric dtype
// is round_to_dtype (keras_constants.h).

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "internal/check.h"
#include "internal/parallel.h"
#include "metrics/kernels/f_score_math.h"
#include "metrics/kernels/f_score_simd.h"
#include "metrics/kernels/keras_constants.h"
#include "metrics/kernels/weight_array.h"
#include "tally/metric.h"

namespace tally::metrics::kernels {

using internal::str_cat;

// y_pred as the kernel reads it: contiguous float32 or float64 whose values are already
// rounded to the metric dtype (a float32 input under a float32 metric is used in place).
inline TensorView kernel_pred(const TensorView& in, DType dtype, Tensor& copy) {
  const bool in_place =
      in.is_contiguous() && ((in.dtype() == DType::kFloat32 && dtype != DType::kFloat16 && dtype != DType::kBFloat16) ||
                             (in.dtype() == DType::kFloat64 && dtype == DType::kFloat64));
  if (in_place) return in;
  const Tensor contiguous = Tensor::copy_of(in);
  copy = Tensor(DType::kFloat64, in.shape());
  double* out = copy.data_as<double>();
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = contiguous.data_as<T>();
    for (std::int64_t i = 0; i < contiguous.numel(); ++i) out[i] = round_to_dtype(to_double(p[i]), dtype);
  });
  return copy.view();
}

// y_true as the kernel reads it: contiguous float32, float64, int32 or int64.
inline TensorView kernel_true(const TensorView& in, Tensor& copy) {
  const DType d = in.dtype();
  if (in.is_contiguous() &&
      (d == DType::kFloat32 || d == DType::kFloat64 || d == DType::kInt32 || d == DType::kInt64)) {
    return in;
  }
  const Tensor contiguous = Tensor::copy_of(in);
  copy = Tensor(DType::kFloat64, in.shape());
  double* out = copy.data_as<double>();
  visit_dtype(d, [&](auto tag) {
    using T = decltype(tag);
    const T* p = contiguous.data_as<T>();
    for (std::int64_t i = 0; i < contiguous.numel(); ++i) out[i] = to_double(p[i]);
  });
  return copy.view();
}

// Rows [rb, re): adds Σ w·ŷ·y, Σ w·ŷ and Σ w·y per class into sums [tp | predicted | support].
// Returns true if a NaN was seen. One instantiation per input type pair and mode.
template <bool kThreshold, bool kWeighted, class TP, class TT>
bool count_rows_typed(const TP* __restrict p, const TT* __restrict y, const WeightArray& wa, double threshold,
                      double zero_guard, std::int64_t rb, std::int64_t re, std::int64_t classes,
                      double* __restrict sums) {
  double* __restrict tp = sums;
  double* __restrict predicted = sums + classes;
  double* __restrict support = sums + 2 * classes;
  const double* w = wa.values.data();
  bool nan = false;
  if constexpr (!kWeighted && std::is_same_v<TP, TT> && (std::is_same_v<TP, float> || std::is_same_v<TP, double>)) {
    // Unweighted float rows: the SIMD kernel (f_score_simd.h) adds the same sums in the same
    // order; the rows it leaves (the chunk's last, or classes too wide) continue below.
    simd::FScoreRule rule;
    rule.use_threshold = kThreshold;
    rule.threshold = threshold;
    rule.zero_guard = zero_guard;
    rb +=
        simd::f_score_sums(p + rb * classes, y + rb * classes, re - rb, classes, (re - rb) * classes, rule, sums, nan);
  }
  for (std::int64_t r = rb; r < re; ++r) {
    const TP* pr = p + r * classes;
    const TT* yr = y + r * classes;
    double cut = threshold;
    if constexpr (!kThreshold) {
      // Two running maxima halve the chain of dependent max operations (NaN is caught below).
      TP m0 = pr[0];
      TP m1 = pr[0];
      std::int64_t c = 1;
      for (; c + 2 <= classes; c += 2) {
        m0 = pr[c] > m0 ? pr[c] : m0;
        m1 = pr[c + 1] > m1 ? pr[c + 1] : m1;
      }
      if (c < classes) m0 = pr[c] > m0 ? pr[c] : m0;
      cut = static_cast<double>(m1 > m0 ? m1 : m0);
    }
    for (std::int64_t c = 0; c < classes; ++c) {
      const double pc = static_cast<double>(pr[c]);
      const double yc = static_cast<double>(yr[c]);
      nan |= (pc != pc) | (yc != yc);
      // Keras: p > threshold, or (without one) p >= row max and |p| > 1e-9.
      const bool yhat = kThreshold ? pc > cut : (pc >= cut) & (std::fabs(pc) > zero_guard);
      const double wc = kWeighted ? w[r * wa.row_stride + c * wa.class_stride] : 1.0;
      kernels::f_score_add(yhat, yc, wc, tp[c], predicted[c], support[c]);
    }
  }
  return nan;
}

template <class TP, class TT>
bool count_rows_modes(const TP* p, const TT* y, const WeightArray& w, const std::optional<double>& threshold,
                      double zero_guard, std::int64_t rb, std::int64_t re, std::int64_t classes, double* sums) {
  const bool weighted = !w.values.empty();
  const double t = threshold.value_or(0.0);
  if (threshold) {
    return weighted ? count_rows_typed<true, true>(p, y, w, t, zero_guard, rb, re, classes, sums)
                    : count_rows_typed<true, false>(p, y, w, t, zero_guard, rb, re, classes, sums);
  }
  return weighted ? count_rows_typed<false, true>(p, y, w, t, zero_guard, rb, re, classes, sums)
                  : count_rows_typed<false, false>(p, y, w, t, zero_guard, rb, re, classes, sums);
}

template <class TP>
bool count_rows_pred(const TP* p, const TensorView& y_true, const WeightArray& w,
                     const std::optional<double>& threshold, double zero_guard, std::int64_t rb, std::int64_t re,
                     std::int64_t classes, double* sums) {
  switch (y_true.dtype()) {
    case DType::kFloat32:
      return count_rows_modes(p, y_true.data_as<float>(), w, threshold, zero_guard, rb, re, classes, sums);
    case DType::kInt32:
      return count_rows_modes(p, y_true.data_as<std::int32_t>(), w, threshold, zero_guard, rb, re, classes, sums);
    case DType::kInt64:
      return count_rows_modes(p, y_true.data_as<std::int64_t>(), w, threshold, zero_guard, rb, re, classes, sums);
    default:
      return count_rows_modes(p, y_true.data_as<double>(), w, threshold, zero_guard, rb, re, classes, sums);
  }
}

inline bool count_rows(const TensorView& y_pred, const TensorView& y_true, const WeightArray& w,
                       const std::optional<double>& threshold, double zero_guard, std::int64_t rb, std::int64_t re,
                       std::int64_t classes, double* sums) {
  if (y_pred.dtype() == DType::kFloat32) {
    return count_rows_pred(y_pred.data_as<float>(), y_true, w, threshold, zero_guard, rb, re, classes, sums);
  }
  return count_rows_pred(y_pred.data_as<double>(), y_true, w, threshold, zero_guard, rb, re, classes, sums);
}

// One chunk's per-class sums laid out [tp | predicted positive | support].
struct Partial {
  std::vector<double> sums;
  bool nan = false;
};

}  // namespace tally::metrics::kernels
