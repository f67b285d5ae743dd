// The ModelSelector record (<logdir>/best/<metric>/<metric>.json): any bytes are read as a
// record or refused with a ConfigError that leaves the file alone.
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tally/selection.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  static const fs::path logdir = fs::path("/tmp") / ("tally_fuzz_selection_" + std::to_string(::getpid()));
  const fs::path folder = logdir / "best" / "acc";
  fs::create_directories(folder);
  std::ofstream(folder / "acc.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    tally::ModelSelector selector("acc", tally::ModelSelector::greater(), logdir.string());
    selector.update(0.5, 1);
  } catch (const tally::Error&) {
  }
  return 0;
}
