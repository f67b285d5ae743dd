#pragma once
// Printing `tally eval` results: an aligned table, the JSON object of the command-line
// contract, or CSV; and the self-contained HTML report.

#include <ostream>
#include <string>

#include "eval.h"
#include "tally/metric.h"

namespace tally::cli {

/// Output formats of `tally eval --format`.
enum class Format : std::uint8_t { kTable, kJson, kCsv };

/// Parses "table", "json" or "csv"; throws InvalidArgument otherwise.
Format parse_format(const std::string& name);

/// A metric result as JSON: a number for scalars, nested lists otherwise; NaN and
/// infinities become the strings "nan", "inf", "-inf".
Json result_to_json(const Tensor& result);

/// The contract object {"samples": N, "metrics": {"<name>": value, ...}}.
Json results_json(const EvalResult& result);

/// Writes the results in the chosen format.
void write_results(std::ostream& out, const EvalResult& result, Format format);

}  // namespace tally::cli
