// Crossentropies against the read-only baseline over the same bytes: categorical and
// sparse categorical crossentropy from logits over 10 and 1000 classes (and from
// probabilities over 10), binary crossentropy over 1e7 float32 values (probabilities and logits), at 1 and 2 threads.
#include <tally/tally.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "baseline.h"
#include "metrics/kernels/simd_math.h"

namespace {

constexpr std::size_t kElements = 10'000'000;

// Fixed-seed logits in [-8, 8) and one-hot / integer labels, cached by class count.
struct Rows {
  std::vector<float> logits;
  std::vector<float> onehot;
  std::vector<std::int64_t> labels;
};

const Rows& rows_for(std::int64_t classes) {
  static std::map<std::int64_t, Rows> cache;
  Rows& r = cache[classes];
  if (r.logits.empty()) {
    const auto n = static_cast<std::int64_t>(kElements) / classes;
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<float> x(-8.0f, 8.0f);
    std::uniform_int_distribution<std::int64_t> label(0, classes - 1);
    r.logits.resize(static_cast<std::size_t>(n * classes));
    for (float& v : r.logits) v = x(rng);
    r.onehot.assign(r.logits.size(), 0.0f);
    r.labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      r.labels[static_cast<std::size_t>(i)] = label(rng);
      r.onehot[static_cast<std::size_t>(i * classes + r.labels[static_cast<std::size_t>(i)])] = 1.0f;
    }
  }
  return r;
}

void BM_CategoricalCrossentropyLogits(benchmark::State& state) {
  const std::int64_t classes = state.range(0);
  const Rows& r = rows_for(classes);
  const auto n = static_cast<std::int64_t>(r.labels.size());
  tally::set_num_threads(static_cast<int>(state.range(1)));
  tally::metrics::CategoricalCrossentropy m(true);
  const tally::TensorView yt(r.onehot, {n, classes});
  const tally::TensorView yp(r.logits, {n, classes});
  const std::size_t bytes = r.logits.size() * sizeof(float);
  tally::bench::run_against_baseline(state, {{r.onehot.data(), bytes}, {r.logits.data(), bytes}}, [&] {
    m.update_state(yt, yp);
    benchmark::DoNotOptimize(m.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_CategoricalCrossentropyLogits)
    ->Args({10, 1})
    ->Args({10, 2})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SparseCategoricalCrossentropyLogits(benchmark::State& state) {
  const std::int64_t classes = state.range(0);
  const Rows& r = rows_for(classes);
  const auto n = static_cast<std::int64_t>(r.labels.size());
  tally::set_num_threads(static_cast<int>(state.range(1)));
  tally::metrics::SparseCategoricalCrossentropy m(true);
  const tally::TensorView yt(r.labels);
  const tally::TensorView yp(r.logits, {n, classes});
  tally::bench::run_against_baseline(
      state,
      {{r.labels.data(), r.labels.size() * sizeof(std::int64_t)}, {r.logits.data(), r.logits.size() * sizeof(float)}},
      [&] {
        m.update_state(yt, yp);
        benchmark::DoNotOptimize(m.value());
      });
  tally::set_num_threads(0);
}
BENCHMARK(BM_SparseCategoricalCrossentropyLogits)
    ->Args({10, 1})
    ->Args({10, 2})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// SparseCategoricalCrossentropy from probabilities (Keras's default): the same labels, rows
// of positive scores (the logits mapped to (0, 1)), normalised by the metric as Keras does.
void BM_SparseCategoricalCrossentropyProbs(benchmark::State& state) {
  const std::int64_t classes = state.range(0);
  const Rows& r = rows_for(classes);
  const auto n = static_cast<std::int64_t>(r.labels.size());
  static std::map<std::int64_t, std::vector<float>> probs;
  std::vector<float>& p = probs[classes];
  if (p.empty()) {
    p.resize(r.logits.size());
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = (r.logits[i] + 8.0f) / 16.0f + 1e-3f;
  }
  tally::set_num_threads(static_cast<int>(state.range(1)));
  tally::metrics::SparseCategoricalCrossentropy m(false);
  const tally::TensorView yt(r.labels);
  const tally::TensorView yp(p, {n, classes});
  tally::bench::run_against_baseline(
      state, {{r.labels.data(), r.labels.size() * sizeof(std::int64_t)}, {p.data(), p.size() * sizeof(float)}}, [&] {
        m.update_state(yt, yp);
        benchmark::DoNotOptimize(m.value());
      });
  tally::set_num_threads(0);
}
BENCHMARK(BM_SparseCategoricalCrossentropyProbs)
    ->Args({10, 1})
    ->Args({10, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same 10-class SparseCategoricalCrossentropy(from_logits) on one thread, with the SIMD
// kernels pinned to each target this CPU supports (range(0) indexes available_targets():
// best first, the portable SCALAR fallback last): what runtime dispatch buys, in one run.
void BM_SparseCategoricalCrossentropyLogitsPerTarget(benchmark::State& state) {
  namespace simd = tally::metrics::kernels::simd;
  const std::vector<std::int64_t> targets = simd::available_targets();
  const auto index = static_cast<std::size_t>(state.range(0));
  if (index >= targets.size()) {
    state.SkipWithError("no such target on this CPU");
    return;
  }
  simd::restrict_targets_for_test(targets[index]);
  state.SetLabel(simd::target_name(targets[index]));
  const std::int64_t classes = 10;
  const Rows& r = rows_for(classes);
  const auto n = static_cast<std::int64_t>(r.labels.size());
  tally::set_num_threads(1);
  tally::metrics::SparseCategoricalCrossentropy m(true);
  const tally::TensorView yt(r.labels);
  const tally::TensorView yp(r.logits, {n, classes});
  tally::bench::run_against_baseline(
      state,
      {{r.labels.data(), r.labels.size() * sizeof(std::int64_t)}, {r.logits.data(), r.logits.size() * sizeof(float)}},
      [&] {
        m.update_state(yt, yp);
        benchmark::DoNotOptimize(m.value());
      });
  tally::set_num_threads(0);
  simd::restrict_targets_for_test(0);
}
BENCHMARK(BM_SparseCategoricalCrossentropyLogitsPerTarget)
    ->DenseRange(0, 3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Binary crossentropy over kElements float32 samples; range(1) = 1 reads the
// predictions as logits.
void BM_BinaryCrossentropy(benchmark::State& state) {
  const auto& y = tally::bench::binary_labels(kElements);
  const auto& p = tally::bench::uniform_floats(kElements);
  const bool logits = state.range(1) != 0;
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::metrics::BinaryCrossentropy m(logits);
  const std::size_t bytes = kElements * sizeof(float);
  tally::bench::run_against_baseline(state, {{y.data(), bytes}, {p.data(), bytes}}, [&] {
    m.update_state(y, p);
    benchmark::DoNotOptimize(m.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_BinaryCrossentropy)
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
