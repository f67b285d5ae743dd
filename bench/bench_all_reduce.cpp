// all_reduce_metrics of a 50-metric collection against one raw MPI_Allreduce of the same
// number of bytes, in the same run. Run: mpirun -n 2 build/bench/tally_bench_all_reduce
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <sstream>

#include <tally/mpi.h>
#include <tally/tally.h>

namespace {

tally::MpiContext& context() {
  static tally::MpiContext ctx;
  return ctx;
}

tally::MetricCollection fifty_metrics() {
  std::vector<std::string> specs;
  // Float-only states: repeated merging doubles them, which float64 absorbs (int64 counts
  // would rightly refuse to pass 2^53), so the timed loop needs no state reset.
  const char* classes[] = {"MeanSquaredError", "MeanAbsoluteError", "BinaryAccuracy", "Mean", "CosineSimilarity"};
  for (int i = 0; i < 50; ++i) {
    specs.push_back(std::string(R"({"class_name": ")") + classes[i % 5] + R"(", "config": {"name": "m)" +
                    std::to_string(i) + R"("}})");
  }
  return tally::MetricCollection::from_specs(specs);
}

void BM_AllReduceMetrics(benchmark::State& state) {
  tally::MetricCollection c = fifty_metrics();
  c.update_state(tally::TensorView(std::vector<double>{1, 0, 1}, {3, 1}),
                 tally::TensorView(std::vector<double>{0.9, 0.2, 0.4}, {3, 1}));
  for (auto _ : state) tally::all_reduce_metrics(c, context());
  state.counters["state_doubles"] = static_cast<double>(c.vector_size());
}
BENCHMARK(BM_AllReduceMetrics)->UseRealTime()->Iterations(20000);  // fixed: every rank must match

// Fifty metrics of `doubles` float64 sums each (LambdaMetric), to see bandwidth rather than latency.
tally::MetricCollection fifty_large(std::int64_t doubles) {
  std::vector<std::unique_ptr<tally::Metric>> metrics;
  for (int i = 0; i < 50; ++i) {
    metrics.push_back(std::make_unique<tally::metrics::LambdaMetric>(
        "large" + std::to_string(i), tally::VariableLayout{{"sums", {doubles}}},
        [](tally::Variables&, const tally::Batch&) {},
        [](const tally::Variables& v) { return tally::Tensor::scalar(v.f64(0)[0]); }));
  }
  return tally::MetricCollection(std::move(metrics));
}

void BM_AllReduceLargeStates(benchmark::State& state) {
  tally::MetricCollection c = fifty_large(state.range(0));
  for (auto _ : state) tally::all_reduce_metrics(c, context());
  state.counters["state_doubles"] = static_cast<double>(c.vector_size());
}
BENCHMARK(BM_AllReduceLargeStates)->Arg(2000)->UseRealTime()->Iterations(500);

void BM_RawAllreduceLarge(benchmark::State& state) {
  std::vector<double> buffer(static_cast<std::size_t>(50 * state.range(0)), 1.0);
  for (auto _ : state) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
  state.counters["state_doubles"] = static_cast<double>(buffer.size());
}
BENCHMARK(BM_RawAllreduceLarge)->Arg(2000)->UseRealTime()->Iterations(500);

void BM_RawAllreduceSameBytes(benchmark::State& state) {
  std::vector<double> buffer(static_cast<std::size_t>(fifty_metrics().vector_size()), 1.0);
  for (auto _ : state) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
  state.counters["state_doubles"] = static_cast<double>(buffer.size());
}
BENCHMARK(BM_RawAllreduceSameBytes)->UseRealTime()->Iterations(20000);

// Forwards the collectives but not the packed one: all_reduce_metrics' path for contexts
// other than MpiContext (Python subclasses, test harnesses), measured against the MPI one.
class GenericContext final : public tally::DistributedContext {
 public:
  explicit GenericContext(tally::MpiContext& inner) : inner_(inner) {}
  int local_rank() const override { return inner_.local_rank(); }
  int global_rank() const override { return inner_.global_rank(); }
  int world_size() const override { return inner_.world_size(); }
  int local_size() const override { return inner_.local_size(); }
  void all_reduce_in_place(std::span<double> b, tally::ReduceOp op) override { inner_.all_reduce_in_place(b, op); }
  void broadcast(std::span<double> b, int root) override { inner_.broadcast(b, root); }
  std::vector<double> all_gather(std::span<const double> l) override { return inner_.all_gather(l); }
  void barrier() override { inner_.barrier(); }

 private:
  tally::MpiContext& inner_;
};

// Seconds per call of each fn, the best of `rounds` rounds of `calls` calls (every rank runs
// the same calls). The variants take turns within each round, so that on a loaded machine
// every one of them sees the same load; rounds are short (well under a scheduler time slice),
// so that the best round of a slow variant is as free of preemption as that of a fast one
// (with long rounds, the raw collective's rounds fit between preemptions and the others'
// did not, which inflated the ratio on a loaded machine).
std::vector<double> best_seconds(int rounds, int calls, const std::vector<std::function<void()>>& fns) {
  std::vector<double> best(fns.size(), 1e30);
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t f = 0; f < fns.size(); ++f) {
      context().barrier();
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < calls; ++i) fns[f]();
      best[f] =
          std::min(best[f], std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls);
    }
  }
  return best;
}

// CPU seconds this thread spent per call of fn, the best of 7 rounds: tally's own cost,
// which preemption on a loaded machine does not inflate as it does wall time.
template <class Fn>
double best_cpu_seconds(int calls, Fn&& fn) {
  const auto cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  double best = 1e30;
  for (int round = 0; round < 7; ++round) {
    const double start = cpu();
    for (int i = 0; i < calls; ++i) fn();
    best = std::min(best, (cpu() - start) / calls);
  }
  return best;
}

// The ratio the issue tracks, measured in one run: all_reduce_metrics of the 50-metric
// collection over one raw MPI_Allreduce of the same number of doubles.
void print_ratios() {
  tally::MetricCollection c = fifty_metrics();
  c.update_state(tally::TensorView(std::vector<double>{1, 0, 1}, {3, 1}),
                 tally::TensorView(std::vector<double>{0.9, 0.2, 0.4}, {3, 1}));
  std::vector<double> buffer(static_cast<std::size_t>(c.vector_size()), 1.0);
  GenericContext generic(context());
  tally::NotDistributedContext alone;
  const int rounds = 300, calls = 50;
  const std::vector<double> best =
      best_seconds(rounds, calls,
                   {[&] {
                      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE, MPI_SUM,
                                    MPI_COMM_WORLD);
                    },
                    // MPI's non-blocking form with MPI_SUM, for comparison: what MpiContext used before it
                    // reduced small buffers by its own point-to-point exchange.
                    [&] {
                      MPI_Request request = MPI_REQUEST_NULL;
                      MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE, MPI_SUM,
                                     MPI_COMM_WORLD, &request);
                      MPI_Wait(&request, MPI_STATUS_IGNORE);
                    },
                    [&] { tally::all_reduce_metrics(c, context()); },
                    // No communication at all: tally's own cost per call (locks, hash, pack, unpack).
                    [&] { tally::all_reduce_metrics(c, alone); }, [&] { tally::all_reduce_metrics(c, generic); }});
  const double raw = best[0], nonblocking = best[1], packed = best[2], local = best[3], three = best[4];
  const double local_cpu = best_cpu_seconds(2000, [&] { tally::all_reduce_metrics(c, alone); });
  if (context().global_rank() == 0) {
    std::printf("50 metrics (%lld doubles), %d ranks, best of %d x %d calls, variants in turn:\n",
                static_cast<long long>(buffer.size()), context().world_size(), rounds, calls);
    std::printf("  raw MPI_Allreduce           %8.2f us\n", raw * 1e6);
    std::printf("  raw MPI_Iallreduce + wait   %8.2f us  ratio %.2fx\n", nonblocking * 1e6, nonblocking / raw);
    std::printf("  all_reduce_metrics (MPI)    %8.2f us  ratio %.2fx\n", packed * 1e6, packed / raw);
    std::printf("  all_reduce_metrics (NotDistributedContext, no communication) %8.2f us (CPU time %.2f us)\n",
                local * 1e6, local_cpu * 1e6);
    std::printf("  all_reduce_metrics (generic context: check + per-aggregation collectives) %8.2f us  ratio %.2fx\n",
                three * 1e6, three / raw);
  }
}

}  // namespace

int main(int argc, char** argv) {
  context();
  benchmark::Initialize(&argc, argv);
  if (context().global_rank() != 0) {
    // Every rank runs the same iterations (the collectives must match); only rank 0 reports.
    benchmark::ConsoleReporter quiet;
    quiet.SetOutputStream(new std::ostringstream);
    quiet.SetErrorStream(new std::ostringstream);
    benchmark::RunSpecifiedBenchmarks(&quiet);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  print_ratios();
  return 0;
}
