// The .npy reader of `tally eval`: any bytes are either read as an array or rejected with
// an InputError; every element handed out must lie inside the file.
#include <cstdint>

#include "fuzz_support.h"
#include "readers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tally::fuzz::scratch_file(data, size, ".npy");
  try {
    const auto source = tally::cli::open_npy(path);
    const std::int64_t rows = source->rows();
    double sum = 0.0;
    for (std::int64_t begin = 0; begin < rows; begin += 7) {
      const tally::TensorView view = source->read(begin, std::min(rows, begin + 7));
      for (const double x : tally::Tensor::copy_of(view).to_doubles()) sum += x;  // touches every element
    }
    static_cast<void>(sum);
  } catch (const tally::Error&) {
  }
  return 0;
}
