#include "tally/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tally {
namespace {

TEST(DType, NamesSizesAndKinds) {
  EXPECT_EQ(dtype_name(DType::kBFloat16), "bfloat16");
  EXPECT_EQ(dtype_from_name("float32"), DType::kFloat32);
  EXPECT_EQ(dtype_size(DType::kFloat16), 2u);
  EXPECT_EQ(dtype_size(DType::kInt64), 8u);
  EXPECT_TRUE(is_floating(DType::kBFloat16));
  EXPECT_TRUE(is_integral(DType::kBool));
  EXPECT_THROW(dtype_from_name("complex64"), DTypeError);
}

TEST(Float16, RoundTripsAndRoundsToNearestEven) {
  for (const float x : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f}) {
    EXPECT_EQ(static_cast<float>(Float16(x)), x) << x;
  }
  EXPECT_EQ(static_cast<float>(Float16(1.0f + 1.0f / 2048.0f)), 1.0f);  // tie -> even
  EXPECT_EQ(static_cast<float>(Float16(1.0f + 3.0f / 2048.0f)), 1.0f + 2.0f / 1024.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(Float16(70000.0f))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Float16(std::nanf("")))));
  EXPECT_EQ(Float16(0.1f).bits, 0x2e66);  // numpy: np.float16(0.1).view(np.uint16)
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f)), 1.0f);
  EXPECT_EQ(BFloat16(3.14159265f).bits, 0x4049);
  EXPECT_EQ(static_cast<float>(BFloat16(1.0f + 1.0f / 256.0f)), 1.0f);  // tie -> even
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::nanf("")))));
}

TEST(TensorView, BuildsFromContainersAndRawPointers) {
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  const TensorView a = v;
  EXPECT_EQ(a.dtype(), DType::kFloat32);
  EXPECT_EQ(a.shape(), (Shape{6}));
  const TensorView b(v, {2, 3});
  EXPECT_EQ(b.strides(), (Shape{3, 1}));
  EXPECT_DOUBLE_EQ(b.value_at(4), 5.0);
  EXPECT_THROW(TensorView(v, {4, 2}), ShapeError);
  const TensorView c(v.data(), DType::kFloat32, {3, 2}, {1, 3});  // Fortran order
  EXPECT_FALSE(c.is_contiguous());
  EXPECT_DOUBLE_EQ(c.value_at(1), 4.0);
  const std::span<const float> s(v);
  const TensorView d = s;
  EXPECT_EQ(d.numel(), 6);
  const TensorView absent;
  EXPECT_FALSE(absent.has_value());
  EXPECT_EQ(absent.describe(), "None");
}

// Found by fuzz_npy: copying an empty view without a data pointer passed null to memcpy.
TEST(Tensor, CopiesAnEmptyViewWithoutAPointer) {
  const TensorView empty(nullptr, DType::kFloat64, Shape{1, 0});
  const Tensor copy = Tensor::copy_of(empty);
  EXPECT_EQ(copy.shape(), (Shape{1, 0}));
  EXPECT_TRUE(copy.to_doubles().empty());
}

TEST(TensorView, ReshapeSqueezeExpandBroadcastSlice) {
  const std::vector<double> v{1, 2, 3, 4, 5, 6};
  const TensorView t(v, {3, 2});
  EXPECT_EQ(t.expand_dims(-1).shape(), (Shape{3, 2, 1}));
  EXPECT_EQ(t.expand_dims(-1).squeeze(-1).shape(), (Shape{3, 2}));
  EXPECT_THROW(t.squeeze(0), ShapeError);
  const TensorView row = TensorView(v, {1, 6}).reshape({6});
  EXPECT_EQ(row.shape(), (Shape{6}));
  const TensorView col = TensorView(v, {3, 2}).slice_rows(1, 3);
  EXPECT_DOUBLE_EQ(col.value_at(0), 3.0);
  const std::vector<double> w{10, 20};
  const TensorView wb = TensorView(w).broadcast_to({3, 2});
  EXPECT_DOUBLE_EQ(wb.value_at(5), 20.0);
  EXPECT_THROW(TensorView(w).broadcast_to({3, 3}), ShapeError);
  EXPECT_EQ(t.move_axis_to_end(0).shape(), (Shape{2, 3}));
  EXPECT_DOUBLE_EQ(t.move_axis_to_end(0).value_at(1), 3.0);
  EXPECT_THROW(t.dim(2), ShapeError);
}

TEST(TensorView, RejectsWrongTypedAccess) {
  const std::vector<float> v{1, 2};
  const TensorView t = v;
  EXPECT_NO_THROW(t.data_as<float>());
  EXPECT_THROW(t.data_as<double>(), DTypeError);
}

TEST(Tensor, OwnsCopiesAndConverts) {
  const std::vector<double> v{1.5, 2.5, 3.5};
  Tensor t = Tensor::from_vector(v);
  Tensor copy = t;
  copy.data_as<double>()[0] = 9.0;
  EXPECT_DOUBLE_EQ(t.data_as<double>()[0], 1.5);  // deep copy
  EXPECT_EQ(Tensor::scalar(2.0).ndim(), 0);
  EXPECT_DOUBLE_EQ(Tensor::scalar(2.0).item(), 2.0);
  EXPECT_THROW(t.item(), ShapeError);
  const std::vector<float> f{1, 2, 3, 4, 5, 6};
  const Tensor fortran = Tensor::copy_of(TensorView(f.data(), DType::kFloat32, {3, 2}, {1, 3}));
  EXPECT_TRUE(fortran.view().is_contiguous());
  EXPECT_EQ(fortran.to_doubles(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(t.reshaped({3, 1}).shape(), (Shape{3, 1}));
}

TEST(VisitDType, DispatchesEveryType) {
  int visited = 0;
  for (const DType d : {DType::kBool, DType::kUInt8, DType::kInt32, DType::kInt64, DType::kFloat16, DType::kBFloat16,
                        DType::kFloat32, DType::kFloat64}) {
    visit_dtype(d, [&](auto tag) {
      EXPECT_EQ(dtype_of<decltype(tag)>(), d);
      ++visited;
    });
  }
  EXPECT_EQ(visited, 8);
}

}  // namespace
}  // namespace tally
