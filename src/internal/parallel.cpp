#include "internal/parallel.h"

#include <algorithm>
#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal/check.h"

namespace tally {
namespace {
std::atomic<int> g_threads{0};  // 0: OpenMP's default
}  // namespace

void set_num_threads(int threads) {
  if (threads < 0)
    throw InvalidArgument(internal::str_cat("set_num_threads: threads must be >= 0; received ", threads));
  g_threads.store(threads);
}

int num_threads() {
  const int t = g_threads.load();
  if (t > 0) return t;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace internal {
int threads_for(std::int64_t chunks) {
  if (chunks <= 1) return 1;
  return static_cast<int>(std::min<std::int64_t>(num_threads(), chunks));
}
}  // namespace internal

}  // namespace tally
