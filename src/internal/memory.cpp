#include "internal/memory.h"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <limits>

#include "internal/check.h"

namespace tally {
namespace {

constexpr std::int64_t kMinimumLimit = std::int64_t{1} << 20;
std::atomic<std::int64_t> g_limit{0};  // 0: not set by set_memory_limit
thread_local std::int64_t t_held = 0;  // state bytes of the update in progress on this thread

// TALLY_MEMORY_LIMIT: "1073741824", "4G", "512M", "64k"; anything else is an error.
std::int64_t limit_from_environment() {
  const char* text = std::getenv("TALLY_MEMORY_LIMIT");
  if (text == nullptr || *text == '\0') return kDefaultMemoryLimit;
  char* end = nullptr;
  const double number = std::strtod(text, &end);
  double scale = 1.0;
  if (end != nullptr && *end != '\0') {
    switch (std::toupper(static_cast<unsigned char>(*end))) {
      case 'K':
        scale = 1024.0;
        break;
      case 'M':
        scale = 1024.0 * 1024.0;
        break;
      case 'G':
        scale = 1024.0 * 1024.0 * 1024.0;
        break;
      default:
        scale = 0.0;
    }
    ++end;
    if (*end == 'i' || *end == 'I') ++end;  // "4GiB" reads as "4G"
    if (*end == 'b' || *end == 'B') ++end;
  }
  const double bytes = number * scale;
  if (end == text || *end != '\0' || !(bytes >= static_cast<double>(kMinimumLimit)) || bytes > 9.0e18) {
    throw InvalidArgument(
        internal::str_cat("TALLY_MEMORY_LIMIT must be a byte count of at least 1 MiB, such as "
                          "\"4G\" or \"536870912\"; received \"",
                          text, "\""));
  }
  return static_cast<std::int64_t>(bytes);
}

}  // namespace

void set_memory_limit(std::int64_t bytes) {
  if (bytes != 0 && bytes < kMinimumLimit) {
    throw InvalidArgument(
        internal::str_cat("set_memory_limit: the limit must be at least 1 MiB (1048576), or 0 for the default; "
                          "received ",
                          bytes));
  }
  g_limit.store(bytes);
}

std::int64_t memory_limit() {
  const std::int64_t set = g_limit.load();
  if (set > 0) return set;
  return limit_from_environment();
}

namespace internal {
namespace {

[[noreturn]] void refuse(std::string_view who, std::string_view needs) {
  throw InvalidArgument(str_cat(who, ": ", needs, ", over tally's memory limit of ", format_bytes(memory_limit()),
                                "; raise it with tally::set_memory_limit (Python: tally.set_memory_limit) or the "
                                "environment variable TALLY_MEMORY_LIMIT (docs/reliability.md)"));
}

}  // namespace

std::string format_bytes(std::int64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return str_cat(bytes, " bytes");
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024.0 && unit < 3) value /= 1024.0, ++unit;
  // One decimal, written from integer tenths: printing value rounded as a double would show
  // its binary error ("16.800000000000001 MiB").
  const auto tenths = static_cast<std::int64_t>(value * 10.0 + 0.5);
  return tenths % 10 == 0 ? str_cat(tenths / 10, " ", kUnits[unit])
                          : str_cat(tenths / 10, ".", tenths % 10, " ", kUnits[unit]);
}

void check_state_size(std::string_view who, std::int64_t state_bytes) {
  if (state_bytes > memory_limit() / 2) {
    refuse(who, str_cat("its state would take ", format_bytes(state_bytes),
                        ", more than half the memory limit (an update needs working space of about its size)"));
  }
}

void reserve_scratch(std::string_view who, std::string_view what, std::int64_t scratch_bytes) {
  const std::int64_t limit = memory_limit();
  const std::int64_t held = t_held;
  if (scratch_bytes < 0 || scratch_bytes > limit - held) {
    refuse(who, str_cat("this update needs ",
                        format_bytes(scratch_bytes < 0 ? std::numeric_limits<std::int64_t>::max() : scratch_bytes),
                        " for ", what, held > 0 ? str_cat(" on top of ", format_bytes(held), " of state") : ""));
  }
}

UpdateBudget::UpdateBudget(std::string_view who, std::int64_t held_bytes) : previous_(t_held) {
  if (held_bytes > memory_limit()) {
    refuse(who, str_cat("this update holds ", format_bytes(held_bytes), " of state and state copies"));
  }
  t_held = held_bytes;
}

UpdateBudget::~UpdateBudget() { t_held = previous_; }

}  // namespace internal
}  // namespace tally
