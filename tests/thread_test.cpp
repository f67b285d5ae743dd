// The thread contract of include/tally/metric.h and collection.h (docs/reliability.md):
// several threads updating, reading, merging and resetting one metric or one collection
// lose nothing and never see half a batch. Also run under ThreadSanitizer by
// scripts/test-sanitizers.sh.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "tally/tally.h"

namespace tally {
namespace {

constexpr int kThreads = 4;
constexpr int kBatches = 300;
constexpr int kRows = 64;

// Runs body(thread index) on kThreads threads and, meanwhile, reader() in a loop on one more.
template <class Body, class Reader>
void run_with_reader(Body body, Reader reader) {
  std::atomic<bool> done{false};
  std::thread reading([&] {
    while (!done.load()) reader();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (std::thread& t : threads) t.join();
  done.store(true);
  reading.join();
}

TEST(Threads, MeanCountsEveryRow) {
  metrics::Mean mean;
  const std::vector<double> ones(kRows, 1.0);
  std::atomic<int> bad_reads{0};
  run_with_reader(
      [&](int) {
        for (int b = 0; b < kBatches; ++b) mean.update_state(ones);
      },
      [&] {
        // Every batch is all ones: any value but 1 (or 0 before the first) is a torn read.
        const double v = mean.value();
        if (v != 1.0 && v != 0.0) ++bad_reads;
        const std::vector<double> state = mean.to_vector();
        if (state[0] != state[1]) ++bad_reads;  // total == count when every value is 1
      });
  EXPECT_EQ(bad_reads.load(), 0);
  const std::vector<double> state = mean.to_vector();
  EXPECT_EQ(state[1], double{kThreads} * kBatches * kRows);  // exact: not one row lost
  EXPECT_EQ(state[0], state[1]);
}

TEST(Threads, AucAndF1ScoreMatchASerialRun) {
  auto auc = metrics::get(R"({"class_name":"AUC","config":{"num_thresholds":50}})");
  auto f1 = metrics::get(R"({"class_name":"F1Score","config":{"threshold":0.5}})");
  auto serial_auc = auc->clone();
  auto serial_f1 = f1->clone();
  // Thread t's batches: labels alternate, scores depend on t and the batch.
  auto batch = [](int t, int b, std::vector<double>& y, std::vector<double>& p) {
    y.resize(kRows);
    p.resize(kRows);
    for (int i = 0; i < kRows; ++i) {
      y[i] = (i + b) % 2;
      p[i] = std::fmod(0.37 * (i + 1) + 0.11 * t + 0.013 * b, 1.0);
    }
  };
  std::vector<double> y, p;
  for (int t = 0; t < kThreads; ++t) {
    for (int b = 0; b < kBatches; ++b) {
      batch(t, b, y, p);
      serial_auc->update_state(TensorView(y.data(), DType::kFloat64, {kRows, 1}),
                               TensorView(p.data(), DType::kFloat64, {kRows, 1}));
      serial_f1->update_state(TensorView(y.data(), DType::kFloat64, {kRows, 1}),
                              TensorView(p.data(), DType::kFloat64, {kRows, 1}));
    }
  }
  std::atomic<int> bad_reads{0};
  run_with_reader(
      [&](int t) {
        std::vector<double> ty, tp;
        for (int b = 0; b < kBatches; ++b) {
          batch(t, b, ty, tp);
          auc->update_state(TensorView(ty.data(), DType::kFloat64, {kRows, 1}),
                            TensorView(tp.data(), DType::kFloat64, {kRows, 1}));
          f1->update_state(TensorView(ty.data(), DType::kFloat64, {kRows, 1}),
                           TensorView(tp.data(), DType::kFloat64, {kRows, 1}));
        }
      },
      [&] {
        const double a = auc->value();
        if (!(a >= 0.0 && a <= 1.0)) ++bad_reads;
        (void)f1->result();
        (void)auc->state().result();
      });
  EXPECT_EQ(bad_reads.load(), 0);
  // Counts are integers and sums of the same values: equal whatever the order.
  EXPECT_EQ(auc->to_vector(), serial_auc->to_vector());
  EXPECT_EQ(f1->to_vector(), serial_f1->to_vector());
  EXPECT_DOUBLE_EQ(auc->value(), serial_auc->value());
}

TEST(Threads, CollectionUpdatesResultsAndMerges) {
  MetricCollection c = MetricCollection::from_specs({"mean_squared_error", "binary_accuracy", "auc"});
  MetricCollection other = c;
  const std::vector<double> y(kRows, 1.0), p(kRows, 0.75);
  std::atomic<int> bad_reads{0};
  run_with_reader(
      [&](int t) {
        for (int b = 0; b < kBatches; ++b) {
          if (t == 0 && b % 50 == 0) {
            MetricCollection copy = c;  // copies under the lock
            (void)copy.to_vector();
          }
          (t % 2 == 0 ? c : other).update_state(y, p);
        }
      },
      [&] {
        for (const auto& [name, value] : c.result()) {
          if (name == "mean_squared_error" && value.item() != 0.0625 && value.item() != 0.0) ++bad_reads;
        }
        (void)c.state().to_vector();
      });
  EXPECT_EQ(bad_reads.load(), 0);
  c.merge_state(other);
  const std::vector<double> state = c.to_vector();
  EXPECT_EQ(state[1], double{kThreads} * kBatches * kRows);  // mse count: every row of both
  EXPECT_DOUBLE_EQ(c.metric("mean_squared_error").value(), 0.0625);
}

TEST(Threads, MergesInBothDirectionsAndResetsDoNotDeadlock) {
  metrics::Mean a, b;
  const std::vector<double> ones(8, 1.0);
  a.update_state(ones);
  b.update_state(ones);
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) a.merge_state(b);  // sums double: 400 doublings stay finite
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) b.merge_state(a);
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) {
      const Metric* both[] = {&a, &b};
      metrics::Mean c;
      c.merge_state(both);
      if (c.value() != 1.0) ADD_FAILURE() << "torn merge";
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_DOUBLE_EQ(a.value(), 1.0);
  a.merge_state(a);  // into itself: doubles the sums, no self-deadlock
  EXPECT_DOUBLE_EQ(a.value(), 1.0);
  std::thread resetting([&] {
    for (int i = 0; i < 500; ++i) a.reset_state();
  });
  for (int i = 0; i < 500; ++i) a.update_state(ones);
  resetting.join();
  const std::vector<double> state = a.to_vector();
  EXPECT_EQ(state[0], state[1]);  // whole batches only
}

}  // namespace
}  // namespace tally
