#pragma once
// The built-in catalog table, defined in src/metrics/catalog.cpp.

#include <vector>

#include "tally/metrics/functional.h"
#include "tally/registry.h"

namespace tally::metrics::detail {

/// Every built-in metric, once: class name, aliases, family, direction, factory, doc line.
std::vector<MetricInfo> builtin_catalog();
/// Every built-in per-sample function, once (get by name builds a MeanMetricWrapper).
std::vector<functional::FunctionInfo> builtin_functions();

}  // namespace tally::metrics::detail
