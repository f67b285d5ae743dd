// F1Score over 10 classes: 1e6 rows x 10 float32 scores (argmax rule and threshold) and
// float32 one-hot labels, at 1 and 2 threads, against the read-only baseline over the
// same bytes (y_true and y_pred: two streams). BM_F1ScoreIds: F1Score(macro, num_classes=10)
// from int32 class ids against 1e6 x 10 float32 scores, or 1e7 int32 ids against int32 predicted ids, counted from the
// ids ("ids") and, for comparison in the same run, as the one-hot rows the metric built before
// (docs/performance.md, "Confusion-derived metrics on one thread").
#include <tally/tally.h>

#include <map>
#include <random>
#include <vector>

#include "baseline.h"
#include "metrics/kernels/class_confusion.h"

namespace {

constexpr std::int64_t kRows = 1'000'000;
constexpr std::int64_t kClasses = 10;

const std::vector<float>& one_hot_labels() {
  static std::vector<float> v;
  if (v.empty()) {
    std::mt19937_64 rng(5);
    v.assign(static_cast<std::size_t>(kRows * kClasses), 0.0f);
    for (std::int64_t i = 0; i < kRows; ++i)
      v[static_cast<std::size_t>(i * kClasses + static_cast<std::int64_t>(rng() % kClasses))] = 1.0f;
  }
  return v;
}

void BM_F1Score(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(kRows * kClasses);
  const auto& p = tally::bench::uniform_floats(n);
  const auto& y = one_hot_labels();
  const int threads = static_cast<int>(state.range(0));
  const bool argmax = state.range(1) == 0;
  tally::set_num_threads(threads);
  tally::metrics::F1Score f1(tally::metrics::FScoreAverage::kMacro, argmax ? std::nullopt : std::optional<double>(0.5));
  const tally::TensorView yt(y.data(), tally::DType::kFloat32, {kRows, kClasses});
  const tally::TensorView yp(p.data(), tally::DType::kFloat32, {kRows, kClasses});
  tally::bench::run_against_baseline(
      state, p.data(), p.size() * sizeof(float),
      [&] {
        f1.update_state(yt, yp);
        benchmark::DoNotOptimize(f1.value());
      },
      2);
  state.SetLabel(argmax ? "argmax" : "threshold 0.5");
  tally::set_num_threads(0);
}
BENCHMARK(BM_F1Score)
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Args: threads, y_pred (0: [N, 10] float32 scores, 1: int32 ids), path (0: the former
// one-hot rows, built with the same kernels the metric used; 1: counted from the ids).
void BM_F1ScoreIds(benchmark::State& state) {
  const bool scores = state.range(1) == 0;
  const bool direct = state.range(2) == 1;
  const auto& p = tally::bench::uniform_floats(static_cast<std::size_t>(kRows * kClasses));
  const std::int64_t rows = scores ? kRows : 10 * kRows;
  const auto& y = tally::bench::class_ids(1, rows, kClasses);
  const auto& pid = tally::bench::class_ids(2, rows, kClasses);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::metrics::F1Score f1(tally::metrics::FScoreAverage::kMacro, std::nullopt, "f1", tally::DType::kFloat32,
                             kClasses);
  const tally::TensorView yt(y.data(), tally::DType::kInt32, {rows});
  const tally::TensorView yp = scores ? tally::TensorView(p.data(), tally::DType::kFloat32, {rows, kClasses})
                                      : tally::TensorView(pid.data(), tally::DType::kInt32, {rows});
  namespace k = tally::metrics::kernels;
  const std::size_t pred_bytes = scores ? p.size() * sizeof(float) : pid.size() * sizeof(std::int32_t);
  tally::bench::run_against_baseline(
      state, {{y.data(), y.size() * sizeof(std::int32_t)}, {yp.data(), pred_bytes}}, [&] {
        if (direct) {
          f1.update_state(yt, yp);
        } else {
          const tally::Tensor t = k::one_hot_ids("bench", "y_true", yt, kClasses);
          const tally::Tensor q =
              scores ? k::one_hot_argmax("bench", "y_pred", yp) : k::one_hot_ids("bench", "y_pred", yp, kClasses);
          f1.update_state(t.view(), q.view());
        }
        benchmark::DoNotOptimize(f1.value());
      });
  state.SetLabel(std::string(scores ? "ids + scores, " : "ids + ids, ") + (direct ? "ids" : "one-hot rows"));
  tally::set_num_threads(0);
}
BENCHMARK(BM_F1ScoreIds)
    ->Args({1, 0, 0})
    ->Args({1, 0, 1})
    ->Args({1, 1, 0})
    ->Args({1, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
