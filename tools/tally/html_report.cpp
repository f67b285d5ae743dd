#include "html_report.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report.h"
#include "tally/version.h"

namespace tally::cli {
namespace {

// Variable indices by task.
enum BinaryVar : std::size_t { kPos = 0, kNeg, kClassWeight, kConfusion, kScoreHist };
enum RegressionVar : std::size_t { kStats = 0, kLow, kHigh };
// kStats elements.
enum Stat : std::size_t { kW = 0, kT, kP, kTT, kPP, kR, kRR, kStatCount };

std::int64_t bin_of(double p, std::int64_t bins) {
  if (!(p > 0.0)) return 0;
  return std::min<std::int64_t>(bins - 1, static_cast<std::int64_t>(p * static_cast<double>(bins)));
}

std::vector<double> contiguous(const TensorView& v) { return Tensor::copy_of(v).to_doubles(); }

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const char* color(std::size_t i) {
  static const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kPalette[i % 10];
}

struct Curve {
  std::vector<std::pair<double, double>> roc;  // (fpr, tpr)
  std::vector<std::pair<double, double>> pr;   // (recall, precision)
  double roc_auc = 0.0;
};

// ROC and PR curves from per-bin positive and negative weights (thresholds at bin edges).
Curve curve_from(std::span<const double> pos, std::span<const double> neg) {
  Curve c;
  double p_total = 0.0, n_total = 0.0;
  for (std::size_t i = 0; i < pos.size(); ++i) {
    p_total += pos[i];
    n_total += neg[i];
  }
  double tp = 0.0, fp = 0.0;
  c.roc.emplace_back(0.0, 0.0);
  for (std::size_t k = pos.size(); k-- > 0;) {
    tp += pos[k];
    fp += neg[k];
    const double tpr = p_total > 0 ? tp / p_total : 0.0;
    const double fpr = n_total > 0 ? fp / n_total : 0.0;
    c.roc_auc += (fpr - c.roc.back().first) * (tpr + c.roc.back().second) / 2.0;
    c.roc.emplace_back(fpr, tpr);
    if (tp + fp > 0) c.pr.emplace_back(tpr, tp / (tp + fp));
  }
  return c;
}

std::string svg_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                     const std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>& series,
                     bool diagonal) {
  const double size = 300.0, pad = 40.0;
  std::ostringstream s;
  s << fmt::format(R"(<figure><svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{0}" role="img">)",
                   size + 2 * pad);
  s << fmt::format(R"(<rect x="{0}" y="{0}" width="{1}" height="{1}" fill="#fafafa" stroke="#333"/>)", pad, size);
  for (int i = 1; i < 5; ++i) {
    const double g = pad + size * i / 5.0;
    s << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#ddd"/>)", pad, g, pad + size);
    s << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/>)", g, pad, pad + size);
  }
  if (diagonal) {
    s << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{1}" y2="{0}" stroke="#aaa" stroke-dasharray="4"/>)", pad,
                     pad + size);
  }
  std::size_t index = 0;
  for (const auto& [name, points] : series) {
    s << R"(<polyline fill="none" stroke-width="2" stroke=")" << color(index++) << R"(" points=")";
    for (const auto& [x, y] : points) {
      s << fmt::format("{:.2f},{:.2f} ", pad + x * size, pad + (1.0 - y) * size);
    }
    s << R"("><title>)" << escape(name) << "</title></polyline>";
  }
  s << fmt::format(R"(<text x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>)", pad + size / 2,
                   size + 2 * pad - 8, escape(x_label));
  s << fmt::format(
      R"svg(<text x="12" y="{}" text-anchor="middle" font-size="13" transform="rotate(-90 12 {})">{}</text>)svg",
      pad + size / 2, pad + size / 2, escape(y_label));
  s << fmt::format(R"(<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>)",
                   pad + size / 2, escape(title));
  s << "</svg>";
  if (series.size() > 1 && series.size() <= 20) {
    s << "<figcaption>";
    for (std::size_t i = 0; i < series.size(); ++i) {
      s << fmt::format(R"(<span style="color:{}">&#9632; {}</span> )", color(i), escape(series[i].first));
    }
    s << "</figcaption>";
  }
  s << "</figure>";
  return s.str();
}

std::string svg_bars(const std::string& title, const std::vector<double>& values,
                     const std::vector<std::string>& labels) {
  const double width = 420.0, height = 200.0, pad = 30.0;
  double top = 0.0;
  for (const double v : values) top = std::max(top, v);
  std::ostringstream s;
  s << fmt::format(R"(<figure><svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}">)", width + 2 * pad,
                   height + 2 * pad);
  s << fmt::format(R"(<text x="{}" y="18" text-anchor="middle" font-size="15" font-weight="bold">{}</text>)",
                   pad + width / 2, escape(title));
  const double bar = width / static_cast<double>(std::max<std::size_t>(values.size(), 1));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double h = top > 0 ? values[i] / top * height : 0.0;
    s << fmt::format(
        R"(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="#4c78a8"><title>{}: {:.6g}</title></rect>)",
        pad + i * bar, pad + height - h, std::max(bar - 1.0, 0.5), h, escape(labels[i]), values[i]);
  }
  s << fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#333"/>)", pad, pad + height, pad + width);
  if (!labels.empty()) {
    s << fmt::format(R"(<text x="{}" y="{}" font-size="11">{}</text>)", pad, pad + height + 14, escape(labels.front()));
    s << fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>)", pad + width,
                     pad + height + 14, escape(labels.back()));
  }
  s << "</svg></figure>";
  return s.str();
}

std::string heat_map(std::span<const double> matrix, std::int64_t classes) {
  std::ostringstream s;
  s << "<table class=\"cm\"><tr><th>true \\ pred</th>";
  for (std::int64_t c = 0; c < classes; ++c) s << "<th>" << c << "</th>";
  s << "</tr>";
  for (std::int64_t r = 0; r < classes; ++r) {
    double row_total = 0.0;
    for (std::int64_t c = 0; c < classes; ++c) row_total += matrix[static_cast<std::size_t>(r * classes + c)];
    s << "<tr><th>" << r << "</th>";
    for (std::int64_t c = 0; c < classes; ++c) {
      const double v = matrix[static_cast<std::size_t>(r * classes + c)];
      const double share = row_total > 0 ? v / row_total : 0.0;
      const int light = static_cast<int>(std::lround(255 - 200 * share));
      s << fmt::format(R"(<td style="background:rgb({0},{0},255);color:{1}" title="{2:.4g} of row {3}">{4:.6g}</td>)",
                       light, share > 0.6 ? "#fff" : "#000", share, r, v);
    }
    s << "</tr>";
  }
  s << "</table>";
  return s.str();
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IOError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
    out << text;
    out.flush();
    if (!out) throw IOError(fmt::format("{}: write failed", path));
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw IOError(fmt::format("{}: cannot rename the finished report into place", path));
  }
}

}  // namespace

DataSummary::DataSummary(Task task, std::int64_t columns)
    : MetricWithClone("data_summary", DType::kFloat64), task_(task), classes_(0), curves_(0) {
  if (task == Task::kRegression) {
    add_variable("stats", {kStatCount});
    add_variable("low", {3}, DType::kFloat64, Aggregation::kMin);
    add_variable("high", {3}, DType::kFloat64, Aggregation::kMax);
    return;
  }
  classes_ = task == Task::kMulticlass ? columns : 2;
  curves_ = task == Task::kMulticlass ? (classes_ <= kMaxClasses ? classes_ : 0) : 1;
  const std::int64_t cm = classes_ <= kMaxClasses ? classes_ : 0;
  add_variable("positive_scores", {curves_, kCurveBins});
  add_variable("negative_scores", {curves_, kCurveBins});
  add_variable("class_weight", {classes_});
  add_variable("confusion", {cm, cm});
  add_variable("score_histogram", {kHistogramBins});
}

void DataSummary::accumulate(Variables& vars, const Batch& batch) const {
  const std::vector<double> t = contiguous(batch.y_true);
  const std::vector<double> p = contiguous(batch.y_pred);
  const std::int64_t rows = batch.y_pred.ndim() == 0 ? 1 : batch.y_pred.shape()[0];
  std::vector<double> w(static_cast<std::size_t>(rows), 1.0);
  if (batch.sample_weight.has_value()) w = contiguous(batch.sample_weight);
  if (static_cast<std::int64_t>(w.size()) != rows) throw ShapeError("report: sample_weight rows differ from y_pred");
  for (const double x : w) {
    if (!(x >= 0.0) || std::isinf(x)) throw InvalidArgument("report: sample weights must be finite and >= 0");
  }
  if (task_ == Task::kRegression) {
    const std::int64_t per_row = static_cast<std::int64_t>(p.size()) / std::max<std::int64_t>(rows, 1);
    if (t.size() != p.size()) throw ShapeError("report: y_true and y_pred sizes differ");
    auto stats = vars.f64(kStats);
    auto low = vars.f64(kLow);
    auto high = vars.f64(kHigh);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double wi = w[i / static_cast<std::size_t>(per_row)];
      const double r = p[i] - t[i];
      stats[kW] += wi;
      stats[kT] += wi * t[i];
      stats[kP] += wi * p[i];
      stats[kTT] += wi * t[i] * t[i];
      stats[kPP] += wi * p[i] * p[i];
      stats[kR] += wi * r;
      stats[kRR] += wi * r * r;
      const double values[3] = {t[i], p[i], r};
      for (int k = 0; k < 3; ++k) {
        low[static_cast<std::size_t>(k)] = std::min(low[static_cast<std::size_t>(k)], values[k]);
        high[static_cast<std::size_t>(k)] = std::max(high[static_cast<std::size_t>(k)], values[k]);
      }
    }
    return;
  }
  auto pos = vars.f64(kPos);
  auto neg = vars.f64(kNeg);
  auto balance = vars.f64(kClassWeight);
  auto confusion = vars.f64(kConfusion);
  auto hist = vars.f64(kScoreHist);
  if (task_ == Task::kMulticlass) {
    const std::int64_t c = classes_;
    const bool one_hot = static_cast<std::int64_t>(t.size()) == rows * c;
    for (std::int64_t r = 0; r < rows; ++r) {
      std::int64_t label = 0;
      if (one_hot) {
        const auto row = t.begin() + r * c;
        label = std::max_element(row, row + c) - row;
      } else {
        label = static_cast<std::int64_t>(t[static_cast<std::size_t>(r)]);
      }
      if (label < 0 || label >= c) throw InvalidArgument(fmt::format("report: label {} outside [0, {})", label, c));
      const auto row = p.begin() + r * c;
      const std::int64_t predicted = std::max_element(row, row + c) - row;
      const double wi = w[static_cast<std::size_t>(r)];
      balance[static_cast<std::size_t>(label)] += wi;
      if (!confusion.empty()) confusion[static_cast<std::size_t>(label * c + predicted)] += wi;
      hist[static_cast<std::size_t>(bin_of(row[predicted], kHistogramBins))] += wi;
      for (std::int64_t k = 0; k < curves_; ++k) {
        const auto at = static_cast<std::size_t>(k * kCurveBins + bin_of(row[k], kCurveBins));
        (k == label ? pos : neg)[at] += wi;
      }
    }
    return;
  }
  // Binary and multilabel (flattened, micro): a label is positive iff non-zero, a
  // prediction iff > 0.5, as Keras's BinaryAccuracy decides.
  if (t.size() != p.size()) throw ShapeError("report: y_true and y_pred sizes differ");
  const std::size_t per_row = p.size() / static_cast<std::size_t>(std::max<std::int64_t>(rows, 1));
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double wi = w[i / per_row];
    const bool positive = t[i] != 0.0;
    balance[positive ? 1 : 0] += wi;
    confusion[(positive ? 2 : 0) + (p[i] > 0.5 ? 1 : 0)] += wi;
    hist[static_cast<std::size_t>(bin_of(p[i], kHistogramBins))] += wi;
    (positive ? pos : neg)[static_cast<std::size_t>(bin_of(p[i], kCurveBins))] += wi;
  }
}

Tensor DataSummary::result_from(const Variables& vars) const {
  double total = 0.0;
  if (task_ == Task::kRegression) {
    total = vars.f64(kStats)[kW];
  } else {
    for (const double x : vars.f64(kClassWeight)) total += x;
  }
  return Tensor::scalar(total);
}

std::vector<std::unique_ptr<Metric>> make_report_summary(Task task, std::int64_t columns) {
  std::vector<std::unique_ptr<Metric>> out;
  out.push_back(std::make_unique<DataSummary>(task, columns));
  return out;
}

std::string render_html_report(const EvalResult& result, const std::string& title) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << escape(title) << "</title><style>"
    << "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    << "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f0f0f0}"
    << "td.name{text-align:left;font-family:monospace}.cm "
       "td{min-width:2.5em}figure{display:inline-block;margin:1em;max-width:400px;vertical-align:top}"
    << "footer{margin-top:2em;color:#777;font-size:small}</style></head><body>";
  h << "<h1>" << escape(title) << "</h1>";
  h << fmt::format("<p>{} samples; task: {}.</p>", result.samples, task_name(result.task));
  h << "<h2>Metrics</h2><table><tr><th>metric</th><th>class</th><th>value</th></tr>";
  for (const auto& m : result.metrics) {
    h << "<tr><td class=\"name\">" << escape(m->name()) << "</td><td>" << escape(m->class_name()) << "</td><td>"
      << escape(result_to_json(m->result()).dump()) << "</td></tr>";
  }
  h << "</table>";

  const DataSummary* summary = nullptr;
  for (const auto& m : result.extra) {
    if ((summary = dynamic_cast<const DataSummary*>(m.get())) != nullptr) break;
  }
  if (summary != nullptr) {
    const Variables& v = summary->variable_values();
    if (summary->task() == Task::kRegression) {
      const auto s = v.f64(kStats);
      const double n = s[kW] > 0 ? s[kW] : 1.0;
      auto row = [&](const char* name, std::size_t sum, std::size_t sq, std::size_t k) {
        const double mean = s[sum] / n;
        const double sd = std::sqrt(std::max(0.0, s[sq] / n - mean * mean));
        h << fmt::format(
            "<tr><td class=\"name\">{}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td></tr>", name,
            mean, sd, v.f64(kLow)[k], v.f64(kHigh)[k]);
      };
      h << "<h2>Data</h2><table><tr><th></th><th>mean</th><th>std</th><th>min</th><th>max</th></tr>";
      row("y_true", kT, kTT, 0);
      row("y_pred", kP, kPP, 1);
      row("residual (y_pred - y_true)", kR, kRR, 2);
      h << "</table>";
    } else {
      const std::int64_t classes = summary->classes();
      h << "<h2>Curves</h2>";
      const auto pos = v.f64(kPos);
      const auto neg = v.f64(kNeg);
      const std::int64_t curves = v.layout()[kPos].shape[0];
      std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>> roc, pr;
      for (std::int64_t k = 0; k < curves; ++k) {
        const auto b = static_cast<std::size_t>(k * DataSummary::kCurveBins);
        const Curve c = curve_from(pos.subspan(b, DataSummary::kCurveBins), neg.subspan(b, DataSummary::kCurveBins));
        const std::string name = curves == 1 ? fmt::format("ROC AUC {:.4f} (binned)", c.roc_auc)
                                             : fmt::format("class {} (AUC {:.3f})", k, c.roc_auc);
        roc.emplace_back(name, c.roc);
        pr.emplace_back(curves == 1 ? std::string("precision-recall") : fmt::format("class {}", k), c.pr);
      }
      if (curves > 0) {
        h << svg_plot(curves == 1 ? roc.front().first : "ROC, one vs rest", "false positive rate", "true positive rate",
                      roc, true);
        h << svg_plot("Precision-recall", "recall", "precision", pr, false);
      } else {
        h << "<p>Too many classes for per-class curves.</p>";
      }
      const auto cm = v.f64(kConfusion);
      if (!cm.empty()) {
        const std::int64_t n = summary->task() == Task::kMulticlass ? classes : 2;
        h << "<h2>Confusion matrix</h2><p>Rows: true class; columns: predicted class"
          << (summary->task() == Task::kMulticlass ? " (argmax)" : " (score &gt; 0.5)") << ".</p>" << heat_map(cm, n);
      }
      h << "<h2>Data</h2>";
      std::vector<double> balance(v.f64(kClassWeight).begin(), v.f64(kClassWeight).end());
      std::vector<std::string> names;
      for (std::size_t i = 0; i < balance.size(); ++i) names.push_back(fmt::format("class {}", i));
      h << svg_bars("Class balance", balance, names);
      std::vector<double> hist(v.f64(kScoreHist).begin(), v.f64(kScoreHist).end());
      std::vector<std::string> edges;
      for (std::size_t i = 0; i < hist.size(); ++i) {
        edges.push_back(fmt::format("[{:.3f}, {:.3f})", static_cast<double>(i) / static_cast<double>(hist.size()),
                                    static_cast<double>(i + 1) / static_cast<double>(hist.size())));
      }
      h << svg_bars(summary->task() == Task::kMulticlass ? "Top score histogram" : "Score histogram", hist, edges);
    }
  }
  h << "<footer>Written by tally " << escape(version())
    << ". Curves come from fixed score bins, so their AUC is an approximation; the metric table is exact.</footer>";
  h << "</body></html>\n";
  return h.str();
}

void write_html_report(const EvalResult& result, const std::string& path, const std::string& title) {
  write_atomically(path, render_html_report(result, title));
}

}  // namespace tally::cli
