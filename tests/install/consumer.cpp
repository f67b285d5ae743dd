// Built against the installed tally package: proves headers, library and CMake config work.
#include <cstdio>
#include <vector>

#include <tally/tally.h>

int main() {
  tally::metrics::Mean mean;
  const std::vector<double> values{1.0, 2.0, 3.0, 4.0};
  mean.update_state(values);
  auto by_name = tally::metrics::get("mean");
  by_name->update_state({}, values);
  if (mean.value() != 2.5 || by_name->value() != 2.5) {
    std::fprintf(stderr, "consumer: wrong mean %g\n", mean.value());
    return 1;
  }
  std::printf("consumer: mean = %g\n", mean.value());
  return 0;
}
