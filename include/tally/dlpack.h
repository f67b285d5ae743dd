#pragma once
// DLPack interchange: numpy, torch, JAX and others hand tensors to tally without a
// copy, and tally's tensors (results, state) go back out the same way.

#include <dlpack/dlpack.h>

#include "tally/tensor.h"

namespace tally {

/// The DType of a DLPack dtype; throws DTypeError for types tally does not read
/// (lanes != 1, complex, int8/int16, uint16+).
DType dtype_from_dlpack(DLDataType dtype);
/// The DLPack dtype of a DType.
DLDataType dtype_to_dlpack(DType dtype);

/// A view of a borrowed DLTensor (CPU memory only; throws InvalidArgument otherwise).
/// The DLTensor's memory must outlive the view.
TensorView view_from_dlpack(const DLTensor& tensor);
/// A tensor that takes ownership of a DLManagedTensor and calls its deleter when released.
/// On error the deleter is still called, so the capsule never leaks.
Tensor from_dlpack(DLManagedTensor* managed);
/// Exports a tensor: the capsule owns it and frees it when the consumer calls the deleter.
/// Pass an rvalue (std::move) to export without copying the data.
DLManagedTensor* to_dlpack(Tensor tensor);

}  // namespace tally
