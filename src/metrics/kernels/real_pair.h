#pragma once
// The element types a float kernel is compiled for. float32 and float64 inputs are read in
// place; every other dtype (bool, integers, float16, bfloat16) is widened to float64 one
// chunk at a time into a per-thread buffer. A two-input kernel is then instantiated for 4
// dtype pairs instead of 64, which is most of the library's compile time and binary size
// (docs/performance.md, "Compile time"), while memory stays bounded by the chunk and the
// values a kernel sees are the same `to_double` values as before, so results do not change.

#include <cstdint>
#include <vector>

#include "tally/tensor.h"

namespace tally::metrics::kernels {

/// Writes `to_double` of elements [begin, end) of the contiguous view `v` into `out`.
inline void widen_to_double(const TensorView& v, std::int64_t begin, std::int64_t end, std::vector<double>& out) {
  out.resize(static_cast<std::size_t>(end - begin));
  visit_dtype(v.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(v.data()) + begin;
    for (std::int64_t i = 0; i < end - begin; ++i) out[static_cast<std::size_t>(i)] = to_double(src[i]);
  });
}

/// Calls fn(const T*) on elements [begin, end) of the contiguous view `v`, with T float or
/// double: the view's own memory when it is float32/float64, else a widened copy in `buffer`.
template <class Fn>
decltype(auto) with_real_elements(const TensorView& v, std::int64_t begin, std::int64_t end,
                                  std::vector<double>& buffer, Fn&& fn) {
  if (v.dtype() == DType::kFloat32) return fn(static_cast<const float*>(v.data()) + begin);
  if (v.dtype() == DType::kFloat64) return fn(static_cast<const double*>(v.data()) + begin);
  widen_to_double(v, begin, end, buffer);
  return fn(static_cast<const double*>(buffer.data()));
}

/// Calls fn(const T* t, const P* p) on elements [begin, end) of two contiguous views, T and P
/// each float or double (see with_real_elements). Meant to be called once per parallel chunk.
template <class Fn>
decltype(auto) with_real_pair(const TensorView& t, const TensorView& p, std::int64_t begin, std::int64_t end, Fn&& fn) {
  // Per thread, so that chunks running in parallel never share a buffer; kept between calls.
  thread_local std::vector<double> t_buffer, p_buffer;
  return with_real_elements(t, begin, end, t_buffer, [&](const auto* tp) {
    return with_real_elements(p, begin, end, p_buffer, [&](const auto* pp) { return fn(tp, pp); });
  });
}

}  // namespace tally::metrics::kernels
