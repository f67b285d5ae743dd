#pragma once
// Sample weights already broadcast to [N, C], as the counting loops of the F-score family and
// the class-id counts read them: float64, with the strides that index them, so a scalar or
// per-row weight is not expanded to N x C values.

#include <cstdint>
#include <vector>

#include "tally/metric.h"

namespace tally::metrics::kernels {

/// Weights as float64 with strides over [N, C]: w[r * row_stride + c * class_stride]; (0, 0)
/// scalar, (1, 0) per row, (C, 1) per element. Empty when unweighted.
struct WeightArray {
  std::vector<double> values;
  std::int64_t row_stride = 0;
  std::int64_t class_stride = 0;
};

/// The WeightArray of a weight view broadcast to [rows, classes] (strides 0 on broadcast
/// axes); empty when `broadcast` holds no value.
inline WeightArray weight_array(const TensorView& broadcast, std::int64_t rows, std::int64_t classes) {
  WeightArray w;
  if (!broadcast.has_value()) return w;
  const std::int64_t s0 = broadcast.strides()[0];
  const std::int64_t s1 = broadcast.strides()[1];
  const std::int64_t n = s1 != 0 ? rows * classes : (s0 != 0 ? rows : 1);
  w.values.resize(static_cast<std::size_t>(n));
  visit_dtype(broadcast.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(broadcast.data());
    if (s1 != 0) {
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < classes; ++c)
          w.values[static_cast<std::size_t>(r * classes + c)] = to_double(p[r * s0 + c * s1]);
      }
    } else {
      for (std::int64_t r = 0; r < n; ++r) w.values[static_cast<std::size_t>(r)] = to_double(p[r * s0]);
    }
  });
  w.row_stride = s1 != 0 ? classes : (s0 != 0 ? 1 : 0);
  w.class_stride = s1 != 0 ? 1 : 0;
  return w;
}

}  // namespace tally::metrics::kernels
