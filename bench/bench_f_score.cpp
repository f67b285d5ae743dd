// F1Score over 10 classes: 1e6 rows x 10 float32 scores (argmax rule and threshold) and
// float32 one-hot labels, at 1 and 2 threads, against the read-only baseline over the
// same bytes (y_true and y_pred: two streams).
#include <tally/tally.h>

#include <random>
#include <vector>

#include "baseline.h"

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

}  // namespace
