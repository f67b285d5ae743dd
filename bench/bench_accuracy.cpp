// Accuracy and regression metrics against the read-only baseline over the same bytes:
// elementwise metrics over 1e7 float32 pairs, row-wise ones over 10 and 1000 classes.
#include <tally/tally.h>

#include "baseline.h"

namespace {

using tally::bench::Buffer;

template <class M>
void elementwise(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& y = tally::bench::binary_labels(n);
  const auto& p = tally::bench::uniform_floats(n);
  tally::set_num_threads(static_cast<int>(state.range(1)));
  M metric;
  tally::bench::run_against_baseline(state, {Buffer{y.data(), n * 4}, Buffer{p.data(), n * 4}}, [&] {
    metric.update_state(y, p);
    benchmark::DoNotOptimize(metric.value());
  });
  tally::set_num_threads(0);
}

void BM_BinaryAccuracy(benchmark::State& s) { elementwise<tally::metrics::BinaryAccuracy>(s); }
void BM_MeanSquaredError(benchmark::State& s) { elementwise<tally::metrics::MeanSquaredError>(s); }
void BM_MeanAbsoluteError(benchmark::State& s) { elementwise<tally::metrics::MeanAbsoluteError>(s); }
BENCHMARK(BM_BinaryAccuracy)
    ->Args({10'000'000, 1})
    ->Args({10'000'000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_MeanSquaredError)
    ->Args({10'000'000, 1})
    ->Args({10'000'000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_MeanAbsoluteError)
    ->Args({10'000'000, 1})
    ->Args({10'000'000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Rows of `classes` float32 scores with integer labels; 1e7 scores in all.
template <class M, bool kSparse>
void rowwise(benchmark::State& state, M metric) {
  const auto classes = state.range(0);
  const auto rows = 10'000'000 / classes;
  const auto& scores = tally::bench::uniform_floats(static_cast<std::size_t>(rows * classes));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r)
    labels[static_cast<std::size_t>(r)] = static_cast<std::int32_t>((r * 7) % classes);
  std::vector<float> onehot;
  if (!kSparse) {
    onehot.assign(static_cast<std::size_t>(rows * classes), 0.0f);
    for (std::int64_t r = 0; r < rows; ++r)
      onehot[static_cast<std::size_t>(r * classes + labels[static_cast<std::size_t>(r)])] = 1.0f;
  }
  tally::set_num_threads(static_cast<int>(state.range(1)));
  const tally::TensorView p(scores.data(), tally::DType::kFloat32, {rows, classes});
  const tally::TensorView t =
      kSparse ? tally::TensorView(labels) : tally::TensorView(onehot.data(), tally::DType::kFloat32, {rows, classes});
  const std::size_t label_bytes = kSparse ? labels.size() * 4 : onehot.size() * 4;
  tally::bench::run_against_baseline(state, {Buffer{t.data(), label_bytes}, Buffer{scores.data(), scores.size() * 4}},
                                     [&] {
                                       metric.update_state(t, p);
                                       benchmark::DoNotOptimize(metric.value());
                                     });
  tally::set_num_threads(0);
}

void BM_CategoricalAccuracy(benchmark::State& s) {
  rowwise<tally::metrics::CategoricalAccuracy, false>(s, tally::metrics::CategoricalAccuracy());
}
void BM_SparseCategoricalAccuracy(benchmark::State& s) {
  rowwise<tally::metrics::SparseCategoricalAccuracy, true>(s, tally::metrics::SparseCategoricalAccuracy());
}
void BM_SparseTop5(benchmark::State& s) {
  rowwise<tally::metrics::SparseTopKCategoricalAccuracy, true>(s, tally::metrics::SparseTopKCategoricalAccuracy(5));
}
void BM_Top5(benchmark::State& s) {
  rowwise<tally::metrics::TopKCategoricalAccuracy, false>(s, tally::metrics::TopKCategoricalAccuracy(5));
}
BENCHMARK(BM_CategoricalAccuracy)
    ->Args({10, 1})
    ->Args({1000, 1})
    ->Args({10, 2})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SparseCategoricalAccuracy)
    ->Args({10, 1})
    ->Args({1000, 1})
    ->Args({10, 2})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Top5)
    ->Args({10, 1})
    ->Args({1000, 1})
    ->Args({10, 2})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SparseTop5)
    ->Args({10, 1})
    ->Args({1000, 1})
    ->Args({10, 2})
    ->Args({1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
