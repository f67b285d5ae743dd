// all_reduce_metrics over MPI: every rank evaluates its share of one data set and ends with
// the result a single process gets on all of it. Run by ctest under mpirun -n 2, 3 and 4.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "support/random_inputs.h"
#include "tally/metrics/bootstrap.h"
#include "tally/metrics/reduction.h"
#include "tally/mpi.h"
#include "tally/registry.h"

namespace tally {
namespace {

MpiContext& context() {
  static MpiContext ctx;
  return ctx;
}

const std::vector<std::string> kSpecs = {
    "binary_accuracy",
    "mse",
    "mae",
    "root_mean_squared_error",
    "pearson_correlation",
    "mean",
    R"({"class_name": "R2Score", "config": {"class_aggregation": null}})",
    R"({"class_name": "BinaryIoU"})",
    R"({"class_name": "F1Score", "config": {"num_classes": 1, "threshold": 0.5}})"};

TEST(Mpi, ContextBasics) {
  MpiContext& ctx = context();
  EXPECT_TRUE(launched_under_mpi());
  EXPECT_GE(ctx.world_size(), 2);
  EXPECT_EQ(ctx.local_size(), ctx.world_size());  // one machine
  std::vector<double> b{static_cast<double>(ctx.global_rank())};
  ctx.all_reduce_in_place(b, ReduceOp::kMax);
  EXPECT_DOUBLE_EQ(b[0], ctx.world_size() - 1);
  const std::int64_t w = ctx.world_size();
  for (const std::int64_t n : {w - 1, w, 3 * w + 1}) {  // smaller than, equal to, larger than the world
    std::vector<double> total{static_cast<double>(ctx.distribute_value(n))};
    ctx.all_reduce_in_place(total, ReduceOp::kSum);
    EXPECT_DOUBLE_EQ(total[0], static_cast<double>(n));
  }
  const auto avg = ctx.all_reduce({Tensor::scalar(ctx.global_rank())}, true);
  EXPECT_DOUBLE_EQ(avg[0].item(), (w - 1) / 2.0);
}

TEST(Mpi, AllReduceEqualsOneProcessOnAllData) {
  MpiContext& ctx = context();
  const std::int64_t n = 1001;  // uneven shards; with -n 4 ... every rank still has rows
  const Tensor y = testing::random_labels({n, 1}, 11, 2, DType::kFloat64);
  const Tensor p = testing::random_uniform({n, 1}, 12, 0.0, 1.0, DType::kFloat32);
  MetricCollection single = MetricCollection::from_specs(kSpecs);
  single.update_state(y, p);
  MetricCollection mine = MetricCollection::from_specs(kSpecs);
  const auto [begin, end] = ctx.distribute_range(n);
  mine.update_state(y.view().slice_rows(begin, end), p.view().slice_rows(begin, end));
  all_reduce_metrics(mine, ctx);
  const auto got = mine.result(), want = single.result();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::vector<double> g = got[i].second.to_doubles(), e = want[i].second.to_doubles();
    for (std::size_t k = 0; k < e.size(); ++k) {
      EXPECT_NEAR(g[k], e[k], 1e-12 * std::max(1.0, std::fabs(e[k]))) << got[i].first;
    }
  }
}

// BootstrapInterval: each rank starts its running row index at its distribute_range start,
// so the all-reduced resamples equal one process's; ranking metrics get whole queries.
TEST(Mpi, BootstrapAndRankingEqualOneProcess) {
  MpiContext& ctx = context();
  const std::int64_t queries = 251, per_query = 4, n = queries * per_query;
  const Tensor y = testing::random_labels({n, 1}, 21, 2, DType::kFloat64);
  const Tensor p = testing::random_uniform({n, 1}, 22, 0.0, 1.0, DType::kFloat32);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = i / per_query;
  const std::vector<std::string> specs = {
      R"({"class_name": "BootstrapInterval", "config": {"metric": "binary_accuracy", "num_resamples": 200}})",
      R"({"class_name": "NDCG", "config": {"k": 3}})", "binary_accuracy"};
  MetricCollection single = MetricCollection::from_specs(specs);
  single.update_state(y, p, {}, AuxInputs{TensorView(ids), {}});
  MetricCollection mine = MetricCollection::from_specs(specs);
  const auto [qb, qe] = ctx.distribute_range(queries);  // whole queries per rank
  const std::int64_t begin = qb * per_query, end = qe * per_query;
  dynamic_cast<metrics::BootstrapInterval&>(*mine.metrics()[0]).set_row_offset(begin);
  for (std::int64_t b = begin; b < end; b += 40) {  // batches of 10 queries
    const std::int64_t e = std::min(end, b + 40);
    mine.update_state(y.view().slice_rows(b, e), p.view().slice_rows(b, e), {},
                      AuxInputs{TensorView(ids).slice_rows(b, e), {}});
  }
  all_reduce_metrics(mine, ctx);
  const auto got = mine.result(), want = single.result();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::vector<double> g = got[i].second.to_doubles(), e = want[i].second.to_doubles();
    ASSERT_EQ(g.size(), e.size());
    for (std::size_t k = 0; k < e.size(); ++k) {
      EXPECT_NEAR(g[k], e[k], 1e-12 * std::max(1.0, std::fabs(e[k]))) << got[i].first << "[" << k << "]";
    }
  }
}

TEST(Mpi, ARankWithZeroSamples) {
  MpiContext& ctx = context();
  MetricCollection c = MetricCollection::from_specs({"mse", "mean"});
  if (ctx.global_rank() == 0) c.update_state(std::vector<double>{1, 2}, std::vector<double>{2, 4});
  all_reduce_metrics(c, ctx);
  EXPECT_DOUBLE_EQ(c.metric("mean_squared_error").value(), 2.5);
}

TEST(Mpi, MismatchedLayoutFailsOnEveryRank) {
  MpiContext& ctx = context();
  MetricCollection c = MetricCollection::from_specs({ctx.global_rank() == 1 ? "mae" : "mse"});
  EXPECT_THROW(all_reduce_metrics(c, ctx), DistributedError);
}

// A metric with sum, min and max variables (int64 and float64), each rank's values set
// directly: the one-collective path reduces every region by its own operation.
std::unique_ptr<Metric> regions_metric(int rank) {
  VariableLayout layout{{"total", {3}, DType::kFloat64, Aggregation::kSum},
                        {"lowest", {2}, DType::kFloat64, Aggregation::kMin},
                        {"count", {}, DType::kInt64, Aggregation::kSum},
                        {"highest", {2}, DType::kInt64, Aggregation::kMax},
                        {"lowest_id", {}, DType::kInt64, Aggregation::kMin}};
  auto m = std::make_unique<metrics::LambdaMetric>(
      "regions", layout, [](Variables&, const Batch&) {},
      [](const Variables& v) { return Tensor::scalar(v.f64(0)[0]); });
  Variables v = m->variable_values();
  const double r = rank;
  v.f64(0)[0] = r + 0.5;
  v.f64(0)[1] = 2 * r;
  v.f64(0)[2] = -r;
  v.f64(1)[0] = 10 - r;
  v.f64(1)[1] = r * r;
  v.i64(2)[0] = rank + 1;
  v.i64(3)[0] = 100 + rank;
  v.i64(3)[1] = -rank;
  v.i64(4)[0] = 7 - rank;
  m->set_variable_values(v);
  return m;
}

TEST(Mpi, SumMinAndMaxRegionsInOneCollective) {
  MpiContext& ctx = context();
  const int w = ctx.world_size();
  // Twice: the first call agrees on the layout (two collectives), the second uses one.
  for (int call = 0; call < 2; ++call) {
    std::unique_ptr<Metric> m = regions_metric(ctx.global_rank());
    all_reduce_metrics(*m, ctx);
    const Variables& v = m->variable_values();
    double sum_r = 0.0;
    for (int r = 0; r < w; ++r) sum_r += r;
    EXPECT_DOUBLE_EQ(v.f64(0)[0], sum_r + 0.5 * w);
    EXPECT_DOUBLE_EQ(v.f64(0)[1], 2 * sum_r);
    EXPECT_DOUBLE_EQ(v.f64(0)[2], -sum_r);
    EXPECT_DOUBLE_EQ(v.f64(1)[0], 10 - (w - 1));
    EXPECT_DOUBLE_EQ(v.f64(1)[1], 0.0);
    EXPECT_EQ(v.i64(2)[0], static_cast<std::int64_t>(sum_r) + w);
    EXPECT_EQ(v.i64(3)[0], 100 + (w - 1));
    EXPECT_EQ(v.i64(3)[1], 0);
    EXPECT_EQ(v.i64(4)[0], 7 - (w - 1));
  }
}

// Above 8192 doubles the packed buffer takes MPI_Iallreduce with the user-defined MPI_Op
// instead of the point-to-point exchange (src/distributed/mpi_context.cpp): the same regions.
TEST(Mpi, LargeStatesReduceEachRegionToo) {
  MpiContext& ctx = context();
  const int w = ctx.world_size(), rank = ctx.global_rank();
  VariableLayout layout{{"total", {9000}, DType::kFloat64, Aggregation::kSum},
                        {"lowest", {3}, DType::kFloat64, Aggregation::kMin},
                        {"highest", {2}, DType::kInt64, Aggregation::kMax}};
  for (int call = 0; call < 2; ++call) {
    metrics::LambdaMetric m(
        "large", layout, [](Variables&, const Batch&) {},
        [](const Variables& v) { return Tensor::scalar(v.f64(0)[0]); });
    Variables v = m.variable_values();
    for (std::size_t k = 0; k < 9000; ++k) v.f64(0)[k] = static_cast<double>(k) + rank;
    v.f64(1)[0] = 5.0 - rank;
    v.f64(1)[1] = rank;
    v.f64(1)[2] = -1.0;
    v.i64(2)[0] = 40 + rank;
    v.i64(2)[1] = -rank;
    m.set_variable_values(v);
    all_reduce_metrics(m, ctx);
    const Variables& got = m.variable_values();
    const double sum_r = w * (w - 1) / 2.0;
    EXPECT_DOUBLE_EQ(got.f64(0)[0], sum_r);
    EXPECT_DOUBLE_EQ(got.f64(0)[8999], 8999.0 * w + sum_r);
    EXPECT_DOUBLE_EQ(got.f64(1)[0], 5.0 - (w - 1));
    EXPECT_DOUBLE_EQ(got.f64(1)[1], 0.0);
    EXPECT_DOUBLE_EQ(got.f64(1)[2], -1.0);
    EXPECT_EQ(got.i64(2)[0], 40 + (w - 1));
    EXPECT_EQ(got.i64(2)[1], 0);
  }
}

// Sums rounded differently in another order, and a NaN in a min variable (whose min depends
// on the order of its operands): every rank still ends with the same bits.
TEST(Mpi, EveryRankEndsWithTheSameBits) {
  MpiContext& ctx = context();
  const int rank = ctx.global_rank();
  VariableLayout layout{{"sums", {4}, DType::kFloat64, Aggregation::kSum},
                        {"lowest", {2}, DType::kFloat64, Aggregation::kMin}};
  metrics::LambdaMetric m(
      "bits", layout, [](Variables&, const Batch&) {}, [](const Variables& v) { return Tensor::scalar(v.f64(0)[0]); });
  Variables v = m.variable_values();
  for (std::size_t k = 0; k < 4; ++k) v.f64(0)[k] = 0.1 * (rank + 1) + 1e16 * (k % 2) * (rank % 2 ? 1 : -1);
  v.f64(1)[0] = rank == 0 ? std::nan("") : 1.0 + rank;
  v.f64(1)[1] = rank == ctx.world_size() - 1 ? std::nan("") : 3.0 - rank;
  m.set_variable_values(v);
  all_reduce_metrics(m, ctx);
  const std::vector<double> mine = m.to_vector();
  const std::vector<double> all = ctx.all_gather(mine);
  for (int r = 0; r < ctx.world_size(); ++r) {
    EXPECT_EQ(std::memcmp(all.data() + r * mine.size(), mine.data(), mine.size() * sizeof(double)), 0) << "rank " << r;
  }
}

TEST(Mpi, LayoutChangesBetweenCallsAreAgreedOn) {
  // Alternating collections of different state lengths: each change takes the agreement
  // round, and every result is still the one-process result.
  MpiContext& ctx = context();
  for (int round = 0; round < 3; ++round) {
    for (const bool big : {false, true}) {
      MetricCollection c = big ? MetricCollection::from_specs({"mae", "root_mean_squared_error", "mse"})
                               : MetricCollection::from_specs({"mse"});
      c.update_state(std::vector<double>{0.0}, std::vector<double>{static_cast<double>(ctx.global_rank())});
      all_reduce_metrics(c, ctx);
      double want = 0.0;
      for (int r = 0; r < ctx.world_size(); ++r) want += static_cast<double>(r * r) / ctx.world_size();
      EXPECT_DOUBLE_EQ(c.metric("mean_squared_error").value(), want) << round << big;
    }
  }
}

TEST(Mpi, MismatchedLengthsFailOnEveryRankAndTheContextStaysUsable) {
  MpiContext& ctx = context();
  {
    MetricCollection agreed = MetricCollection::from_specs({"mse"});
    all_reduce_metrics(agreed, ctx);  // the agreed layout: one MSE
  }
  // Rank 1 holds a longer state than the agreed one, the others the agreed one.
  MetricCollection c =
      ctx.global_rank() == 1 ? MetricCollection::from_specs({"mse", "mae"}) : MetricCollection::from_specs({"mse"});
  EXPECT_THROW(all_reduce_metrics(c, ctx), DistributedError);
  EXPECT_FALSE(ctx.failed());
  // Every rank with a different length from the agreed one, and from each other.
  MetricCollection d = ctx.global_rank() == 0 ? MetricCollection::from_specs({"mse", "mae"})
                                              : MetricCollection::from_specs({"mse", "mae", "mean"});
  EXPECT_THROW(all_reduce_metrics(d, ctx), DistributedError);
  MetricCollection ok = MetricCollection::from_specs({"mse"});
  ok.update_state(std::vector<double>{0.0}, std::vector<double>{static_cast<double>(ctx.global_rank())});
  all_reduce_metrics(ok, ctx);
  double want = 0.0;
  for (int r = 0; r < ctx.world_size(); ++r) want += static_cast<double>(r * r);
  EXPECT_DOUBLE_EQ(ok.metric("mean_squared_error").value(), want / ctx.world_size());
}

}  // namespace
}  // namespace tally

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  tally::context();  // MPI is initialised before any test, finalised at exit
  // Only rank 0 prints the report; every rank's failures still set the exit code.
  if (tally::context().global_rank() != 0) {
    delete testing::UnitTest::GetInstance()->listeners().Release(
        testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  std::vector<double> worst{static_cast<double>(rc)};
  tally::context().all_reduce_in_place(worst, tally::ReduceOp::kMax);
  return static_cast<int>(worst[0]);
}
