// tally::ops: round trips, norms, one_hot, concatenate, EMA, bfloat16 transport, clipping,
// gradient accumulation and error messages.
#include "tally/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tally/error.h"

namespace tally::ops {
namespace {

Tensor f64(std::vector<double> v, Shape s) { return Tensor::from_vector(std::span<const double>(v), std::move(s)); }

TEST(Ops, FlattenReshapeRoundTripsExactlyForEveryDtype) {
  std::vector<Tensor> ts;
  ts.push_back(f64({0.1, -2.5, 1e300, 3.0, 4.0, 5.0}, {2, 3}));
  const std::vector<std::int64_t> ints{-(std::int64_t{1} << 53), 7, 9};
  ts.push_back(Tensor::from_vector(std::span<const std::int64_t>(ints), {3}));
  Tensor f32(DType::kFloat32, {2});
  f32.data_as<float>()[0] = 0.1f;
  f32.data_as<float>()[1] = -3.25f;
  ts.push_back(f32);
  Tensor b16(DType::kBFloat16, {1});
  b16.data_as<BFloat16>()[0] = BFloat16(1.5f);
  ts.push_back(b16);
  const Flattened f = flatten(ts);
  EXPECT_EQ(f.values.size(), 12u);
  const auto back = reshape(f.values, f.shapes, f.dtypes);
  ASSERT_EQ(back.size(), ts.size());
  for (std::size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(back[i].dtype(), ts[i].dtype());
    EXPECT_EQ(get_shape(back[i]), ts[i].shape());
    EXPECT_EQ(back[i].to_doubles(), ts[i].to_doubles());
  }
  EXPECT_EQ(back[2].data_as<float>()[0], 0.1f);
  const std::vector<std::int64_t> huge{(std::int64_t{1} << 53) + 1};
  const std::vector<Tensor> bad{Tensor::from_vector(std::span<const std::int64_t>(huge))};
  EXPECT_THROW(flatten(bad), InvalidArgument);
  const std::vector<Shape> shapes{{2}};
  const std::vector<DType> dtypes{DType::kFloat64};
  const std::vector<double> three{1, 2, 3};
  EXPECT_THROW(reshape(three, shapes, dtypes), ShapeError);
}

TEST(Ops, NormsOfAllOrders) {
  const Tensor t = f64({3.0, -4.0, 0.0, 12.0}, {2, 2});
  EXPECT_DOUBLE_EQ(norm(t, 1.0), 19.0);
  EXPECT_DOUBLE_EQ(norm(t, 2.0), 13.0);
  EXPECT_DOUBLE_EQ(norm(t, std::numeric_limits<double>::infinity()), 12.0);
  EXPECT_NEAR(norm(t, 3.0), std::cbrt(27.0 + 64.0 + 1728.0), 1e-12);
  const std::vector<Tensor> ts{f64({3.0}, {1}), f64({4.0}, {1})};
  EXPECT_DOUBLE_EQ(global_norm(ts, 2.0), 5.0);
  EXPECT_DOUBLE_EQ(global_norm(ts, 1.0), 7.0);
  EXPECT_THROW(norm(t, 0.5), InvalidArgument);
}

TEST(Ops, OneHot) {
  const std::vector<std::int64_t> idx{2, 0, 1};
  const Tensor oh = one_hot(TensorView(idx), 3);
  EXPECT_EQ(oh.shape(), (Shape{3, 3}));
  EXPECT_EQ(oh.dtype(), DType::kFloat32);
  EXPECT_EQ(oh.to_doubles(), (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0}));
  const std::vector<std::int64_t> out_of_range{3};
  EXPECT_THROW(one_hot(TensorView(out_of_range), 3), InvalidArgument);
  const std::vector<double> floats{1.0};
  EXPECT_THROW(one_hot(TensorView(floats), 3), DTypeError);
}

TEST(Ops, ConcatenateAlongAxes) {
  const Tensor a = f64({1, 2, 3, 4}, {2, 2});
  const Tensor b = f64({5, 6}, {2, 1});
  const std::vector<Tensor> ab{a, b};
  const Tensor c1 = concatenate(ab, 1);
  EXPECT_EQ(c1.shape(), (Shape{2, 3}));
  EXPECT_EQ(c1.to_doubles(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  const std::vector<Tensor> aa{a, f64({7, 8}, {1, 2})};
  const Tensor c0 = concatenate(aa, -2);
  EXPECT_EQ(c0.to_doubles(), (std::vector<double>{1, 2, 3, 4, 7, 8}));
  EXPECT_THROW(concatenate(ab, 0), ShapeError);
  EXPECT_THROW(concatenate(ab, 2), ShapeError);
  const std::vector<std::int64_t> ints{1, 2};
  const std::vector<Tensor> mixed{f64({1, 2}, {2}), Tensor::from_vector(std::span<const std::int64_t>(ints))};
  EXPECT_THROW(concatenate(mixed, 0), DTypeError);
}

TEST(Ops, CloneAssignAndEma) {
  std::vector<Tensor> vars{f64({1.0, 2.0}, {2})};
  auto copies = clone(vars);
  copies[0].data_as<double>()[0] = 9.0;
  EXPECT_EQ(vars[0].to_doubles()[0], 1.0);
  Tensor ref = f64({0, 0}, {2});
  assign_variable(ref, vars[0]);
  EXPECT_EQ(ref.to_doubles(), (std::vector<double>{1.0, 2.0}));
  EXPECT_THROW(assign_variable(ref, f64({1, 2, 3}, {3})), ShapeError);
  std::vector<Tensor> ema{f64({0.0, 10.0}, {2})};
  exponential_moving_average_update(vars, ema, 0.9);  // ema -= 0.1 * (ema - var)
  EXPECT_NEAR(ema[0].to_doubles()[0], 0.1, 1e-15);
  EXPECT_NEAR(ema[0].to_doubles()[1], 9.2, 1e-15);
}

TEST(Ops, Bfloat16TransportRoundsToNearestEven) {
  // 1 + 2^-8 is halfway between bfloat16 1 and 1 + 2^-7: ties to even gives 1;
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even gives 1 + 2^-6.
  const std::vector<Tensor> ts{f64({1.0 + 0x1p-8, 1.0 + 3 * 0x1p-8, 1.0 + 0x1p-8 + 0x1p-20}, {3})};
  const auto out = simulate_bfloat16_transport(ts);
  EXPECT_EQ(out[0].dtype(), DType::kFloat64);
  EXPECT_EQ(out[0].to_doubles(), (std::vector<double>{1.0, 1.0 + 0x1p-6, 1.0 + 0x1p-7}));
}

TEST(Ops, ClipByGlobalNorm) {
  const std::vector<Tensor> ts{f64({3.0}, {1}), f64({4.0}, {1})};
  const auto [clipped, g] = clip_by_global_norm(ts, 1.0);
  EXPECT_DOUBLE_EQ(g, 5.0);
  EXPECT_NEAR(clipped[0].to_doubles()[0], 0.6, 1e-15);
  EXPECT_NEAR(clipped[1].to_doubles()[0], 0.8, 1e-15);
  const auto [same, g2] = clip_by_global_norm(ts, 10.0);
  EXPECT_EQ(same[1].to_doubles()[0], 4.0);
  EXPECT_DOUBLE_EQ(g2, 5.0);
}

TEST(Ops, GradAccumulationSchedule) {
  GradAccumulationState s(7, 3);
  std::vector<bool> updates;
  for (int i = 0; i < 7; ++i) {
    s.increment();
    updates.push_back(s.optimizer_should_update());
  }
  EXPECT_EQ(updates, (std::vector<bool>{false, false, true, false, false, true, true}));
  EXPECT_THROW(GradAccumulationState(0, 1), InvalidArgument);
}

}  // namespace
}  // namespace tally::ops
