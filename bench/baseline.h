#pragma once
// The read-only baseline every benchmark reports against: a plain sum over the same
// bytes, timed in the same process, so "fraction of read speed" is a same-run ratio.

#include <benchmark/benchmark.h>
#include <tally/metric.h>
#include <tally/parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

namespace tally::bench {

/// Sums bytes as 64-bit words with 4 accumulators: the speed of reading memory.
inline std::uint64_t read_all(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const std::uint64_t*>(data);
  const std::size_t n = bytes / 8;
  std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
  }
  for (; i < n; ++i) a0 += p[i];
  return a0 + a1 + a2 + a3;
}

/// One input buffer of a benchmark.
struct Buffer {
  const void* data;
  std::size_t bytes;
};

/// The median of `seconds` (not empty).
inline double median_of(std::vector<double> seconds) {
  const auto mid = seconds.begin() + static_cast<std::ptrdiff_t>(seconds.size() / 2);
  std::nth_element(seconds.begin(), mid, seconds.end());
  return *mid;
}

/// Runs `body` in the benchmark loop and reports bytes/s plus `read_fraction`: the median
/// time of a read-only pass over `buffers` (each read `streams` times) over the median time
/// of one body call (1.0 = memory speed). One baseline pass runs before each call, outside
/// the timed region, so both medians come from the same minutes: this shared machine's
/// memory speed drifts by up to 2x from one minute to the next, and a baseline timed once
/// (or its best of a few) against the body's mean made the ratio move with that drift.
template <class Body>
void run_interleaved(benchmark::State& state, std::initializer_list<Buffer> buffers, int streams, Body&& body) {
  using clock = std::chrono::steady_clock;
  std::size_t bytes = 0;
  for (const Buffer& b : buffers) bytes += b.bytes;
  bytes *= static_cast<std::size_t>(streams);
  std::vector<double> base, run;
  for (auto _ : state) {
    state.PauseTiming();
    const auto b0 = clock::now();
    for (int s = 0; s < streams; ++s) {
      for (const Buffer& b : buffers) benchmark::DoNotOptimize(read_all(b.data, b.bytes));
    }
    base.push_back(std::chrono::duration<double>(clock::now() - b0).count());
    state.ResumeTiming();
    const auto t0 = clock::now();
    body();
    run.push_back(std::chrono::duration<double>(clock::now() - t0).count());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  if (run.empty()) return;
  const double base_median = median_of(base);
  state.counters["read_fraction"] = base_median / median_of(std::move(run));
  state.counters["baseline_GBps"] = static_cast<double>(bytes) / base_median / 1e9;
}

/// run_interleaved over one input of `bytes` that the body reads as `streams` inputs of that
/// size (y_true and y_pred of the same size: 2).
template <class Body>
void run_against_baseline(benchmark::State& state, const void* data, std::size_t bytes, Body&& body, int streams = 1) {
  run_interleaved(state, {Buffer{data, bytes}}, streams, std::forward<Body>(body));
}

/// run_interleaved over several distinct buffers, read together by the baseline (the same
/// working set the body touches).
template <class Body>
void run_against_baseline(benchmark::State& state, std::initializer_list<Buffer> buffers, Body&& body) {
  run_interleaved(state, buffers, 1, std::forward<Body>(body));
}

/// Fixed-seed uniform floats in [0, 1), cached by size.
inline const std::vector<float>& uniform_floats(std::size_t n, unsigned seed = 42) {
  static std::map<std::pair<std::size_t, unsigned>, std::vector<float>> cache;
  auto& v = cache[{n, seed}];
  if (v.empty()) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    v.resize(n);
    for (float& x : v) x = dist(rng);
  }
  return v;
}

/// Fixed-seed class ids in [0, classes) as int32, cached by seed, size and class count.
inline const std::vector<std::int32_t>& class_ids(unsigned seed, std::int64_t rows, std::int64_t classes) {
  static std::map<std::tuple<unsigned, std::int64_t, std::int64_t>, std::vector<std::int32_t>> cache;
  auto& ids = cache[{seed, rows, classes}];
  if (ids.empty()) {
    std::mt19937_64 rng(seed);
    ids.resize(static_cast<std::size_t>(rows));
    for (auto& id : ids) id = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(classes));
  }
  return ids;
}

/// Fixed-seed 0/1 labels as float, cached by size.
inline const std::vector<float>& binary_labels(std::size_t n, unsigned seed = 7) {
  static std::map<std::pair<std::size_t, unsigned>, std::vector<float>> cache;
  auto& v = cache[{n, seed}];
  if (v.empty()) {
    std::mt19937_64 rng(seed);
    v.resize(n);
    for (float& x : v) x = static_cast<float>(rng() & 1u);
  }
  return v;
}

/// One update of `metric` with 1e7 binary labels and float scores per iteration, on
/// state.range(0) threads, against the read-only baseline over the same bytes.
inline void run_binary(benchmark::State& state, tally::Metric& metric) {
  const std::size_t n = 10'000'000;
  const auto& y = binary_labels(n);
  const auto& p = uniform_floats(n);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  run_against_baseline(state, {Buffer{y.data(), n * 4}, Buffer{p.data(), n * 4}}, [&] {
    metric.update_state(y, p);
    benchmark::DoNotOptimize(metric.value());
  });
  tally::set_num_threads(0);
}

}  // namespace tally::bench
