// DistributedContext and all_reduce_metrics, run with NotDistributedContext and with an
// in-process context of 3 worker threads (the same bodies run under mpirun in tests/mpi).
#include "tally/distributed.h"

#include <gtest/gtest.h>

#include "support/random_inputs.h"
#include "support/thread_context.h"
#include "tally/metrics/confusion.h"
#include "tally/metrics/reduction.h"
#include "tally/registry.h"

namespace tally {
namespace {

const std::vector<std::string> kSpecs = {"binary_accuracy",
                                         "mse",
                                         "mae",
                                         "r2_score",
                                         "pearson_correlation",
                                         "sparse_categorical_accuracy",
                                         R"({"class_name": "Mean", "config": {"name": "mean_pred"}})"};

// Row shards of one data set: rank r evaluates distribute_range(n) of it.
void evaluate_shard(DistributedContext& ctx, MetricCollection& c, const Tensor& y, const Tensor& p) {
  const auto [begin, end] = ctx.distribute_range(y.shape()[0]);
  if (end > begin) c.update_state(y.view().slice_rows(begin, end), p.view().slice_rows(begin, end));
}

TEST(Distributed, RangesAndValuesFollowPfl) {
  testing::run_workers(2, [](DistributedContext& ctx) {
    const auto [b, e] = ctx.distribute_range(5);
    EXPECT_EQ(b, ctx.global_rank() == 0 ? 0 : 3);
    EXPECT_EQ(e, ctx.global_rank() == 0 ? 3 : 5);
    EXPECT_EQ(ctx.distribute_value(5), ctx.global_rank() == 0 ? 3 : 2);
    EXPECT_EQ(ctx.distribute_value(1), ctx.global_rank() == 0 ? 1 : 0);  // n < world size
    EXPECT_EQ(ctx.distribute_value(2), 1);                               // n == world size
  });
  NotDistributedContext one;
  EXPECT_EQ(one.distribute_range(7), (std::pair<std::int64_t, std::int64_t>{0, 7}));
  EXPECT_THROW(one.distribute_range(-1), InvalidArgument);
}

TEST(Distributed, AllReduceOfTensorsSumsAndAverages) {
  testing::run_workers(3, [](DistributedContext& ctx) {
    const double r = ctx.global_rank();
    const std::vector<Tensor> out =
        ctx.all_reduce({Tensor::scalar(r), Tensor::from_vector(std::vector<double>{r, 2 * r})}, false);
    EXPECT_DOUBLE_EQ(out[0].item(), 3.0);
    EXPECT_EQ(out[1].to_doubles(), (std::vector<double>{3.0, 6.0}));
    const std::vector<Tensor> avg = ctx.all_reduce({Tensor::scalar(r)}, true);
    EXPECT_DOUBLE_EQ(avg[0].item(), 1.0);
    std::vector<double> b{r == 1 ? 42.0 : 0.0};
    ctx.broadcast(b, 1);
    EXPECT_DOUBLE_EQ(b[0], 42.0);
    EXPECT_EQ(ctx.all_gather(std::vector<double>{r}), (std::vector<double>{0, 1, 2}));
  });
}

TEST(Distributed, AllReduceMetricsEqualsOneProcessOnAllData) {
  const std::int64_t n = 997;  // uneven shards over 3 workers
  const Tensor y = testing::random_labels({n}, 1, 2, DType::kFloat64);
  const Tensor p = testing::random_uniform({n}, 2);
  MetricCollection single = MetricCollection::from_specs({"binary_accuracy", "mse", "mae", "pearson_correlation"});
  single.update_state(y, p);
  testing::run_workers(3, [&](DistributedContext& ctx) {
    MetricCollection c = MetricCollection::from_specs({"binary_accuracy", "mse", "mae", "pearson_correlation"});
    evaluate_shard(ctx, c, y, p);
    all_reduce_metrics(c, ctx);
    const auto got = c.result(), want = single.result();
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i].second.item(), want[i].second.item(), 1e-12 * std::max(1.0, std::fabs(want[i].second.item())))
          << got[i].first;
    }
  });
}

TEST(Distributed, ARankWithNoSamplesAndMinMaxVariables) {
  testing::run_workers(3, [](DistributedContext& ctx) {
    metrics::LambdaMetric extremes(
        "extremes",
        {{"lo", {}, DType::kFloat64, Aggregation::kMin},
         {"hi", {}, DType::kFloat64, Aggregation::kMax},
         {"n", {}, DType::kInt64, Aggregation::kSum}},
        [](Variables& v, const Batch& b) {
          for (std::int64_t i = 0; i < b.y_pred.numel(); ++i) {
            v.f64(0)[0] = std::min(v.f64(0)[0], b.y_pred.value_at(i));
            v.f64(1)[0] = std::max(v.f64(1)[0], b.y_pred.value_at(i));
          }
          v.i64(2)[0] += b.y_pred.numel();
        },
        [](const Variables& v) {
          return Tensor::from_vector(std::vector<double>{v.f64(0)[0], v.f64(1)[0]});
        });
    if (ctx.global_rank() == 0) extremes.update_state({}, std::vector<double>{3.0, -1.0});
    if (ctx.global_rank() == 2) extremes.update_state({}, std::vector<double>{7.0});
    // rank 1 saw nothing: its identity values (+inf, -inf, 0) leave the result unchanged
    all_reduce_metrics(extremes, ctx);
    EXPECT_EQ(extremes.result().to_doubles(), (std::vector<double>{-1.0, 7.0}));
    EXPECT_EQ(extremes.variable_values().i64(2)[0], 3);
  });
}

// Variables that meet in storage but not in the packed buffer, and the reverse: all_reduce_metrics
// copies runs of float64 variables of one metric at once (src/distributed/distributed.cpp), and
// must not join across an int64 variable, an empty one, an aggregation or another metric.
std::unique_ptr<Metric> runs_metric(const std::string& name, double r) {
  const VariableLayout layout{
      {"a", {2}, DType::kFloat64, Aggregation::kSum}, {"b", {}, DType::kFloat64, Aggregation::kSum},
      {"c", {}, DType::kInt64, Aggregation::kSum},    {"d", {3}, DType::kFloat64, Aggregation::kSum},
      {"e", {}, DType::kFloat64, Aggregation::kMin},  {"f", {0}, DType::kFloat64, Aggregation::kSum},
      {"g", {2}, DType::kFloat64, Aggregation::kMax}, {"h", {}, DType::kFloat64, Aggregation::kSum}};
  auto m = std::make_unique<metrics::LambdaMetric>(
      name, layout, [](Variables&, const Batch&) {}, [](const Variables& v) { return Tensor::scalar(v.f64(0)[0]); });
  Variables v = m->variable_values();
  v.f64(0)[0] = r;
  v.f64(0)[1] = 10 * r;
  v.f64(1)[0] = 100 * r;
  v.i64(2)[0] = static_cast<std::int64_t>(r) + 1;
  for (int k = 0; k < 3; ++k) v.f64(3)[static_cast<std::size_t>(k)] = r + k;
  v.f64(4)[0] = 5 - r;
  v.f64(6)[0] = r;
  v.f64(6)[1] = -r;
  v.f64(7)[0] = 1000 * r;
  m->set_variable_values(v);
  return m;
}

// The values every rank holds after reducing runs_metric(name, k * rank) over `world` ranks.
std::vector<double> runs_reduced(int world, double k) {
  double s = 0.0;
  for (int r = 0; r < world; ++r) s += k * r;
  const double w = world;
  return {s, 10 * s, 100 * s, s + w, s, s + w, s + 2 * w, 5.0 - k * (w - 1), k * (w - 1), 0.0, 1000 * s};
}

TEST(Distributed, RunsOfVariablesReduceEachToItsOwnPlace) {
  for (const int world : {1, 3}) {
    testing::run_workers(world, [&](DistributedContext& ctx) {
      const double r = ctx.global_rank();
      std::unique_ptr<Metric> one, two;
      // Twice over the same metrics (the second call reuses the plan), then over new ones.
      for (int call = 0; call < 3; ++call) {
        if (call != 1) {
          one = runs_metric("one", r);
          two = runs_metric("two", 2 * r);
        } else {
          one->set_variable_values(runs_metric("one", r)->variable_values());
          two->set_variable_values(runs_metric("two", 2 * r)->variable_values());
        }
        Metric* both[2] = {one.get(), two.get()};
        all_reduce_metrics(both, ctx);
        EXPECT_EQ(one->to_vector(), runs_reduced(ctx.world_size(), 1.0)) << call << " rank " << r;
        EXPECT_EQ(two->to_vector(), runs_reduced(ctx.world_size(), 2.0)) << call << " rank " << r;
      }
    });
  }
  // The packed path (NotDistributedContext reduces the packed buffer as itself).
  NotDistributedContext alone;
  const std::unique_ptr<Metric> m = runs_metric("alone", 3.0);
  const std::vector<double> before = m->to_vector();
  all_reduce_metrics(*m, alone);
  all_reduce_metrics(*m, alone);
  EXPECT_EQ(m->to_vector(), before);
  EXPECT_EQ(before, (std::vector<double>{3, 30, 300, 4, 3, 4, 5, 2, 3, -3, 3000}));
}

TEST(Distributed, MismatchedLayoutsFailOnEveryRank) {
  std::atomic<int> failures{0};
  testing::run_workers(3, [&](DistributedContext& ctx) {
    MetricCollection c =
        ctx.global_rank() == 1 ? MetricCollection::from_specs({"mae"}) : MetricCollection::from_specs({"mse"});
    try {
      all_reduce_metrics(c, ctx);
    } catch (const DistributedError& e) {
      EXPECT_NE(std::string(e.what()).find("ranks hold different metrics"), std::string::npos);
      ++failures;
    }
  });
  EXPECT_EQ(failures.load(), 3);
}

TEST(Distributed, NotDistributedIsTheIdentity) {
  NotDistributedContext ctx;
  MetricCollection c = MetricCollection::from_specs(kSpecs);
  const Tensor y = testing::random_labels({50}, 3, 3, DType::kFloat64);
  MetricCollection only = MetricCollection::from_specs({"mse", "mean"});
  only.update_state(y, testing::random_uniform({50}, 4));
  const auto before = only.to_vector();
  all_reduce_metrics(only, ctx);
  EXPECT_EQ(before, only.to_vector());
  EXPECT_EQ(ctx.world_size(), 1);
  EXPECT_NE(layout_hash(std::vector<const Metric*>{&c.metric("mean_squared_error")}),
            layout_hash(std::vector<const Metric*>{&c.metric("mean_absolute_error")}));
}

// A transport of two identical ranks: sums double, min and max keep the values. Its
// collectives run while all_reduce_metrics holds no metric lock, so they may use the metrics.
class TwinContext final : public DistributedContext {
 public:
  explicit TwinContext(const Metric* watched = nullptr) : watched_(watched) {}
  int local_rank() const override { return 0; }
  int global_rank() const override { return 0; }
  int world_size() const override { return 2; }
  int local_size() const override { return 2; }
  void all_reduce_in_place(std::span<double> buffer, ReduceOp op) override {
    if (watched_ != nullptr) seen_ = watched_->to_vector();  // takes the metric's lock
    if (op == ReduceOp::kSum) {
      for (double& x : buffer) x *= 2;
    }
  }
  void broadcast(std::span<double> /*buffer*/, int /*root*/) override {}
  std::vector<double> all_gather(std::span<const double> local) override {
    std::vector<double> out(local.begin(), local.end());
    out.insert(out.end(), local.begin(), local.end());
    return out;
  }
  void barrier() override {}
  std::vector<double> seen_;

 private:
  const Metric* watched_;
};

TEST(Distributed, PacksInPlaceAndChangesNothingOnFailure) {
  // The same metric twice in one list: locked once (no deadlock), both copies reduce to the
  // same sums, written back twice.
  metrics::AucOptions three;
  three.num_thresholds = 3;
  metrics::AUC auc(three);
  auc.update_state(std::vector<double>{1, 0, 1}, std::vector<double>{0.9, 0.2, 0.4});
  const std::vector<double> before = auc.to_vector();
  TwinContext twin(&auc);
  Metric* twice[2] = {&auc, &auc};
  all_reduce_metrics(twice, twin);
  EXPECT_EQ(twin.seen_.size(), before.size());  // the transport could read the metric
  std::vector<double> want = before;
  for (double& x : want) x *= 2;
  EXPECT_EQ(auc.to_vector(), want);
  // A merged int64 count past 2^53 throws before anything is written, in every metric.
  const std::unique_ptr<Metric> mse = metrics::get("mse");
  Metric& mean = *mse;
  mean.update_state(std::vector<double>{1, 2}, std::vector<double>{1, 3});
  std::vector<double> huge = auc.to_vector();
  huge[0] = 4503599627370497.0;  // 2^52 + 1: doubled it passes 2^53
  auc.from_vector(huge);
  const std::vector<double> auc_before = auc.to_vector(), mean_before = mean.to_vector();
  Metric* both[2] = {&mean, &auc};
  TwinContext plain;
  EXPECT_THROW(all_reduce_metrics(both, plain), StateError);
  EXPECT_EQ(auc.to_vector(), auc_before);
  EXPECT_EQ(mean.to_vector(), mean_before);
}

// A transport whose collective fails with the operation still in flight (MpiContext after a
// timeout: MPI cannot cancel a non-blocking collective, and a stalled rank that arrives
// later completes it) may write into the buffer it was given after the error. The buffers of
// that call must then never be freed or reused: here a later call on the same thread needs a
// far larger buffer, and the late write lands after it. Under AddressSanitizer (the
// sanitizer pass) a freed buffer makes the late write a heap-use-after-free.
TEST(Distributed, FailedCollectiveBuffersAreNeverReused) {
  class InFlight final : public DistributedContext {
   public:
    int local_rank() const override { return 0; }
    int global_rank() const override { return 0; }
    int world_size() const override { return 1; }
    int local_size() const override { return 1; }
    void all_reduce_in_place(std::span<double> /*buffer*/, ReduceOp /*op*/) override {}
    void broadcast(std::span<double> /*buffer*/, int /*root*/) override {}
    std::vector<double> all_gather(std::span<const double> local) override { return {local.begin(), local.end()}; }
    void barrier() override {}
    bool fail = false;
    std::span<double> pending;  // the buffer of the collective left in flight

   protected:
    bool all_reduce_regions(std::span<double> buffer, std::size_t /*min_count*/, std::size_t /*sum_count*/) override {
      if (!fail) return true;  // a world of one: already reduced
      pending = buffer;
      throw DistributedError("test transport: timed out with the collective in flight");
    }
  };
  const std::unique_ptr<Metric> small = metrics::get("mse");
  small->update_state(std::vector<double>{1, 2}, std::vector<double>{1, 3});
  const std::vector<double> small_before = small->to_vector();
  InFlight transport;
  all_reduce_metrics(*small, transport);  // agrees on the layout: the next call is one packed collective
  transport.fail = true;
  EXPECT_THROW(all_reduce_metrics(*small, transport), DistributedError);
  EXPECT_EQ(small->to_vector(), small_before);
  ASSERT_FALSE(transport.pending.empty());
  // A later reduction on this thread whose packed buffer is far larger than the first.
  const std::unique_ptr<Metric> large = metrics::get(R"({"class_name": "AUC", "config": {"num_thresholds": 20000}})");
  large->update_state(std::vector<double>{1, 0, 1}, std::vector<double>{0.9, 0.2, 0.4});
  const std::vector<double> large_before = large->to_vector();
  NotDistributedContext single;
  all_reduce_metrics(*large, single);
  // The collective of the failed call completes now and writes its result.
  std::fill(transport.pending.begin(), transport.pending.end(), -7.0);
  EXPECT_EQ(large->to_vector(), large_before);
  all_reduce_metrics(*large, single);  // the thread's buffers still work
  EXPECT_EQ(large->to_vector(), large_before);
}

}  // namespace
}  // namespace tally
