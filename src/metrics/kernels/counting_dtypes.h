#pragma once
// The element types the counting kernels (confusion counts, class confusion) are compiled
// for. A kernel templated on the element types of y_true and y_pred is instantiated once per
// dtype pair, which for tally's 8 dtypes is most of the library's compile time (CI builds it
// three times: docs/performance.md, "Compile time"). These kernels read 5 types instead:
// bool as uint8 (a bool byte is 0 or 1), int32, int64, float32 and float64; float16 and
// bfloat16 are copied to float32 first, which holds them exactly (NaN and signed zero too),
// so every comparison and conversion a kernel makes gives what it gave on the original.

#include <cstdint>
#include <type_traits>

#include "internal/parallel.h"
#include "metrics/kernels/contiguous.h"
#include "tally/error.h"
#include "tally/tensor.h"

namespace tally::metrics::kernels {

/// A contiguous copy of `v` in `dtype` (float32 or float64) in `holder`, each element
/// converted as static_cast<T>(to_double(x)); returns its view.
inline TensorView converted_copy(const TensorView& v, DType dtype, Tensor& holder) {
  Tensor source;
  const TensorView src = contiguous(v, source);
  holder = Tensor(dtype, v.shape());
  visit_dtype(src.dtype(), [&](auto tag) {
    using S = decltype(tag);
    const S* in = static_cast<const S*>(src.data());
    auto fill = [&](auto* out) {
      using O = std::remove_pointer_t<decltype(out)>;
      internal::parallel_for_chunks(src.numel(), [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) out[i] = static_cast<O>(to_double(in[i]));
      });
    };
    if (dtype == DType::kFloat32) {
      fill(holder.data_as<float>());
    } else {
      fill(holder.data_as<double>());
    }
  });
  return holder.view();
}

/// `v` as a counting kernel reads it: contiguous, and float16 / bfloat16 copied to float32
/// (exact); the copy, when one is made, lives in `holder`.
inline TensorView counting_view(const TensorView& v, Tensor& holder) {
  if (v.dtype() == DType::kFloat16 || v.dtype() == DType::kBFloat16) return converted_copy(v, DType::kFloat32, holder);
  return contiguous(v, holder);
}

/// Calls fn(const T*) with the elements of a view made by counting_view: T is uint8 (for
/// bool and uint8), int32, int64, float or double.
template <class Fn>
decltype(auto) visit_counting_dtype(const TensorView& v, Fn&& fn) {
  switch (v.dtype()) {
    case DType::kBool:
    case DType::kUInt8:
      return fn(static_cast<const std::uint8_t*>(v.data()));
    case DType::kInt32:
      return fn(static_cast<const std::int32_t*>(v.data()));
    case DType::kInt64:
      return fn(static_cast<const std::int64_t*>(v.data()));
    case DType::kFloat32:
      return fn(static_cast<const float*>(v.data()));
    case DType::kFloat64:
      return fn(static_cast<const double*>(v.data()));
    case DType::kFloat16:
    case DType::kBFloat16:
      break;
  }
  throw DTypeError(std::string("tally: a counting kernel got ") + std::string(dtype_name(v.dtype())) +
                   " elements, which counting_view converts to float32");
}

}  // namespace tally::metrics::kernels
