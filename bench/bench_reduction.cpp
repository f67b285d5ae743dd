// Mean and Sum over 1e7 float32 values, against the read-only baseline over the same bytes.
#include <tally/tally.h>

#include "baseline.h"

namespace {

void BM_ReadBaseline(benchmark::State& state) {
  const auto& x = tally::bench::uniform_floats(static_cast<std::size_t>(state.range(0)));
  tally::bench::run_against_baseline(state, x.data(), x.size() * sizeof(float),
                                     [&] { benchmark::DoNotOptimize(tally::bench::read_all(x.data(), x.size() * 4)); });
}
BENCHMARK(BM_ReadBaseline)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Mean(benchmark::State& state) {
  const auto& x = tally::bench::uniform_floats(static_cast<std::size_t>(state.range(0)));
  const int threads = static_cast<int>(state.range(1));
  tally::set_num_threads(threads);
  tally::metrics::Mean mean;
  tally::bench::run_against_baseline(state, x.data(), x.size() * sizeof(float), [&] {
    mean.update_state(x);
    benchmark::DoNotOptimize(mean.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_Mean)->Args({10'000'000, 1})->Args({10'000'000, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WeightedMean(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& x = tally::bench::uniform_floats(n);
  const auto& w = tally::bench::uniform_floats(n, 3);
  tally::set_num_threads(1);
  tally::metrics::Mean mean;
  tally::bench::run_against_baseline(state, {{x.data(), n * sizeof(float)}, {w.data(), n * sizeof(float)}}, [&] {
    mean.update_state(x, w);
    benchmark::DoNotOptimize(mean.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_WeightedMean)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MeanSmallBatch(benchmark::State& state) {
  const std::vector<double> x{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  tally::metrics::Mean mean;
  for (auto _ : state) mean.update_state(x);
  benchmark::DoNotOptimize(mean.value());
}
BENCHMARK(BM_MeanSmallBatch);

}  // namespace
