// BootstrapInterval(BinaryAccuracy): (row × resample) updates per second, the figure of
// docs/performance.md ("BootstrapInterval"). The counter "row_resamples/s" is rows ×
// num_resamples / wall time; with 1 thread it is the per-core rate.
#include <tally/tally.h>

#include "baseline.h"

namespace {

void BM_BootstrapBinaryAccuracy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::int64_t resamples = state.range(1);
  const auto& y = tally::bench::binary_labels(n);
  const auto& p = tally::bench::uniform_floats(n);
  tally::set_num_threads(static_cast<int>(state.range(2)));
  tally::metrics::BootstrapInterval metric(tally::Json("binary_accuracy"), resamples);
  for (auto _ : state) {
    metric.update_state(y, p);
    benchmark::DoNotOptimize(metric.variable_values().f64(0)[1]);
  }
  tally::set_num_threads(0);
  state.counters["row_resamples/s"] = benchmark::Counter(static_cast<double>(n) * static_cast<double>(resamples),
                                                         benchmark::Counter::kIsIterationInvariantRate);
}

// 1000 resamples on 1 and 2 threads; 8 resamples shows the fixed cost per row (the wrapped
// update and the per-row contributions) that many resamples amortize.
BENCHMARK(BM_BootstrapBinaryAccuracy)
    ->Args({1'000'000, 1000, 1})
    ->Args({1'000'000, 1000, 2})
    ->Args({1'000'000, 8, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
