#pragma once
// The built-in catalog table, defined in src/metrics/catalog.cpp.

#include <vector>

#include "tally/registry.h"

namespace tally::metrics::detail {

/// Every built-in metric, once: class name, aliases, family, direction, factory, doc line.
std::vector<MetricInfo> builtin_catalog();

}  // namespace tally::metrics::detail
