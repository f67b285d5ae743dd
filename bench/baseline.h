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

/// Seconds per read-only pass over `bytes` at `data` (best of 7, cached per buffer).
inline double baseline_seconds(const void* data, std::size_t bytes) {
  static std::map<std::pair<const void*, std::size_t>, double> cache;
  const auto key = std::make_pair(data, bytes);
  if (const auto it = cache.find(key); it != cache.end()) return it->second;
  double best = 1e30;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(read_all(data, bytes));
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  cache[key] = best;
  return best;
}

/// Runs `body` in the benchmark loop and reports bytes/s plus `read_fraction`: the
/// baseline's time over the same bytes divided by this benchmark's time (1.0 = memory speed).
/// `streams` counts inputs of `bytes` each that the body reads (y_true and y_pred: 2).
template <class Body>
void run_against_baseline(benchmark::State& state, const void* data, std::size_t bytes, Body&& body, int streams = 1) {
  const double base = baseline_seconds(data, bytes) * streams;
  bytes *= static_cast<std::size_t>(streams);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) body();
  const auto t1 = std::chrono::steady_clock::now();
  const double per_iteration = std::chrono::duration<double>(t1 - t0).count() / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["read_fraction"] = base / per_iteration;
  state.counters["baseline_GBps"] = static_cast<double>(bytes) / base / 1e9;
}

/// One input buffer of a benchmark.
struct Buffer {
  const void* data;
  std::size_t bytes;
};

/// Like run_against_baseline above, for a body that reads several distinct buffers: the
/// baseline reads every one of them, so the ratio compares the same bytes.
template <class Body>
void run_against_baseline(benchmark::State& state, std::initializer_list<Buffer> buffers, Body&& body) {
  double base = 0.0;
  std::size_t bytes = 0;
  for (const Buffer& b : buffers) {
    bytes += b.bytes;
  }
  // Time one pass over all buffers together (the same working set the body touches).
  double best = 1e30;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const Buffer& b : buffers) benchmark::DoNotOptimize(read_all(b.data, b.bytes));
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  base = best;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) body();
  const auto t1 = std::chrono::steady_clock::now();
  const double per_iteration = std::chrono::duration<double>(t1 - t0).count() / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["read_fraction"] = base / per_iteration;
  state.counters["baseline_GBps"] = static_cast<double>(bytes) / base / 1e9;
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
