#include "slices.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "report.h"

namespace tally::cli {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Splits one CSV line on `delimiter`, honouring double quotes ("" inside quotes is a quote).
std::vector<std::string> split_csv(const std::string& line, char delimiter) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw InputError(fmt::format("{}: cannot open", path));
  std::vector<std::string> lines;
  std::string line;
  char buffer[1 << 16];
  while (gzgets(f, buffer, sizeof buffer) != nullptr) {
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      lines.push_back(std::move(line));
      line.clear();
    }
  }
  gzclose(f);
  if (!line.empty()) lines.push_back(std::move(line));
  if (!lines.empty() && lines[0].rfind("\xEF\xBB\xBF", 0) == 0) lines[0].erase(0, 3);
  return lines;
}

SliceInput read_csv_column(const InputSpec& spec, const OpenOptions& options) {
  std::vector<std::string> lines = read_lines(spec.path);
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) throw InputError(fmt::format("{}: no header row", spec.path));
  char delimiter = options.delimiter;
  if (delimiter == '\0') {
    delimiter = ',';
    for (const char c : {'\t', ';', ','})
      if (lines[0].find(c) != std::string::npos) delimiter = c;
    if (lines[0].find(',') != std::string::npos) delimiter = ',';
  }
  const std::vector<std::string> header = split_csv(lines[0], delimiter);
  std::size_t column = 0;
  if (spec.columns.size() > 1) {
    throw InputError(fmt::format("{}: --slice takes one column; received {}", spec.path, spec.columns.size()));
  }
  if (spec.columns.empty()) {
    if (header.size() != 1) {
      throw InputError(
          fmt::format("{}: {} columns; choose the slice column with {}:NAME", spec.path, header.size(), spec.path));
    }
  } else {
    const std::string& want = spec.columns[0];
    const auto it = std::find(header.begin(), header.end(), want);
    if (it != header.end()) {
      column = static_cast<std::size_t>(it - header.begin());
    } else {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(want.data(), want.data() + want.size(), index);
      if (ec != std::errc() || end != want.data() + want.size() || index >= header.size()) {
        throw InputError(fmt::format("{}: no column {}; the columns are {}", spec.path, quote_for_message(want),
                                     quote_for_message(fmt::format("{}", fmt::join(header, ", ")))));
      }
      column = index;
    }
  }
  SliceInput in;
  in.path = spec.path;
  in.feature = header[column];
  in.rows = static_cast<std::int64_t>(lines.size()) - 1;
  // Intern once; remember whether every value is an integer.
  std::unordered_map<std::string, std::int32_t> index;
  std::vector<std::int64_t> ints;
  bool integral = true;
  in.codes.reserve(lines.size() - 1);
  for (std::size_t r = 1; r < lines.size(); ++r) {
    std::vector<std::string> fields = split_csv(lines[r], delimiter);
    if (fields.size() <= column) {
      throw InputError(fmt::format("{}: row {} has {} fields; the slice column is field {}", spec.path, r - 1,
                                   fields.size(), column + 1));
    }
    std::string& v = fields[column];
    if (v.empty() || v == "nan" || v == "NaN" || v == "NA") {
      throw InputError(fmt::format("{}: missing slice value ({}) at row {} of column {}", spec.path,
                                   quote_for_message(v), r - 1, quote_for_message(in.feature)));
    }
    if (integral) {
      std::int64_t x = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec == std::errc() && end == v.data() + v.size()) {
        ints.push_back(x);
      } else {
        integral = false;
      }
    }
    const auto [it, inserted] = index.try_emplace(std::move(v), static_cast<std::int32_t>(in.dictionary.size()));
    if (inserted) in.dictionary.push_back(it->first);
    in.codes.push_back(it->second);
  }
  if (integral) {
    in.ids = Tensor::from_vector(std::span<const std::int64_t>(ints));
    in.codes.clear();
    in.dictionary.clear();
  } else {
    in.strings = true;
  }
  return in;
}

// Worst first: ascending for higher-is-better metrics, descending for lower-is-better ones.
bool higher_is_better(const SlicedCollection& sliced, const std::string& metric) {
  return sliced.prototype().metric(metric).direction() != Direction::kLowerIsBetter;
}

std::string number(double x) {
  if (std::isnan(x)) return "nan";
  return fmt::format("{:.6g}", x);
}

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '"') {
      out += "&quot;";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

SliceColumn SliceInput::column(std::int64_t begin, std::int64_t end) const {
  if (!strings) return SliceColumn::ids(ids.view().slice_rows(begin, end));
  return SliceColumn::codes(std::span<const std::int32_t>(codes).subspan(static_cast<std::size_t>(begin),
                                                                         static_cast<std::size_t>(end - begin)),
                            dictionary);
}

SliceInput read_slice_input(const std::string& argument, const OpenOptions& options) {
  const InputSpec spec = parse_input_spec(argument);
  check_regular_file(spec.path);
  if (ends_with(spec.path, ".csv") || ends_with(spec.path, ".csv.gz")) return read_csv_column(spec, options);
  std::unique_ptr<ArraySource> source = open_source(spec, options);
  if (!(source->row_shape().empty() || (source->row_shape().size() == 1 && source->row_shape()[0] == 1))) {
    throw InputError(fmt::format("{}: a slice column must be one value per row; received rows of shape {}",
                                 source->path(), shape_string(source->row_shape())));
  }
  SliceInput in;
  in.path = source->path();
  in.rows = source->rows();
  in.feature = !spec.columns.empty() ? spec.columns[0] : std::filesystem::path(spec.path).stem().string();
  const TensorView all = source->read(0, in.rows);
  in.ids = Tensor::copy_of(all.ndim() == 2 ? all.reshape({in.rows}) : all);
  if (is_floating(in.ids.dtype())) {
    for (std::int64_t i = 0; i < in.rows; ++i) {
      const double x = in.ids.view().value_at(i);
      if (std::isnan(x) || x != std::trunc(x)) {
        throw InputError(
            fmt::format("{}: slice id {} at row {} is not an integer (bin the feature first)", in.path, x, i));
      }
    }
  }
  return in;
}

std::vector<SliceResult> shown_slices(const SlicedCollection& sliced, const SliceDisplay& display) {
  std::vector<SliceResult> rows = sliced.result(display.min_slice_size);
  if (display.sort_by.empty()) return rows;
  std::size_t column = 0;
  const std::vector<std::string> names = sliced.prototype().names();
  const auto it = std::find(names.begin(), names.end(), display.sort_by);
  if (it == names.end()) {
    throw InvalidArgument(
        fmt::format("--sort-slices: no metric \"{}\"; the metrics are {}", display.sort_by, fmt::join(names, ", ")));
  }
  column = static_cast<std::size_t>(it - names.begin());
  const bool ascending = higher_is_better(sliced, display.sort_by);
  auto key = [&](const SliceResult& r) {
    const std::vector<double> v = r.metrics[column].second.to_doubles();
    const double x = v.empty() ? std::nan("") : v[0];
    return std::isnan(x) ? std::numeric_limits<double>::infinity() : (ascending ? x : -x);  // NaN last
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const SliceResult& a, const SliceResult& b) { return key(a) < key(b); });
  return rows;
}

Json slices_json(const SlicedCollection& sliced, const SliceDisplay& display) {
  Json out = Json::object();
  for (const SliceResult& r : sliced.result(display.min_slice_size)) {
    Json metrics = Json::object();
    for (const auto& [name, value] : r.metrics) metrics[name] = result_to_json(value);
    out[r.name] = Json{{"samples", r.samples}, {"metrics", metrics}};
  }
  return out;
}

void write_slice_table(std::ostream& out, const SlicedCollection& sliced, const SliceDisplay& display) {
  const std::vector<SliceResult> rows = shown_slices(sliced, display);
  std::vector<std::string> names;
  std::vector<std::size_t> scalar;
  const std::vector<std::string> all = sliced.prototype().names();
  if (!rows.empty()) {
    for (std::size_t m = 0; m < rows[0].metrics.size(); ++m) {
      if (rows[0].metrics[m].second.ndim() == 0) {
        scalar.push_back(m);
        names.push_back(all[m]);
      }
    }
  }
  std::size_t width = std::string("slice").size();
  for (const SliceResult& r : rows) width = std::max(width, r.name.size());
  out << fmt::format("\n{:<{}}  {:>9}", "slice", width, "samples");
  for (const std::string& n : names) out << fmt::format("  {:>{}}", n, std::max<std::size_t>(n.size(), 10));
  out << "\n" << fmt::format("{:-<{}}  {:->9}", "", width, "");
  for (const std::string& n : names) out << fmt::format("  {:->{}}", "", std::max<std::size_t>(n.size(), 10));
  out << "\n";
  for (const SliceResult& r : rows) {
    out << fmt::format("{:<{}}  {:>9}", r.name, width, r.samples);
    for (std::size_t k = 0; k < scalar.size(); ++k) {
      out << fmt::format("  {:>{}}", number(r.metrics[scalar[k]].second.item()),
                         std::max<std::size_t>(names[k].size(), 10));
    }
    out << "\n";
  }
  const std::size_t hidden = sliced.num_slices() - rows.size();
  out << fmt::format("({} slices{}{})\n", rows.size(),
                     hidden > 0 ? fmt::format("; {} with fewer than {} samples hidden", hidden, display.min_slice_size)
                                : std::string(),
                     display.sort_by.empty() ? std::string() : fmt::format("; worst {} first", display.sort_by));
}

void write_slice_csv(std::ostream& out, const SlicedCollection& sliced, const SliceDisplay& display) {
  auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (const SliceResult& r : shown_slices(sliced, display)) {
    out << field(r.name + "/samples") << "," << r.samples << "\n";
    for (const auto& [name, value] : r.metrics) {
      if (value.ndim() != 0) continue;
      const double x = value.item();
      out << field(r.name + "/" + name) << "," << (std::isnan(x) ? std::string("nan") : fmt::format("{:.12g}", x))
          << "\n";
    }
  }
}

std::string slices_html(const SlicedCollection& sliced, const SliceDisplay& display, double overall) {
  const std::vector<SliceResult> rows = shown_slices(sliced, display);
  const std::vector<std::string> names = sliced.prototype().names();
  std::string h = "<h2>Slices</h2>";
  if (rows.empty()) return h + "<p>No slice has enough samples to be shown.</p>";
  // The bar chart: the sort metric, else the first scalar metric.
  std::size_t chart = names.size();
  for (std::size_t m = 0; m < names.size(); ++m) {
    if (rows[0].metrics[m].second.ndim() == 0 && (chart == names.size() || names[m] == display.sort_by)) chart = m;
  }
  if (chart < names.size()) {
    const double bar = 18, label_w = 220, plot_w = 360;
    double top = std::isnan(overall) ? 0.0 : overall;
    for (const SliceResult& r : rows) {
      const double x = r.metrics[chart].second.item();
      if (std::isfinite(x)) top = std::max(top, x);
    }
    if (!(top > 0)) top = 1.0;
    const double height = bar * static_cast<double>(rows.size()) + 40;
    h += fmt::format(R"(<figure><svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img")"
                     R"( aria-label="{} per slice"><title>{} per slice</title>)",
                     label_w + plot_w + 70, height, escape(names[chart]), escape(names[chart]));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const double x = rows[i].metrics[chart].second.item();
      const double w = std::isfinite(x) ? std::max(0.0, x) / top * plot_w : 0.0;
      const double y = 10 + bar * static_cast<double>(i);
      h += fmt::format(
          R"(<text x="{}" y="{:.1f}" text-anchor="end" font-size="11" font-family="monospace">{}</text>)"
          R"(<rect x="{}" y="{:.1f}" width="{:.2f}" height="{}" fill="#4c78a8"><title>{}: {} ({} samples)</title></rect>)"
          R"(<text x="{:.1f}" y="{:.1f}" font-size="10">{}</text>)",
          label_w - 6, y + 12, escape(rows[i].name), label_w, y + 2, w, bar - 4, escape(rows[i].name), number(x),
          rows[i].samples, label_w + w + 4, y + 12, number(x));
    }
    if (!std::isnan(overall)) {
      const double x = label_w + std::max(0.0, overall) / top * plot_w;
      h += fmt::format(
          R"(<line x1="{:.2f}" y1="6" x2="{:.2f}" y2="{:.1f}" stroke="#e45756" stroke-width="2" stroke-dasharray="4 2"/>)"
          R"(<text x="{:.2f}" y="{:.1f}" font-size="11" fill="#e45756" text-anchor="middle">overall {}</text>)",
          x, x, height - 22, x, height - 8, number(overall));
    }
    h += fmt::format("</svg><figcaption>{} per slice{}; the dashed line marks the overall value.</figcaption></figure>",
                     escape(names[chart]), display.sort_by.empty() ? "" : " (worst first)");
  }
  h += "<table><tr><th>slice</th><th>samples</th>";
  for (const std::string& n : names) h += "<th>" + escape(n) + "</th>";
  h += "</tr>";
  for (const SliceResult& r : rows) {
    h += fmt::format("<tr><td class=\"name\">{}</td><td>{}</td>", escape(r.name), r.samples);
    for (const auto& [name, value] : r.metrics) h += "<td>" + escape(result_to_json(value).dump()) + "</td>";
    h += "</tr>";
  }
  h += "</table>";
  if (display.min_slice_size > 0) {
    h += fmt::format("<p>Slices with fewer than {} samples are hidden ({} of {}).</p>", display.min_slice_size,
                     sliced.num_slices() - rows.size(), sliced.num_slices());
  }
  return h;
}

}  // namespace tally::cli
