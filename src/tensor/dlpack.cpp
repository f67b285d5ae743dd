#include "tally/dlpack.h"

#include <memory>

#include "internal/check.h"

namespace tally {

DType dtype_from_dlpack(DLDataType dtype) {
  if (dtype.lanes != 1) {
    throw DTypeError(internal::str_cat("dlpack: vector dtypes (lanes = ", dtype.lanes, ") are not supported"));
  }
  const int bits = dtype.bits;
  switch (dtype.code) {
    case kDLInt:
      if (bits == 32) return DType::kInt32;
      if (bits == 64) return DType::kInt64;
      break;
    case kDLUInt:
      if (bits == 8) return DType::kUInt8;
      if (bits == 1) return DType::kBool;
      break;
    case kDLFloat:
      if (bits == 16) return DType::kFloat16;
      if (bits == 32) return DType::kFloat32;
      if (bits == 64) return DType::kFloat64;
      break;
    case kDLBfloat:
      if (bits == 16) return DType::kBFloat16;
      break;
    default:
      // DLPack >= 0.8 spells bool as code 6 with 8 bits; accept it so newer producers work.
      if (dtype.code == 6 && bits == 8) return DType::kBool;
      break;
  }
  throw DTypeError(internal::str_cat("dlpack: dtype code ", int{dtype.code}, " with ", bits,
                                     " bits is not supported; tally reads bool, uint8, int32, int64, float16, "
                                     "bfloat16, float32 and float64"));
}

DLDataType dtype_to_dlpack(DType dtype) {
  DLDataType out{};
  out.lanes = 1;
  out.bits = static_cast<std::uint8_t>(dtype_size(dtype) * 8);
  switch (dtype) {
    case DType::kBool:
      out.code = kDLUInt;
      break;  // DLPack 0.6 has no bool code; 8-bit uint is how numpy reads it
    case DType::kUInt8:
      out.code = kDLUInt;
      break;
    case DType::kInt32:
    case DType::kInt64:
      out.code = kDLInt;
      break;
    case DType::kBFloat16:
      out.code = kDLBfloat;
      break;
    default:
      out.code = kDLFloat;
      break;
  }
  return out;
}

TensorView view_from_dlpack(const DLTensor& tensor) {
  if (tensor.device.device_type != kDLCPU && tensor.device.device_type != kDLCUDAHost) {
    throw InvalidArgument(internal::str_cat("dlpack: tensor is on device type ", int{tensor.device.device_type},
                                            "; tally reads CPU memory only (copy it to the host first)"));
  }
  if (tensor.ndim < 0) throw ShapeError("dlpack: negative ndim");
  const DType dtype = dtype_from_dlpack(tensor.dtype);
  Shape shape(tensor.shape, tensor.shape + tensor.ndim);
  Shape strides;
  if (tensor.strides != nullptr) strides.assign(tensor.strides, tensor.strides + tensor.ndim);
  const auto* data = static_cast<const char*>(tensor.data) + tensor.byte_offset;
  if (tensor.data == nullptr) data = nullptr;
  return TensorView(data, dtype, std::move(shape), std::move(strides));
}

Tensor from_dlpack(DLManagedTensor* managed) {
  if (managed == nullptr) throw InvalidArgument("dlpack: null DLManagedTensor");
  std::shared_ptr<void> owner(managed, [](void* p) {
    auto* m = static_cast<DLManagedTensor*>(p);
    if (m->deleter != nullptr) m->deleter(m);
  });
  const TensorView view = view_from_dlpack(managed->dl_tensor);
  return Tensor::adopt(const_cast<void*>(view.data()), view.dtype(), view.shape(), view.strides(), std::move(owner));
}

namespace {
struct ExportContext {
  Tensor tensor;
  Shape shape;
  Shape strides;
  DLManagedTensor managed{};
};
}  // namespace

DLManagedTensor* to_dlpack(Tensor tensor) {
  auto context = std::make_unique<ExportContext>();
  context->tensor = std::move(tensor);
  context->shape = context->tensor.shape();
  context->strides = context->tensor.view().strides();
  DLManagedTensor& m = context->managed;
  m.dl_tensor.data = context->tensor.mutable_data();
  m.dl_tensor.device = DLDevice{kDLCPU, 0};
  m.dl_tensor.ndim = static_cast<int>(context->shape.size());
  m.dl_tensor.dtype = dtype_to_dlpack(context->tensor.dtype());
  m.dl_tensor.shape = context->shape.data();
  m.dl_tensor.strides = context->strides.data();
  m.dl_tensor.byte_offset = 0;
  m.manager_ctx = context.get();
  m.deleter = [](DLManagedTensor* self) { delete static_cast<ExportContext*>(self->manager_ctx); };
  return &context.release()->managed;
}

}  // namespace tally
