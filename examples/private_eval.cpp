// Private release of an evaluation metric: 200 simulated users each hold a Mean-metric
// state (total, count); each user's state is clipped by L2 norm so one user moves the sum
// by at most C, the clipped states are summed, privatised with the analytic Gaussian
// mechanism for (epsilon, delta), and the noisy mean is released as an estimate.
#include <iostream>
#include <random>
#include <vector>

#include "tally/metrics/reduction.h"
#include "tally/privacy.h"

int main() {
  std::mt19937 rng(3);
  std::bernoulli_distribution correct(0.8);
  std::uniform_int_distribution<int> examples(5, 40);
  const int users = 200;
  std::vector<std::vector<double>> contributions;
  tally::metrics::Mean exact("accuracy");
  for (int u = 0; u < users; ++u) {
    tally::metrics::Mean per_user("accuracy");
    std::vector<double> hits;
    for (int i = 0, n = examples(rng); i < n; ++i) hits.push_back(correct(rng) ? 1.0 : 0.0);
    per_user.update_state(tally::TensorView(hits));
    exact.update_state(tally::TensorView(hits));
    contributions.push_back(per_user.state().to_vector());  // (total, count)
  }
  const double clip = 30.0;  // L2 bound on one user's (total, count)
  const std::vector<double> summed = tally::sum_clipped(contributions, clip, tally::NormOrder::kL2);
  const double epsilon = 1.0, delta = 1e-5;
  const auto mechanism = tally::GaussianMechanism::from_budget(epsilon, delta, clip);
  const tally::State released = tally::privatize(exact.state().from_vector(summed), mechanism, /*seed=*/2026);
  std::cout << "users " << users << ", (epsilon, delta) = (" << epsilon << ", " << delta << "), sigma "
            << mechanism.stddev() << "\n"
            << "exact accuracy       " << exact.result().item() << "\n"
            << "clipped accuracy     " << summed[0] / summed[1] << "\n"
            << "released (estimate)  " << released.result().item() << "\n";
  return 0;
}
