#pragma once
// FNV-1a mixing for layout fingerprints and hashes (metric and collection layers).
#include <cstdint>
#include <string_view>

namespace tally::internal {

/// Offset basis of 64-bit FNV-1a.
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

/// Mixes `bytes` into `h`, then a separator byte so that ("ab", "c") and ("a", "bc") differ.
inline void fnv_mix(std::uint64_t& h, std::string_view bytes) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff;
  h *= 0x100000001b3ULL;
}

}  // namespace tally::internal
