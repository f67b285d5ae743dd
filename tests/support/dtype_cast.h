#pragma once
// Test inputs of any dtype from float64 values, for checks that a kernel gives every dtype
// the result of the same values in float64.

#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/metric.h"
#include "tally/tensor.h"

namespace tally::testing {

/// The 8 dtypes tally reads.
inline constexpr DType kEveryDtype[] = {DType::kBool,    DType::kUInt8,    DType::kInt32,   DType::kInt64,
                                        DType::kFloat16, DType::kBFloat16, DType::kFloat32, DType::kFloat64};

/// `values` as a tensor of `dtype` and `shape`; each value must be exact in that dtype.
inline Tensor values_as(const std::vector<double>& values, DType dtype, Shape shape) {
  Tensor out(dtype, std::move(shape));
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.data_as<T>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
        dst[i] = T(static_cast<float>(values[i]));
      } else {
        dst[i] = static_cast<T>(values[i]);
      }
    }
  });
  return out;
}

/// Whether two metrics hold the same state, bit for bit (a whole-buffer comparison: fast
/// enough for states of 1e5 elements in a loop of cases).
inline bool same_state(const Metric& expected, const Metric& actual) {
  const Variables &e = expected.variable_values(), &a = actual.variable_values();
  if (!e.same_layout(a)) return false;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const std::size_t bytes = static_cast<std::size_t>(e.layout()[i].numel()) * 8;
    const void* x = e.layout()[i].dtype == DType::kInt64 ? static_cast<const void*>(e.i64(i).data()) : e.f64(i).data();
    const void* y = a.layout()[i].dtype == DType::kInt64 ? static_cast<const void*>(a.i64(i).data()) : a.f64(i).data();
    if (std::memcmp(x, y, bytes) != 0) return false;
  }
  return true;
}

}  // namespace tally::testing
