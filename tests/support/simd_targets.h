#pragma once
// Runs a test body once per Highway target, for the kernels dispatched at run time
// (src/metrics/kernels/simd_math.h): each target must give what the scalar path gives.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/kernels/simd_math.h"

namespace tally::testing {

/// Runs fn once per target this CPU supports among those compiled in, with dispatch pinned
/// to it; restores the CPU's own choice afterwards.
template <class Fn>
void on_every_target(Fn fn) {
  namespace simd = metrics::kernels::simd;
  const std::vector<std::int64_t> targets = simd::available_targets();
  ASSERT_FALSE(targets.empty());
  for (const std::int64_t t : targets) {
    simd::restrict_targets_for_test(t);
    SCOPED_TRACE(simd::target_name(t));
    EXPECT_EQ(std::string(simd::current_target_name()), simd::target_name(t));
    fn();
  }
  simd::restrict_targets_for_test(0);
}

}  // namespace tally::testing
