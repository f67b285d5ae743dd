// AUC and Precision/Recall against the read-only baseline over the same bytes (labels and
// scores): evenly spaced thresholds (bucketed), explicit lists (binary search), top_k.
// BM_PrecisionIds: Precision(num_classes=10, average="macro") from int32 class ids against
// 1e6 x 10 float32 scores or 1e7 int32 predicted ids, counted from the ids and, for comparison
// in the same run, as the one-hot rows the metric counted before (docs/performance.md,
// "Precision and Recall from class ids"). Recall takes the same path.
#include <tally/tally.h>

#include <map>
#include <random>

#include "baseline.h"
#include "metrics/kernels/class_confusion.h"
#include "metrics/kernels/confusion_counts.h"

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

constexpr std::int64_t kIdClasses = 10;

// Args: threads, y_pred (0: [N, 10] float32 scores, 1: int32 ids), path (0: the former
// one-hot rows, built and counted with the kernels the metric used; 1: the metric, counting
// the ids).
void BM_PrecisionIds(benchmark::State& state) {
  const bool scores = state.range(1) == 0;
  const bool direct = state.range(2) == 1;
  const std::int64_t rows = scores ? 1'000'000 : 10'000'000;
  const auto& p = tally::bench::uniform_floats(static_cast<std::size_t>(1'000'000 * kIdClasses));
  const auto& y = tally::bench::class_ids(1, rows, kIdClasses);
  const auto& pid = tally::bench::class_ids(2, rows, kIdClasses);
  tally::set_num_threads(static_cast<int>(state.range(0)));
  tally::metrics::PrecisionRecallOptions o;
  o.num_classes = kIdClasses;
  o.average = tally::metrics::ClassAverage::kMacro;
  tally::metrics::Precision precision(o);
  const tally::TensorView yt(y.data(), tally::DType::kInt32, {rows});
  const tally::TensorView yp = scores ? tally::TensorView(p.data(), tally::DType::kFloat32, {rows, kIdClasses})
                                      : tally::TensorView(pid.data(), tally::DType::kInt32, {rows});
  namespace k = tally::metrics::kernels;
  tally::metrics::ConfusionOptions per_class;
  per_class.thresholds = {0.5};
  per_class.multi_label = true;
  per_class.num_labels = kIdClasses;
  const std::size_t pred_bytes =
      scores ? static_cast<std::size_t>(rows * kIdClasses) * sizeof(float) : pid.size() * sizeof(std::int32_t);
  tally::bench::run_against_baseline(
      state, {{y.data(), y.size() * sizeof(std::int32_t)}, {yp.data(), pred_bytes}}, [&] {
        if (direct) {
          precision.update_state(yt, yp);
          benchmark::DoNotOptimize(precision.value());
        } else {
          const tally::Tensor t = k::one_hot_ids("bench", "y_true", yt, kIdClasses);
          const tally::Tensor q =
              scores ? k::one_hot_argmax("bench", "y_pred", yp) : k::one_hot_ids("bench", "y_pred", yp, kIdClasses);
          benchmark::DoNotOptimize(k::count_confusion("bench", per_class, tally::DType::kFloat32, kIdClasses,
                                                      tally::Batch{t.view(), q.view(), {}}));
        }
      });
  state.SetLabel(std::string(scores ? "ids + scores, " : "ids + ids, ") + (direct ? "ids" : "one-hot rows"));
  tally::set_num_threads(0);
}
BENCHMARK(BM_PrecisionIds)
    ->Args({1, 0, 0})
    ->Args({1, 0, 1})
    ->Args({1, 1, 0})
    ->Args({1, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
