#pragma once
// Keras's numerical constants, defined once, and the rounding of a constant to a metric's
// dtype (docs/keras-differences.md §11: the dtype sets Keras's constants, arithmetic is float64).

#include "tally/tensor.h"

namespace tally::metrics::kernels {

/// Keras backend.epsilon(): the clip and divide-by-zero guard of every family.
inline constexpr double kKerasEpsilon = 1e-7;

/// `x` as a Keras metric of `dtype` holds it: float64 unchanged, otherwise rounded to float32
/// first and then to float16 / bfloat16, as Keras casts a Python float.
inline double round_to_dtype(double x, DType dtype) {
  if (dtype == DType::kFloat64) return x;
  const auto f = static_cast<float>(x);
  switch (dtype) {
    case DType::kFloat16:
      return static_cast<double>(static_cast<float>(Float16(f)));
    case DType::kBFloat16:
      return static_cast<double>(static_cast<float>(BFloat16(f)));
    default:
      return static_cast<double>(f);
  }
}

/// Keras epsilon rounded to the metric's dtype.
inline double keras_epsilon(DType dtype) { return round_to_dtype(kKerasEpsilon, dtype); }

}  // namespace tally::metrics::kernels
