// Near-exact AUC (1e5 and 1e6 evenly spaced thresholds) on 1e7 rows of float32 and float64
// labels and scores, on 1 and 2 threads: samples/s and the fraction of the read-only
// baseline over the same bytes. The thresholds' histogram is larger than L2 at 1e6, so this
// measures the radix-partitioned counting of src/metrics/kernels/confusion_counts.cpp
// (docs/performance.md, "AUC with many thresholds").
#include <tally/tally.h>

#include "baseline.h"

namespace {

using tally::bench::Buffer;

template <class T>
const std::vector<T>& as(const std::vector<float>& v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    static std::map<const void*, std::vector<T>> cache;
    auto& out = cache[v.data()];
    if (out.empty()) out.assign(v.begin(), v.end());
    return out;
  }
}

// state.range(0): thresholds, range(1): threads.
template <class T>
void BM_AUCThresholds(benchmark::State& state) {
  const std::size_t n = 10'000'000;
  const auto& y = as<T>(tally::bench::binary_labels(n));
  const auto& p = as<T>(tally::bench::uniform_floats(n));
  tally::metrics::AucOptions o;
  o.num_thresholds = state.range(0);
  tally::metrics::AUC auc(o);
  tally::set_num_threads(static_cast<int>(state.range(1)));
  tally::bench::run_against_baseline(state, {Buffer{y.data(), n * sizeof(T)}, Buffer{p.data(), n * sizeof(T)}}, [&] {
    auc.update_state(y, p);
    benchmark::DoNotOptimize(auc.value());
  });
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  tally::set_num_threads(0);
}
BENCHMARK(BM_AUCThresholds<float>)
    ->ArgsProduct({{100'000, 1'000'000}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_AUCThresholds<double>)
    ->ArgsProduct({{100'000, 1'000'000}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
