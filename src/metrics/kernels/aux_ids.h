#pragma once
// The auxiliary per-row inputs (query ids, row indices; include/tally/metric.h, AuxInputs)
// as int64 values. Metric::check_aux has already required an integer dtype.
#include <cstdint>
#include <type_traits>
#include <vector>

#include "tally/tensor.h"

namespace tally::metrics::kernels {

/// The values of an integer auxiliary input, widened to int64, in row order.
inline std::vector<std::int64_t> aux_ids(const TensorView& v) {
  const Tensor t = Tensor::copy_of(v);
  std::vector<std::int64_t> out(static_cast<std::size_t>(t.numel()));
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* p = static_cast<const T*>(t.data());
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::int64_t>(p[i]);
    }
  });
  return out;
}

}  // namespace tally::metrics::kernels
