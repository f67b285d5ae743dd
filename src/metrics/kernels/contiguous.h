#pragma once
// Kernels read rows with plain strides: a strided view is copied once, only when it must be.

#include "tally/tensor.h"

namespace tally::metrics::kernels {

/// The view itself when contiguous, else a contiguous copy held in `holder`.
inline TensorView contiguous(const TensorView& view, Tensor& holder) {
  if (view.is_contiguous()) return view;
  holder = Tensor::copy_of(view);
  return holder.view();
}

}  // namespace tally::metrics::kernels
