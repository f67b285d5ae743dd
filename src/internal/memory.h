#pragma once
// The one place that budgets memory (docs/reliability.md, "Memory limit"): a metric's state
// may take at most half of tally::memory_limit() (an update needs working space too), and
// during an update the state plus the scratch a kernel asks for must fit in the limit.
// Kernels call reserve_scratch() before their large allocations (per-thread histograms,
// per-chunk partials); Metric::update_state and MetricCollection::update_state open an
// UpdateBudget that tells it how much state the update holds.

#include <cstdint>
#include <string>
#include <string_view>

#include "tally/memory.h"

namespace tally::internal {

/// "1.5 GiB", "512 MiB", "300 bytes": a byte count for messages.
std::string format_bytes(std::int64_t bytes);

/// Throws InvalidArgument naming `who` when a state of `state_bytes` would take more than
/// half the memory limit (so that no update of it could fit).
void check_state_size(std::string_view who, std::int64_t state_bytes);

/// Throws InvalidArgument naming `who` and `what` when the update in progress on this thread
/// (its state and copies, see UpdateBudget) plus `scratch_bytes` would pass the memory limit.
void reserve_scratch(std::string_view who, std::string_view what, std::int64_t scratch_bytes);

/// Marks, on this thread, an update that holds `held_bytes` of state (and state copies);
/// reserve_scratch counts them. Throws like reserve_scratch when they alone pass the limit.
class UpdateBudget {
 public:
  UpdateBudget(std::string_view who, std::int64_t held_bytes);
  ~UpdateBudget();
  UpdateBudget(const UpdateBudget&) = delete;
  UpdateBudget& operator=(const UpdateBudget&) = delete;

 private:
  std::int64_t previous_;
};

}  // namespace tally::internal
