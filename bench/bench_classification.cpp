// The classification family (one shared count table, src/metrics/kernels/class_confusion.cpp)
// against the read-only baseline over the same bytes: binary probabilities (MCC), predicted
// ids against labels (ConfusionMatrix, 21 classes), [N, 10] scores (argmax) and a collection
// of four metrics that counts each batch once.
#include <tally/tally.h>

#include "baseline.h"

namespace {

using tally::bench::Buffer;
using tally::bench::run_binary;

void BM_MCCBinary(benchmark::State& state) {
  tally::metrics::MatthewsCorrelationCoefficient mcc;
  run_binary(state, mcc);
}
BENCHMARK(BM_MCCBinary)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ConfusionMatrixIds21(benchmark::State& state) {
  const std::size_t n = 10'000'000;
  const auto& y = tally::bench::class_ids(1, static_cast<std::int64_t>(n), 21);
  const auto& p = tally::bench::class_ids(2, static_cast<std::int64_t>(n), 21);
  tally::metrics::ConfusionMatrixOptions o;
  o.num_classes = 21;
  tally::metrics::ConfusionMatrix cm(o);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::bench::run_against_baseline(state, {Buffer{y.data(), n * 4}, Buffer{p.data(), n * 4}}, [&] {
    cm.update_state(y, p);
    benchmark::DoNotOptimize(cm.result());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_ConfusionMatrixIds21)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CohenKappaScores10(benchmark::State& state) {
  const std::int64_t rows = 1'000'000, classes = 10;
  const auto& y = tally::bench::class_ids(3, rows, classes);
  const auto& p = tally::bench::uniform_floats(static_cast<std::size_t>(rows * classes));
  tally::metrics::CohenKappaOptions o;
  o.num_classes = classes;
  tally::metrics::CohenKappa kappa(o);
  const tally::TensorView pv(p.data(), tally::DType::kFloat32, {rows, classes});
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::bench::run_against_baseline(state, {Buffer{y.data(), y.size() * 4}, Buffer{p.data(), p.size() * 4}}, [&] {
    kappa.update_state(y, pv);
    benchmark::DoNotOptimize(kappa.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_CohenKappaScores10)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FourMetricsOneCount(benchmark::State& state) {
  // MCC, kappa, balanced accuracy and specificity in a collection: one count per batch.
  const std::size_t n = 10'000'000;
  const auto& y = tally::bench::binary_labels(n);
  const auto& p = tally::bench::uniform_floats(n);
  tally::MetricCollection metrics;
  metrics.add(std::make_unique<tally::metrics::MatthewsCorrelationCoefficient>());
  metrics.add(std::make_unique<tally::metrics::CohenKappa>());
  metrics.add(std::make_unique<tally::metrics::BalancedAccuracy>());
  metrics.add(std::make_unique<tally::metrics::Specificity>());
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::bench::run_against_baseline(state, {Buffer{y.data(), n * 4}, Buffer{p.data(), n * 4}}, [&] {
    metrics.update_state(y, p);
    benchmark::DoNotOptimize(metrics.result());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_FourMetricsOneCount)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
