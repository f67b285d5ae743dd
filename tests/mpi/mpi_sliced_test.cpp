// Sliced all-reduce over MPI: ranks see different slice sets (country 4 only on the last
// rank, site "first" only on rank 0) and every rank ends with the slices and states one
// process gets on all rows. Run by ctest under mpirun -n 2 and -n 3.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tally/mpi.h"
#include "tally/sliced.h"

namespace tally {
namespace {

MpiContext& context() {
  static MpiContext ctx;
  return ctx;
}

struct Data {
  std::vector<double> y, p, w;
  std::vector<std::int64_t> country;
  std::vector<std::string> site;
};

Data make_data(std::int64_t n) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Data d;
  for (std::int64_t i = 0; i < n; ++i) {
    const double p = u(rng);
    d.p.push_back(p);
    d.y.push_back(u(rng) < p ? 1.0 : 0.0);
    d.w.push_back(0.5 + u(rng));
    d.country.push_back(i >= n - 50 ? 4 : static_cast<std::int64_t>(rng() % 4));
    d.site.push_back(i < 20 ? "first" : (rng() % 2 == 0 ? "north" : "south"));
  }
  return d;
}

SlicedCollection make_sliced() {
  return SlicedCollection(MetricCollection::from_specs({"binary_accuracy", "auc", "mean_squared_error"}),
                          {"country", "site"}, {{}, {"country"}, {"site"}, {"country", "site"}});
}

void update(SlicedCollection& s, const Data& d, std::size_t b, std::size_t e) {
  const auto n = static_cast<std::int64_t>(e - b);
  const std::vector<SliceColumn> cols = {SliceColumn::ids(TensorView(d.country.data() + b, DType::kInt64, {n})),
                                         SliceColumn::strings(std::span<const std::string>(d.site).subspan(b, e - b))};
  s.update_state(TensorView(d.y.data() + b, DType::kFloat64, {n}), TensorView(d.p.data() + b, DType::kFloat64, {n}),
                 TensorView(d.w.data() + b, DType::kFloat64, {n}), cols);
}

TEST(MpiSliced, AllReduceEqualsOneProcessWithDifferentSliceSets) {
  MpiContext& ctx = context();
  const std::int64_t n = 601;
  const Data d = make_data(n);
  SlicedCollection single = make_sliced();
  update(single, d, 0, static_cast<std::size_t>(n));
  SlicedCollection mine = make_sliced();
  const auto [begin, end] = ctx.distribute_range(n);
  // Two uneven batches per rank.
  const auto mid = begin + (end - begin) / 3;
  update(mine, d, static_cast<std::size_t>(begin), static_cast<std::size_t>(mid));
  update(mine, d, static_cast<std::size_t>(mid), static_cast<std::size_t>(end));
  const bool sees_four = mine.samples(SliceKey{1, {std::int64_t{4}}}) > 0;
  EXPECT_EQ(sees_four, ctx.global_rank() == ctx.world_size() - 1);
  all_reduce_metrics(mine, ctx);
  ASSERT_EQ(mine.keys(), single.keys());
  EXPECT_EQ(mine.samples(SliceKey{1, {std::int64_t{4}}}), 50);
  EXPECT_EQ(mine.samples(SliceKey{2, {std::string("first")}}), 20);
  const auto got = mine.to_vector(), want = single.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9 * (1 + std::fabs(want[i])));
}

TEST(MpiSliced, DifferentFeaturesFailOnEveryRank) {
  MpiContext& ctx = context();
  SlicedCollection mine(MetricCollection::from_specs({"mse"}),
                        {ctx.global_rank() == 0 ? std::string("country") : std::string("region")});
  try {
    all_reduce_metrics(mine, ctx);
    FAIL() << "no error on rank " << ctx.global_rank();
  } catch (const DistributedError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks slice differently"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tally

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tally::context();  // MPI is initialised before any test, finalised at exit
  // Only rank 0 prints the report; every rank's failures still set the exit code.
  if (tally::context().global_rank() != 0) {
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  std::vector<double> worst{static_cast<double>(rc)};
  tally::context().all_reduce_in_place(worst, tally::ReduceOp::kMax);
  return static_cast<int>(worst[0]);
}
