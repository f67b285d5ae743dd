#pragma once
// tally's memory limit: how much one metric's state plus the working memory of one update
// may take (docs/reliability.md, "Memory limit"). A config or a batch that would need more
// is refused with an InvalidArgument before anything large is allocated.

#include <cstdint>

namespace tally {

/// The default memory limit: 1 GiB.
inline constexpr std::int64_t kDefaultMemoryLimit = std::int64_t{1} << 30;

/// Sets the memory limit in bytes for the whole process (>= 1 MiB); 0 restores the default
/// (TALLY_MEMORY_LIMIT if set, else 1 GiB). Metrics built earlier keep their state.
void set_memory_limit(std::int64_t bytes);

/// The memory limit in bytes: set_memory_limit's value, else the environment variable
/// TALLY_MEMORY_LIMIT (bytes, or a number with a K, M or G suffix: "4G"), else 1 GiB.
std::int64_t memory_limit();

}  // namespace tally
