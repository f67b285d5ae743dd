#pragma once
// Shared by the fuzz targets: inputs that the code under test reads from files are written
// to one scratch file per process.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace tally::fuzz {

/// Writes `data` to a per-process scratch file with the given suffix and returns its path.
inline std::string scratch_file(const std::uint8_t* data, std::size_t size, const std::string& suffix) {
  const std::string path = "/tmp/tally_fuzz_" + std::to_string(::getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace tally::fuzz
