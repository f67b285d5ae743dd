// Quickstart: stream batches into metrics, merge two workers' metrics, print results.
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
  std::printf("merged mean loss: %.6f (expected %.6f)\n", loss_a.value(), (2.7 + 0.3 + 2.4) / 8.0);

  // Any catalog metric by name or JSON spec; its state is one float64 vector.
  auto total = tally::metrics::get(R"({"class_name": "Sum", "config": {"name": "total_loss"}})");
  total->update_state({}, std::vector<float>{0.9f, 0.4f, 0.7f});
  std::printf("%s = %.6f, state vector size %zu\n", total->name().c_str(), total->value(), total->to_vector().size());
  std::printf("config: %s\n", tally::metrics::serialize(*total).dump().c_str());
  return 0;
}
