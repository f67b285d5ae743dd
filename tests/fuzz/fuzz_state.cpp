// State decoding: tally state files (raw, and with the checksum repaired so that the fuzzer
// reaches the header and payload checks) and from_vector on metrics of several layouts.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "internal/crc32c.h"
#include "tally/registry.h"
#include "tally/state_file.h"

namespace {

void load(const std::string& bytes) {
  try {
    const tally::SavedState saved = tally::parse_state_file(bytes, "fuzz");
    if (saved.kind() == tally::SavedState::Kind::kMetric) {
      static_cast<void>(saved.to_metric()->result());
    } else {
      static_cast<void>(saved.to_collection().result());
    }
  } catch (const tally::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  load(bytes);
  if (bytes.size() >= 4) {
    const std::uint32_t crc = tally::internal::crc32c(bytes.data(), bytes.size() - 4);
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
    load(bytes);
  }
  std::vector<double> values(size / sizeof(double));
  if (!values.empty()) std::memcpy(values.data(), data, values.size() * sizeof(double));
  static const char* const kSpecs[] = {"mean",
                                       "auc",
                                       R"({"class_name": "MeanIoU", "config": {"num_classes": 3}})",
                                       R"({"class_name": "F1Score", "config": {"num_classes": 2}})",
                                       "true_positives",
                                       "r2_score"};
  for (const char* spec : kSpecs) {
    auto m = tally::metrics::get(spec);
    try {
      m->from_vector(values);
      static_cast<void>(m->result());
    } catch (const tally::Error&) {
    }
  }
  return 0;
}
