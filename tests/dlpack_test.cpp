#include "tally/dlpack.h"

#include <gtest/gtest.h>

#include <vector>

namespace tally {
namespace {

TEST(DLPack, ViewsBorrowedCpuTensorsWithoutCopy) {
  std::vector<float> data{1, 2, 3, 4, 5, 6};
  std::int64_t shape[2] = {2, 3};
  std::int64_t strides[2] = {1, 2};  // Fortran order
  DLTensor t{};
  t.data = data.data();
  t.device = DLDevice{kDLCPU, 0};
  t.ndim = 2;
  t.dtype = DLDataType{kDLFloat, 32, 1};
  t.shape = shape;
  t.strides = strides;
  const TensorView v = view_from_dlpack(t);
  EXPECT_EQ(v.data(), data.data());
  EXPECT_EQ(v.shape(), (Shape{2, 3}));
  EXPECT_DOUBLE_EQ(v.value_at(1), 3.0);
  t.device.device_type = kDLCUDA;
  EXPECT_THROW(view_from_dlpack(t), InvalidArgument);
}

TEST(DLPack, RejectsUnsupportedDTypes) {
  EXPECT_THROW(dtype_from_dlpack(DLDataType{kDLComplex, 64, 1}), DTypeError);
  EXPECT_THROW(dtype_from_dlpack(DLDataType{kDLInt, 8, 1}), DTypeError);
  EXPECT_THROW(dtype_from_dlpack(DLDataType{kDLFloat, 32, 4}), DTypeError);
  EXPECT_EQ(dtype_from_dlpack(DLDataType{kDLBfloat, 16, 1}), DType::kBFloat16);
  EXPECT_EQ(dtype_from_dlpack(dtype_to_dlpack(DType::kInt32)), DType::kInt32);
}

TEST(DLPack, ExportAndImportRoundTripCallsDeleterOnce) {
  Tensor t = Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0});
  const void* address = t.data();
  DLManagedTensor* capsule = to_dlpack(std::move(t));
  EXPECT_EQ(capsule->dl_tensor.data, address);  // moved, not copied
  EXPECT_EQ(capsule->dl_tensor.ndim, 1);
  Tensor back = from_dlpack(capsule);
  EXPECT_EQ(back.data(), address);
  EXPECT_EQ(back.to_doubles(), (std::vector<double>{1.0, 2.0, 3.0}));
}

}  // namespace
}  // namespace tally
