// MeanIoU over 21 classes (PASCAL VOC's count): 1e7 int32 sparse labels and predictions,
// and 1e6 rows of 21 float32 scores reduced by argmax, at 1 and 2 threads, against the
// read-only baseline over the same bytes.
#include <tally/tally.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "baseline.h"

namespace {

constexpr std::int64_t kClasses = 21;

const std::vector<std::int32_t>& sparse_ids(std::size_t n, unsigned seed) {
  static std::map<std::pair<std::size_t, unsigned>, std::vector<std::int32_t>> cache;
  auto& v = cache[{n, seed}];
  if (v.empty()) {
    std::mt19937_64 rng(seed);
    v.resize(n);
    for (auto& x : v) x = static_cast<std::int32_t>(rng() % kClasses);
  }
  return v;
}

void BM_MeanIoUSparse(benchmark::State& state) {
  const std::size_t n = 10'000'000;
  const auto& t = sparse_ids(n, 1);
  const auto& p = sparse_ids(n, 2);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::metrics::MeanIoU m(kClasses);
  tally::bench::run_against_baseline(
      state, t.data(), t.size() * sizeof(std::int32_t),
      [&] {
        m.update_state(t, p);
        benchmark::DoNotOptimize(m.value());
      },
      2);
  tally::set_num_threads(0);
}
BENCHMARK(BM_MeanIoUSparse)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Scores then labels in one buffer, so the baseline reads exactly the bytes the metric reads.
const std::vector<std::uint32_t>& scores_and_labels(std::int64_t rows) {
  static std::vector<std::uint32_t> buffer;
  if (buffer.empty()) {
    const auto n = static_cast<std::size_t>(rows * kClasses);
    const auto& scores = tally::bench::uniform_floats(n);
    const auto& labels = sparse_ids(static_cast<std::size_t>(rows), 3);
    buffer.resize(n + labels.size());
    std::memcpy(buffer.data(), scores.data(), n * sizeof(float));
    std::memcpy(buffer.data() + n, labels.data(), labels.size() * sizeof(std::int32_t));
  }
  return buffer;
}

void BM_MeanIoUArgmax(benchmark::State& state) {
  const std::int64_t rows = 1'000'000;
  const auto& buffer = scores_and_labels(rows);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::metrics::IoUOptions options;
  options.sparse_y_pred = false;
  tally::metrics::MeanIoU m(kClasses, options);
  const tally::TensorView yp(buffer.data(), tally::DType::kFloat32, {rows, kClasses});
  const tally::TensorView yt(buffer.data() + rows * kClasses, tally::DType::kInt32, {rows});
  tally::bench::run_against_baseline(state, buffer.data(), buffer.size() * sizeof(std::uint32_t), [&] {
    m.update_state(yt, yp);
    benchmark::DoNotOptimize(m.value());
  });
  tally::set_num_threads(0);
}
BENCHMARK(BM_MeanIoUArgmax)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
