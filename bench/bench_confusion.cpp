// AUC and Precision/Recall against the read-only baseline over the same bytes (labels and
// scores): evenly spaced thresholds (bucketed), explicit lists (binary search), top_k.
#include <tally/tally.h>

#include "baseline.h"

namespace {

using tally::bench::Buffer;
using tally::bench::run_binary;

void BM_AUC200(benchmark::State& state) {
  tally::metrics::AUC auc;
  run_binary(state, auc);
}
BENCHMARK(BM_AUC200)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AUC1000Explicit(benchmark::State& state) {
  tally::metrics::AucOptions o;
  std::vector<double> t;
  for (int i = 0; i < 1000; ++i) t.push_back((i + 0.5) / 1000.0 * 0.999);  // uneven: binary search path
  t[0] = 0.0001;
  o.thresholds = t;
  tally::metrics::AUC auc(o);
  run_binary(state, auc);
}
BENCHMARK(BM_AUC1000Explicit)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AUC1e6(benchmark::State& state) {
  tally::metrics::AucOptions o;
  o.num_thresholds = 1'000'000;
  tally::metrics::AUC auc(o);
  run_binary(state, auc);
}
BENCHMARK(BM_AUC1e6)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PrecisionTopK(benchmark::State& state) {
  const std::int64_t classes = 10, rows = 1'000'000;
  const auto& p = tally::bench::uniform_floats(static_cast<std::size_t>(rows * classes));
  const auto& y = tally::bench::binary_labels(static_cast<std::size_t>(rows * classes), 9);
  tally::metrics::Precision precision(std::nullopt, 3);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  const tally::TensorView pv(p.data(), tally::DType::kFloat32, {rows, classes});
  const tally::TensorView yv(y.data(), tally::DType::kFloat32, {rows, classes});
  tally::bench::run_against_baseline(state, {Buffer{y.data(), p.size() * 4}, Buffer{p.data(), p.size() * 4}}, [&] {
    precision.update_state(yv, pv);
    benchmark::DoNotOptimize(precision.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_PrecisionTopK)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
