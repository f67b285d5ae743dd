#pragma once
// CRC-32C (Castagnoli), shared by the TFRecord writer and the state file format.
#include <cstddef>
#include <cstdint>

namespace tally::internal {

/// CRC-32C of `data` (reflected polynomial 0x82f63b78; check value 0xe3069283 for "123456789").
std::uint32_t crc32c(const void* data, std::size_t size);

}  // namespace tally::internal
