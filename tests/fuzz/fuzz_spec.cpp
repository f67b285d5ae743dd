// Metric specs and configs (JSON or names), as `tally eval -m`, tally::metrics::get and
// MetricCollection::from_json take them: each is built or refused with a tally::Error, and
// a metric that builds must survive a serialize round trip, an update and a result.
#include <cstdint>
#include <string_view>

#include "tally/collection.h"
#include "tally/registry.h"

namespace {

void exercise(tally::Metric& m) {
  const float labels[6] = {0, 1, 1, 0, 1, 0};
  const float scores[6] = {0.1f, 0.9f, 0.6f, 0.4f, 0.2f, 0.7f};
  const std::int64_t ids[6] = {0, 1, 2, 1, 0, 2};
  for (const tally::Shape& shape : {tally::Shape{6}, tally::Shape{3, 2}, tally::Shape{2, 3}}) {
    try {
      m.update_state(tally::TensorView(labels, tally::DType::kFloat32, shape),
                     tally::TensorView(scores, tally::DType::kFloat32, shape));
    } catch (const tally::Error&) {
    }
    try {
      m.update_state(tally::TensorView(ids, tally::DType::kInt64, tally::Shape{shape[0]}),
                     tally::TensorView(scores, tally::DType::kFloat32, shape));
    } catch (const tally::Error&) {
    }
  }
  try {
    static_cast<void>(m.result());
  } catch (const tally::Error&) {
  }
  m.from_vector(m.to_vector());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view spec(reinterpret_cast<const char*>(data), size);
  try {
    auto metric = tally::metrics::get(spec);
    auto again = tally::metrics::get(tally::metrics::serialize(*metric));
    exercise(*metric);
    exercise(*again);
  } catch (const tally::Error&) {
  }
  try {
    const tally::Json specs = tally::Json::parse(spec);
    if (specs.is_array()) {
      tally::MetricCollection c = tally::MetricCollection::from_json(specs);
      static_cast<void>(c.to_vector());
    }
  } catch (const tally::Error&) {
  } catch (const tally::Json::exception&) {
  }
  return 0;
}
