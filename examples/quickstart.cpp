// Quickstart: stream batches into metrics, merge two workers' metrics, print results.
// It checks its own arithmetic and exits 1 when the library disagrees (ctest runs it).
#include <cmath>
#include <cstdio>
#include <vector>

#include <tally/tally.h>

int main() {
  using tally::metrics::Mean;
  // Two "workers" each see part of the data.
  Mean loss_a("loss");
  Mean loss_b("loss");
  loss_a.update_state(std::vector<double>{0.9, 0.4, 0.7});
  loss_a.update_state(std::vector<double>{0.2, 0.5});
  loss_b.update_state(std::vector<double>{0.3, 0.8}, std::vector<double>{1.0, 3.0});  // weighted batch

  loss_a.merge_state(loss_b);  // the same as one metric that saw every batch
  // Weighted sum 0.9 + 0.4 + 0.7 + 0.2 + 0.5 + 1 * 0.3 + 3 * 0.8 = 5.4 over a total weight of
  // 5 * 1 + 1 + 3 = 9 (the weighted batch counts its weights, not its rows).
  const double expected = (2.7 + 0.3 + 2.4) / 9.0;
  std::printf("merged mean loss: %.6f (expected %.6f)\n", loss_a.value(), expected);
  if (std::fabs(loss_a.value() - expected) > 1e-12) {
    std::fprintf(stderr, "quickstart: the merged mean differs from the expected value\n");
    return 1;
  }

  // Any catalog metric by name or JSON spec; its state is one float64 vector.
  auto total = tally::metrics::get(R"({"class_name": "Sum", "config": {"name": "total_loss"}})");
  total->update_state({}, std::vector<float>{0.9f, 0.4f, 0.7f});
  std::printf("%s = %.6f, state vector size %zu\n", total->name().c_str(), total->value(), total->to_vector().size());
  std::printf("config: %s\n", tally::metrics::serialize(*total).dump().c_str());
  if (std::fabs(total->value() - 2.0) > 1e-6) {  // float32 inputs summed in float64
    std::fprintf(stderr, "quickstart: the sum differs from 2.0\n");
    return 1;
  }
  return 0;
}
