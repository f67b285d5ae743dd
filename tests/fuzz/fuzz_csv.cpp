// The .csv reader of `tally eval`, with every column and with a selection by name and by
// index: any bytes are read as numbers or rejected with an InputError.
#include <cstdint>

#include "fuzz_support.h"
#include "readers.h"

namespace {

void read_all(const std::string& path, const std::vector<std::string>& columns) {
  try {
    const auto source = tally::cli::open_csv(path, columns);
    const std::int64_t rows = source->rows();
    double sum = 0.0;
    for (std::int64_t begin = 0; begin < rows; begin += 5) {
      for (const double x : tally::Tensor::copy_of(source->read(begin, std::min(rows, begin + 5))).to_doubles())
        sum += x;
    }
    if (rows > 1) static_cast<void>(source->read(0, 1));  // going back re-reads from the start
    static_cast<void>(sum);
  } catch (const tally::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tally::fuzz::scratch_file(data, size, ".csv");
  read_all(path, {});
  read_all(path, {"y_pred"});
  read_all(path, {"1", "0"});
  return 0;
}
