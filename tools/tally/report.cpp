#include "report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tally/metrics/classwise.h"

namespace tally::cli {
namespace {

// Results are printed to 12 significant digits: float sums agree to 1e-12 relative across
// batch sizes and MPI rank counts, so this makes those outputs identical as text. JSON has
// no NaN or infinity: they become the strings "nan", "inf" and "-inf" (docs/cli.md), which
// float() in Python and as.numeric() in R read back, and which keep the three apart.
Json element(double x) {
  if (std::isnan(x)) return Json("nan");
  if (std::isinf(x)) return Json(x > 0 ? "inf" : "-inf");
  return Json(std::stod(fmt::format("{:.12g}", x)));
}

Json nested(const std::vector<double>& values, const Shape& shape, std::size_t dim, std::size_t& pos) {
  Json out = Json::array();
  for (std::int64_t i = 0; i < shape[dim]; ++i) {
    if (dim + 1 == shape.size()) {
      out.push_back(element(values[pos++]));
    } else {
      out.push_back(nested(values, shape, dim + 1, pos));
    }
  }
  return out;
}

// Table cells: 6 significant digits for people; CSV: 12, as JSON.
std::string number(double x, int digits = 6) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}g}", x, digits);
}

// Flattens a result into (label suffix, value) rows: "" for scalars, "[i]" for vectors.
std::vector<std::pair<std::string, double>> rows_of(const Tensor& t) {
  std::vector<std::pair<std::string, double>> out;
  const std::vector<double> values = t.to_doubles();
  if (t.ndim() == 0) {
    out.emplace_back("", values.at(0));
    return out;
  }
  const Shape& shape = t.shape();
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::string index;
    std::size_t rest = i;
    std::vector<std::int64_t> idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
      idx[d] = static_cast<std::int64_t>(rest % static_cast<std::size_t>(shape[d]));
      rest /= static_cast<std::size_t>(shape[d]);
    }
    out.emplace_back(fmt::format("[{}]", fmt::join(idx, ", ")), values[i]);
  }
  return out;
}

// A metric's (row label, value) pairs: a Classwise's "<name>_<label>" keys, else the
// metric's name with rows_of's suffixes.
std::vector<std::pair<std::string, double>> named_rows(const Metric& m) {
  std::vector<std::pair<std::string, double>> out = metrics::keyed_result(m);
  if (!out.empty()) return out;
  for (auto& [suffix, value] : rows_of(m.result())) out.emplace_back(m.name() + suffix, value);
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace

Format parse_format(const std::string& name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "csv") return Format::kCsv;
  throw InvalidArgument(fmt::format("--format must be table, json or csv; received \"{}\"", name));
}

Json result_to_json(const Tensor& result) {
  const std::vector<double> values = result.to_doubles();
  if (result.ndim() == 0) return element(values.at(0));
  std::size_t pos = 0;
  return nested(values, result.shape(), 0, pos);
}

Json results_json(const EvalResult& result) {
  Json metrics = Json::object();
  for (const auto& m : result.metrics) {
    const auto keyed = metrics::keyed_result(*m);  // Classwise: one key per class
    if (keyed.empty()) metrics[m->name()] = result_to_json(m->result());
    for (const auto& [key, value] : keyed) metrics[key] = element(value);
  }
  return Json{{"samples", result.samples}, {"metrics", metrics}};
}

void write_results(std::ostream& out, const EvalResult& result, Format format) {
  switch (format) {
    case Format::kJson:
      out << results_json(result).dump() << "\n";
      return;
    case Format::kCsv:
      out << "metric,value\n";
      for (const auto& m : result.metrics) {
        for (const auto& [label, value] : named_rows(*m)) out << csv_field(label) << "," << number(value, 12) << "\n";
      }
      return;
    case Format::kTable: {
      std::vector<std::pair<std::string, std::string>> rows;
      for (const auto& m : result.metrics) {
        for (const auto& [label, value] : named_rows(*m)) rows.emplace_back(label, number(value));
      }
      std::size_t width = std::string("metric").size();
      for (const auto& r : rows) width = std::max(width, r.first.size());
      out << fmt::format("{:<{}}  {}\n", "metric", width, "value");
      out << fmt::format("{:-<{}}  {:-<10}\n", "", width, "");
      for (const auto& [name, value] : rows) out << fmt::format("{:<{}}  {:>10}\n", name, width, value);
      out << fmt::format("({} samples, {})\n", result.samples, task_name(result.task));
      return;
    }
  }
}

}  // namespace tally::cli
