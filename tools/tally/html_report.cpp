#include "html_report.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "report.h"
#include "tally/metrics/classwise.h"
#include "tally/metrics/confusion.h"
#include "tally/version.h"

namespace tally::cli {
namespace {

// Variable indices by task.
enum ClassVar : std::size_t { kPos = 0, kNeg, kClassWeight, kConfusion, kScoreHist, kCalibration };
enum RegressionVar : std::size_t { kStats = 0, kLow, kHigh, kDensity, kResidualHist };
// kStats elements, per output.
enum Stat : std::size_t { kW = 0, kT, kP, kTT, kPP, kR, kRR, kAbsR, kStatCount };
// kCalibration rows: weight, sum of confidence, sum of correct (or positive).
enum Calibration : std::size_t { kCalWeight = 0, kCalConfidence, kCalCorrect };

constexpr std::int64_t kBins = DataSummary::kHistogramBins;

std::int64_t bin_of(double p, std::int64_t bins) {
  if (!(p > 0.0)) return 0;
  return std::min<std::int64_t>(bins - 1, static_cast<std::int64_t>(p * static_cast<double>(bins)));
}

// Bin of x in [low, high) with values outside counted in the end bins.
std::int64_t range_bin(double x, double low, double high, std::int64_t bins) {
  return bin_of((x - low) / (high - low), bins);
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

// Twenty distinguishable colours (matplotlib's tab20 order: dark then light of each hue).
const char* color(std::size_t i) {
  static const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                   "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                   "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};
  return kPalette[i % 20];
}

// Tick values for [low, high]: about `want` steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double low, double high, int want = 5) {
  std::vector<double> out;
  if (!(high > low) || !std::isfinite(low) || !std::isfinite(high)) return {low};
  const double raw = (high - low) / want;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  for (double t = std::ceil(low / step - 1e-9) * step; t <= high + step * 1e-9; t += step) {
    out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

std::string tick_label(double v) { return fmt::format("{:.4g}", v); }

// The drawing area of one chart: data ranges mapped onto a plot box, and the axes with
// ticks, tick labels and titles drawn around it.
struct Frame {
  double width = 360, height = 300;  // whole SVG
  double left = 56, right = 14, top = 30, bottom = 46;
  double x_low = 0, x_high = 1, y_low = 0, y_high = 1;
  double plot_w() const { return width - left - right; }
  double plot_h() const { return height - top - bottom; }
  double x(double v) const { return left + (v - x_low) / (x_high - x_low) * plot_w(); }
  double y(double v) const { return top + plot_h() - (v - y_low) / (y_high - y_low) * plot_h(); }

  std::string open(const std::string& title, const std::string& label) const {
    return fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" )"
        R"(aria-label="{2}"><text x="{3}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{4}</text>)"
        R"(<rect x="{5}" y="{6}" width="{7}" height="{8}" fill="#fafafa" stroke="#333"/>)",
        width, height, escape(label), left + plot_w() / 2, escape(title), left, top, plot_w(), plot_h());
  }

  // Grid lines, ticks and their labels on both axes, and the axis titles.
  std::string axes(const std::string& x_title, const std::string& y_title, bool x_ticks = true) const {
    std::string s;
    if (x_ticks) {
      for (const double t : ticks(x_low, x_high)) {
        const double px = x(t);
        s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#e4e4e4"/>)", px, top,
                         top + plot_h());
        s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#333"/>)", px, top + plot_h(),
                         top + plot_h() + 4);
        s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" font-size="11">{}</text>)", px,
                         top + plot_h() + 16, tick_label(t));
      }
    }
    for (const double t : ticks(y_low, y_high)) {
      const double py = y(t);
      s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#e4e4e4"/>)", left, py,
                       left + plot_w());
      s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#333"/>)", left - 4, py, left);
      s += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end" font-size="11">{}</text>)", left - 6, py + 4,
                       tick_label(t));
    }
    s += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle" font-size="12">{}</text>)", left + plot_w() / 2,
                     height - 8, escape(x_title));
    s += fmt::format(
        R"svg(<text x="13" y="{0}" text-anchor="middle" font-size="12" transform="rotate(-90 13 {0})">{1}</text>)svg",
        top + plot_h() / 2, escape(y_title));
    return s;
  }
};

using Series = std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>;

// Where a legend sits inside the plot box: the corner the curves of that chart leave free.
enum class Corner : std::uint8_t { kBottomRight, kBottomLeft, kTopLeft };

// A legend drawn inside the plot box: one row per series, its colour swatch beside its label.
std::string legend(const Frame& f, const std::vector<std::string>& labels, Corner corner) {
  if (labels.size() <= 1 || labels.size() > 20) return {};
  const double row = 13, w = 128;
  const double h = row * static_cast<double>(labels.size()) + 6;
  const double x0 = corner == Corner::kBottomRight ? f.left + f.plot_w() - w - 4 : f.left + 4;
  const double y0 = corner == Corner::kTopLeft ? f.top + 4 : f.top + f.plot_h() - h - 4;
  std::string s = fmt::format(R"(<g font-size="10"><rect x="{}" y="{}" width="{}" height="{}" fill="#fff" )"
                              R"(fill-opacity="0.85" stroke="#bbb"/>)",
                              x0, y0, w, h);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double y = y0 + 4 + row * static_cast<double>(i);
    s += fmt::format(R"(<rect x="{}" y="{}" width="14" height="8" fill="{}"/>)", x0 + 4, y + 1, color(i));
    s += fmt::format(R"(<text x="{}" y="{}">{}</text>)", x0 + 22, y + 9, escape(labels[i]));
  }
  return s + "</g>";
}

// Lines over [0, 1] x [0, 1] (ROC, precision-recall, reliability) with a legend.
std::string svg_lines(const std::string& title, const std::string& x_label, const std::string& y_label,
                      const Series& series, bool diagonal, Corner corner, bool markers = false) {
  Frame f;
  std::ostringstream s;
  s << "<figure>" << f.open(title, title) << f.axes(x_label, y_label);
  if (diagonal) {
    s << fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4"/>)", f.x(0), f.y(0),
                     f.x(1), f.y(1));
  }
  std::vector<std::string> labels;
  std::size_t index = 0;
  for (const auto& [name, points] : series) {
    labels.push_back(name);
    s << R"(<polyline fill="none" stroke-width="2" stroke=")" << color(index) << R"(" points=")";
    for (const auto& [x, y] : points) s << fmt::format("{:.2f},{:.2f} ", f.x(x), f.y(y));
    s << R"("><title>)" << escape(name) << "</title></polyline>";
    if (markers) {
      for (const auto& [x, y] : points) {
        s << fmt::format(R"(<circle cx="{:.2f}" cy="{:.2f}" r="3" fill="{}"/>)", f.x(x), f.y(y), color(index));
      }
    }
    ++index;
  }
  s << legend(f, labels, corner) << "</svg>";
  if (series.size() > 20) s << "<figcaption>Colours repeat after 20 classes; hover a line for its class.</figcaption>";
  s << "</figure>";
  return s.str();
}

// Bars with a y axis of weights. Categorical bars (class balance) label each bar when
// there is room; a histogram (edges given) gets a numeric x axis over [x_low, x_high].
std::string svg_bars(const std::string& title, const std::string& x_title, const std::vector<double>& values,
                     const std::vector<std::string>& labels, bool histogram, double x_low = 0, double x_high = 1) {
  Frame f;
  f.width = 420;
  double top = 0.0;
  for (const double v : values) top = std::max(top, v);
  f.y_low = 0;
  f.y_high = top > 0 ? top * 1.05 : 1.0;
  f.x_low = histogram ? x_low : 0;
  f.x_high = histogram ? x_high : static_cast<double>(std::max<std::size_t>(values.size(), 1));
  std::ostringstream s;
  s << "<figure>" << f.open(title, title) << f.axes(x_title, "weight (rows)", histogram);
  const double bar = f.plot_w() / static_cast<double>(std::max<std::size_t>(values.size(), 1));
  const std::size_t every = std::max<std::size_t>(1, (values.size() + 19) / 20);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double h = values[i] / (f.y_high - f.y_low) * f.plot_h();
    const double x = f.left + static_cast<double>(i) * bar;
    s << fmt::format(
        R"(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="#4c78a8"><title>{}: {:.6g}</title></rect>)",
        x + 0.5, f.top + f.plot_h() - h, std::max(bar - 1.0, 0.5), h, escape(labels[i]), values[i]);
    if (!histogram && i % every == 0) {
      s << fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" font-size="11">{}</text>)", x + bar / 2,
                       f.top + f.plot_h() + 16, escape(labels[i]));
    }
  }
  s << "</svg></figure>";
  return s.str();
}

// A 2-D histogram of (true, predicted) as shaded cells on shared axes, with the y = x line.
std::string svg_density(std::span<const double> cells, const ReportRanges& r) {
  Frame f;
  f.width = 400;
  f.height = 360;
  f.right = 64;  // room for the colour scale
  f.x_low = f.y_low = r.low;
  f.x_high = f.y_high = r.high;
  double top = 0.0;
  for (const double c : cells) top = std::max(top, c);
  std::ostringstream s;
  s << "<figure>" << f.open("Predicted vs true (density)", "predicted against true values");
  const double cw = f.plot_w() / static_cast<double>(kBins), ch = f.plot_h() / static_cast<double>(kBins);
  const double bin = (r.high - r.low) / static_cast<double>(kBins);
  // Shade by log(1 + weight) so sparse tails stay visible beside a dense centre.
  const double scale = std::log1p(top);
  for (std::int64_t t = 0; t < kBins; ++t) {
    for (std::int64_t p = 0; p < kBins; ++p) {
      const double v = cells[static_cast<std::size_t>(t * kBins + p)];
      if (v <= 0) continue;
      const double share = scale > 0 ? std::log1p(v) / scale : 0.0;
      const int light = static_cast<int>(std::lround(235 - 200 * share));
      s << fmt::format(
          R"svg(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="rgb({},{},255)"><title>true )svg"
          R"svg([{:.4g}, {:.4g}), predicted [{:.4g}, {:.4g}): {:.6g}</title></rect>)svg",
          f.left + static_cast<double>(t) * cw, f.top + f.plot_h() - static_cast<double>(p + 1) * ch, cw + 0.2,
          ch + 0.2, light, light, r.low + static_cast<double>(t) * bin, r.low + static_cast<double>(t + 1) * bin,
          r.low + static_cast<double>(p) * bin, r.low + static_cast<double>(p + 1) * bin, v);
    }
  }
  s << f.axes("true value", "predicted value");
  s << fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d62728" stroke-dasharray="4"/>)", f.x(r.low),
                   f.y(r.low), f.x(r.high), f.y(r.high));
  // Colour scale: light (one row) to dark (the fullest cell).
  const double sx = f.left + f.plot_w() + 14;
  s << "<defs><linearGradient id=\"density-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
    << "<stop offset=\"0\" stop-color=\"rgb(235,235,255)\"/><stop offset=\"1\" stop-color=\"rgb(35,35,255)\"/>"
    << "</linearGradient></defs>";
  s << fmt::format(R"svg(<rect x="{}" y="{}" width="12" height="{}" fill="url(#density-scale)" stroke="#333"/>)svg", sx,
                   f.top, f.plot_h());
  s << fmt::format(R"(<text x="{}" y="{}" font-size="10">{:.4g}</text>)", sx + 15, f.top + 8, top);
  s << fmt::format(R"(<text x="{}" y="{}" font-size="10">1</text>)", sx + 15, f.top + f.plot_h());
  s << fmt::format(R"(<text x="{}" y="{}" font-size="10">weight</text>)", sx - 4, f.top - 4);
  s << "</svg><figcaption>Dashed line: predicted = true. Shade: log of the weight in each cell.</figcaption></figure>";
  return s.str();
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

// The confusion matrix: each cell holds the weight and the share of its true-class row,
// shaded by that share.
std::string confusion_table(std::span<const double> matrix, std::int64_t classes,
                            const std::vector<std::string>& names) {
  std::ostringstream s;
  s << "<table class=\"cm\"><caption>Each cell: weight (rows), and below it the share of the true class's "
       "row.</caption><tr><th>true \\ predicted</th>";
  for (std::int64_t c = 0; c < classes; ++c) s << "<th>" << escape(names[static_cast<std::size_t>(c)]) << "</th>";
  s << "<th>row total</th></tr>";
  for (std::int64_t r = 0; r < classes; ++r) {
    double row_total = 0.0;
    for (std::int64_t c = 0; c < classes; ++c) row_total += matrix[static_cast<std::size_t>(r * classes + c)];
    s << "<tr><th>" << escape(names[static_cast<std::size_t>(r)]) << "</th>";
    for (std::int64_t c = 0; c < classes; ++c) {
      const double v = matrix[static_cast<std::size_t>(r * classes + c)];
      const double share = row_total > 0 ? v / row_total : 0.0;
      const int light = static_cast<int>(std::lround(255 - 200 * share));
      s << fmt::format(
          R"(<td style="background:rgb({0},{0},255);color:{1}">{2:.6g}<br><span class="rate">{3:.1f}%</span></td>)",
          light, share > 0.6 ? "#fff" : "#000", v, 100.0 * share);
    }
    s << fmt::format("<td>{:.6g}</td></tr>", row_total);
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
    if (!out) {
      const int err = errno;
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw IOError(fmt::format("{}: write failed: {}", path, std::strerror(err)));
    }
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw IOError(fmt::format("{}: cannot move the finished report into place: {}", path, ec.message()));
  }
}

// Finite minimum and maximum of the first rows of a source.
void probe_range(ArraySource& source, double& low, double& high) {
  const std::int64_t rows = std::min(source.rows(), DataSummary::kRangeProbeRows);
  if (rows == 0) return;
  const TensorView v = source.read(0, rows);
  for (std::int64_t i = 0; i < v.numel(); ++i) {
    const double x = v.value_at(i);
    if (!std::isfinite(x)) continue;
    low = std::min(low, x);
    high = std::max(high, x);
  }
}

// A range with a 2% margin on each side, never empty.
void widen(double& low, double& high) {
  if (!(low <= high)) {
    low = 0.0;
    high = 1.0;
  }
  const double margin = high > low ? 0.02 * (high - low) : 0.5 * std::max(1.0, std::fabs(low));
  low -= margin;
  high += margin;
}

}  // namespace

DataSummary::DataSummary(Task task, std::int64_t columns, ReportRanges ranges)
    : MetricWithClone("data_summary", DType::kFloat64), task_(task), classes_(0), curves_(0), ranges_(ranges) {
  if (task == Task::kRegression) {
    outputs_ = std::max<std::int64_t>(columns, 1);
    add_variable("stats", {outputs_, kStatCount});
    add_variable("low", {outputs_, 3}, DType::kFloat64, Aggregation::kMin);
    add_variable("high", {outputs_, 3}, DType::kFloat64, Aggregation::kMax);
    add_variable("density", {kBins, kBins});
    add_variable("residual_histogram", {kBins});
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
  add_variable("calibration", {3, kCalibrationBins});
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
    if (t.size() != p.size()) throw ShapeError("report: y_true and y_pred sizes differ");
    const auto k = static_cast<std::size_t>(outputs_);
    if (p.size() != static_cast<std::size_t>(rows) * k) throw ShapeError("report: y_pred columns changed");
    auto stats = vars.f64(kStats);
    auto low = vars.f64(kLow);
    auto high = vars.f64(kHigh);
    auto density = vars.f64(kDensity);
    auto residuals = vars.f64(kResidualHist);
    const ReportRanges& g = ranges_;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::size_t j = i % k;
      const double wi = w[i / k];
      const double r = p[i] - t[i];
      double* s = stats.data() + j * kStatCount;
      s[kW] += wi;
      s[kT] += wi * t[i];
      s[kP] += wi * p[i];
      s[kTT] += wi * t[i] * t[i];
      s[kPP] += wi * p[i] * p[i];
      s[kR] += wi * r;
      s[kRR] += wi * r * r;
      s[kAbsR] += wi * std::fabs(r);
      const double values[3] = {t[i], p[i], r};
      for (std::size_t v = 0; v < 3; ++v) {
        low[j * 3 + v] = std::min(low[j * 3 + v], values[v]);
        high[j * 3 + v] = std::max(high[j * 3 + v], values[v]);
      }
      const std::int64_t tb = range_bin(t[i], g.low, g.high, kBins), pb = range_bin(p[i], g.low, g.high, kBins);
      density[static_cast<std::size_t>(tb * kBins + pb)] += wi;
      residuals[static_cast<std::size_t>(range_bin(r, g.residual_low, g.residual_high, kBins))] += wi;
    }
    return;
  }
  auto pos = vars.f64(kPos);
  auto neg = vars.f64(kNeg);
  auto balance = vars.f64(kClassWeight);
  auto confusion = vars.f64(kConfusion);
  auto hist = vars.f64(kScoreHist);
  auto calibration = vars.f64(kCalibration);
  const auto calibrate = [&](double confidence, bool correct, double wi) {
    const auto b = static_cast<std::size_t>(bin_of(confidence, kCalibrationBins));
    calibration[kCalWeight * kCalibrationBins + b] += wi;
    calibration[kCalConfidence * kCalibrationBins + b] += wi * confidence;
    calibration[kCalCorrect * kCalibrationBins + b] += correct ? wi : 0.0;
  };
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
      calibrate(row[predicted], predicted == label, wi);
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
    calibrate(std::clamp(p[i], 0.0, 1.0), positive, wi);
    (positive ? pos : neg)[static_cast<std::size_t>(bin_of(p[i], kCurveBins))] += wi;
  }
}

Tensor DataSummary::result_from(const Variables& vars) const {
  double total = 0.0;
  if (task_ == Task::kRegression) {
    const auto stats = vars.f64(kStats);
    total = stats[kW];  // every output sees every row
  } else {
    for (const double x : vars.f64(kClassWeight)) total += x;
  }
  return Tensor::scalar(total);
}

std::vector<std::unique_ptr<Metric>> make_report_summary(Task task, std::int64_t columns, ArraySource& y_true,
                                                         ArraySource& y_pred) {
  ReportRanges ranges;
  if (task == Task::kRegression) {
    // Every rank reads the same first rows, so all ranks bin alike and their histograms merge.
    double low = std::numeric_limits<double>::infinity(), high = -low;
    probe_range(y_true, low, high);
    probe_range(y_pred, low, high);
    widen(low, high);
    ranges.low = low;
    ranges.high = high;
    const std::int64_t rows = std::min({y_true.rows(), y_pred.rows(), DataSummary::kRangeProbeRows});
    double r_low = std::numeric_limits<double>::infinity(), r_high = -r_low;
    if (rows > 0) {
      const Tensor t = Tensor::copy_of(y_true.read(0, rows));
      const Tensor p = Tensor::copy_of(y_pred.read(0, rows));
      const std::vector<double> tv = t.to_doubles(), pv = p.to_doubles();
      for (std::size_t i = 0; i < std::min(tv.size(), pv.size()); ++i) {
        const double r = pv[i] - tv[i];
        if (!std::isfinite(r)) continue;
        r_low = std::min(r_low, r);
        r_high = std::max(r_high, r);
      }
    }
    // Symmetric about zero, so a bias shows as a shifted peak.
    const double reach = std::max(std::fabs(r_low), std::fabs(r_high));
    ranges.residual_low = std::isfinite(reach) && reach > 0 ? -reach : -1.0;
    ranges.residual_high = -ranges.residual_low;
    widen(ranges.residual_low, ranges.residual_high);
  }
  std::vector<std::unique_ptr<Metric>> out;
  out.push_back(std::make_unique<DataSummary>(task, columns, ranges));
  if (task == Task::kBinary || task == Task::kMultilabel) {
    // The binary (and flattened multi-label) curves come from the library's curve metrics,
    // counted like AUC over kCurveBins + 1 thresholds (docs/metrics.md, "Curves").
    metrics::CurveOptions curve;
    curve.num_thresholds = DataSummary::kCurveBins + 1;
    curve.dtype = DType::kFloat64;
    curve.name = "report_roc_curve";
    out.push_back(std::make_unique<metrics::ROCCurve>(curve));
    curve.name = "report_pr_curve";
    out.push_back(std::make_unique<metrics::PrecisionRecallCurve>(curve));
  }
  return out;
}

namespace {

// The curve of a ROCCurve / PrecisionRecallCurve result ([3, T], thresholds ascending) as
// points from the highest threshold down, and the trapezoid area under them.
Curve curve_from_metrics(const Metric& roc, const Metric& pr) {
  Curve c;
  const std::vector<double> r = roc.result().to_doubles();
  const std::vector<double> p = pr.result().to_doubles();
  const std::size_t t = r.size() / 3;
  for (std::size_t i = t; i-- > 0;) {
    const std::pair<double, double> point{r[t + i], r[2 * t + i]};
    if (!c.roc.empty()) c.roc_auc += (point.first - c.roc.back().first) * (point.second + c.roc.back().second) / 2.0;
    c.roc.push_back(point);
    c.pr.emplace_back(p[2 * t + i], p[t + i]);
  }
  return c;
}

}  // namespace

std::string render_html_report(const EvalResult& result, const std::string& title) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << escape(title) << "</title><style>"
    << "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    << "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f0f0f0}"
    << "caption{caption-side:bottom;color:#555;font-size:small;text-align:left;padding-top:4px}"
    << "td.name{text-align:left;font-family:monospace}.cm td{min-width:3.5em}.rate{font-size:smaller}"
    << "figure{display:inline-block;margin:0.5em 1em 1em 0;vertical-align:top}"
    << "figcaption{font-size:small;color:#555;max-width:400px}"
    << "footer{margin-top:2em;color:#777;font-size:small}</style></head><body>";
  h << "<h1>" << escape(title) << "</h1>";
  h << fmt::format("<p>{} samples; task: {}.</p>", result.samples, task_name(result.task));
  h << "<h2>Metrics</h2><table><tr><th>metric</th><th>class</th><th>value</th></tr>";
  for (const auto& m : result.metrics) {
    std::string value = result_to_json(m->result()).dump();
    const auto keyed = metrics::keyed_result(*m);  // Classwise: "<name>_<label>: value" per class, in order
    if (!keyed.empty()) {
      value.clear();
      for (const auto& [key, v] : keyed)
        value += (value.empty() ? "" : ", ") + key + ": " + result_to_json(Tensor::scalar(v)).dump();
    }
    h << "<tr><td class=\"name\">" << escape(m->name()) << "</td><td>" << escape(m->class_name()) << "</td><td>"
      << escape(value) << "</td></tr>";
  }
  h << "</table>";
  if (result.sliced) {
    // The overall value of the charted metric (the sort metric, else the first scalar one).
    double overall = std::nan("");
    for (const auto& m : result.metrics) {
      const Tensor r = m->result();
      if (r.ndim() != 0) continue;
      if (std::isnan(overall) || m->name() == result.slice_display.sort_by) overall = r.item();
      if (m->name() == result.slice_display.sort_by || result.slice_display.sort_by.empty()) break;
    }
    h << slices_html(*result.sliced, result.slice_display, overall);
  }

  const DataSummary* summary = nullptr;
  const Metric* roc_curve = nullptr;
  const Metric* pr_curve = nullptr;
  for (const auto& m : result.extra) {
    if (const auto* d = dynamic_cast<const DataSummary*>(m.get())) summary = d;
    if (m->class_name() == "ROCCurve") roc_curve = m.get();
    if (m->class_name() == "PrecisionRecallCurve") pr_curve = m.get();
  }
  std::string footnote = "the metric table is exact.";
  if (summary != nullptr) {
    const Variables& v = summary->variable_values();
    if (summary->task() == Task::kRegression) {
      const ReportRanges& g = summary->ranges();
      h << "<h2>Predictions</h2>";
      h << svg_density(v.f64(kDensity), g);
      std::vector<double> hist(v.f64(kResidualHist).begin(), v.f64(kResidualHist).end());
      std::vector<std::string> edges;
      const double step = (g.residual_high - g.residual_low) / static_cast<double>(kBins);
      for (std::size_t i = 0; i < hist.size(); ++i) {
        edges.push_back(fmt::format("[{:.4g}, {:.4g})", g.residual_low + static_cast<double>(i) * step,
                                    g.residual_low + static_cast<double>(i + 1) * step));
      }
      h << svg_bars("Residuals (predicted - true)", "residual", hist, edges, true, g.residual_low, g.residual_high);
      const auto s = v.f64(kStats);
      const std::int64_t outputs = summary->outputs();
      h << "<h2>Per output</h2><table><tr><th>output</th><th>MAE</th><th>RMSE</th><th>R²</th><th>mean residual</th>"
           "<th>mean true</th><th>mean predicted</th><th>std true</th><th>std predicted</th></tr>";
      for (std::int64_t j = 0; j < outputs; ++j) {
        const double* o = s.data() + j * kStatCount;
        const double n = o[kW] > 0 ? o[kW] : 1.0;
        const double mt = o[kT] / n, mp = o[kP] / n;
        const double sst = o[kTT] - o[kT] * mt;
        const double r2 = sst > 0 ? 1.0 - o[kRR] / sst : std::numeric_limits<double>::quiet_NaN();
        h << fmt::format(
            "<tr><td>{}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td>"
            "<td>{:.6g}</td><td>{:.6g}</td></tr>",
            j, o[kAbsR] / n, std::sqrt(o[kRR] / n), r2, o[kR] / n, mt, mp,
            std::sqrt(std::max(0.0, o[kTT] / n - mt * mt)), std::sqrt(std::max(0.0, o[kPP] / n - mp * mp)));
      }
      h << "</table>";
      h << "<table><tr><th>output</th><th>min true</th><th>max true</th><th>min predicted</th><th>max predicted</th>"
           "<th>min residual</th><th>max residual</th></tr>";
      for (std::int64_t j = 0; j < outputs; ++j) {
        const auto b = static_cast<std::size_t>(j * 3);
        h << fmt::format(
            "<tr><td>{}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td><td>{:.6g}</td>"
            "</tr>",
            j, v.f64(kLow)[b], v.f64(kHigh)[b], v.f64(kLow)[b + 1], v.f64(kHigh)[b + 1], v.f64(kLow)[b + 2],
            v.f64(kHigh)[b + 2]);
      }
      h << "</table>";
      footnote = fmt::format(
          "The density plot and residual histogram use {} bins over ranges read from the first {} rows (values "
          "outside fall in the end bins); the tables and the metric table are exact.",
          kBins, DataSummary::kRangeProbeRows);
    } else {
      const std::int64_t classes = summary->classes();
      const bool multiclass = summary->task() == Task::kMulticlass;
      std::vector<std::string> names;
      for (std::int64_t i = 0; i < classes; ++i) {
        names.push_back(multiclass ? fmt::format("{}", i) : (i == 0 ? "negative (0)" : "positive (1)"));
      }
      h << "<h2>Curves</h2>";
      const auto pos = v.f64(kPos);
      const auto neg = v.f64(kNeg);
      const std::int64_t curves = v.layout()[kPos].shape[0];
      Series roc, pr;
      for (std::int64_t k = 0; k < curves; ++k) {
        const auto b = static_cast<std::size_t>(k * DataSummary::kCurveBins);
        const Curve c =
            curves == 1 && roc_curve != nullptr && pr_curve != nullptr
                ? curve_from_metrics(*roc_curve, *pr_curve)
                : curve_from(pos.subspan(b, DataSummary::kCurveBins), neg.subspan(b, DataSummary::kCurveBins));
        const std::string name = curves == 1 ? fmt::format("ROC AUC {:.4f} (binned)", c.roc_auc)
                                             : fmt::format("class {} (AUC {:.3f})", k, c.roc_auc);
        roc.emplace_back(name, c.roc);
        pr.emplace_back(curves == 1 ? std::string("precision-recall") : fmt::format("class {}", k), c.pr);
      }
      if (curves > 0) {
        h << svg_lines(curves == 1 ? roc.front().first : "ROC, one vs rest", "false positive rate",
                       "true positive rate", roc, true, Corner::kBottomRight);
        h << svg_lines("Precision-recall", "recall", "precision", pr, false, Corner::kBottomLeft);
      } else {
        h << "<p>Too many classes for per-class curves.</p>";
      }
      // Reliability: observed frequency against mean confidence in each confidence bin.
      const auto cal = v.f64(kCalibration);
      std::vector<std::pair<double, double>> points;
      for (std::int64_t b = 0; b < DataSummary::kCalibrationBins; ++b) {
        const double wsum = cal[static_cast<std::size_t>(kCalWeight * DataSummary::kCalibrationBins + b)];
        if (wsum <= 0) continue;
        points.emplace_back(cal[static_cast<std::size_t>(kCalConfidence * DataSummary::kCalibrationBins + b)] / wsum,
                            cal[static_cast<std::size_t>(kCalCorrect * DataSummary::kCalibrationBins + b)] / wsum);
      }
      Series reliability;
      reliability.emplace_back(multiclass ? "accuracy of the top class" : "fraction of positives", points);
      h << svg_lines("Reliability (calibration)", multiclass ? "mean top-class score" : "mean predicted score",
                     multiclass ? "accuracy" : "fraction positive", reliability, true, Corner::kTopLeft, true);
      const auto cm = v.f64(kConfusion);
      if (!cm.empty()) {
        h << "<h2>Confusion matrix</h2><p>Rows: true class; columns: predicted class"
          << (multiclass ? " (argmax)" : " (score &gt; 0.5)") << ".</p>" << confusion_table(cm, classes, names);
      }
      h << "<h2>Data</h2>";
      std::vector<double> balance(v.f64(kClassWeight).begin(), v.f64(kClassWeight).end());
      h << svg_bars("Class balance", "class", balance, names, false);
      std::vector<double> hist(v.f64(kScoreHist).begin(), v.f64(kScoreHist).end());
      std::vector<std::string> edges;
      for (std::size_t i = 0; i < hist.size(); ++i) {
        edges.push_back(fmt::format("[{:.3f}, {:.3f})", static_cast<double>(i) / static_cast<double>(hist.size()),
                                    static_cast<double>(i + 1) / static_cast<double>(hist.size())));
      }
      h << svg_bars(multiclass ? "Top score histogram" : "Score histogram", multiclass ? "top-class score" : "score",
                    hist, edges, true);
      footnote = fmt::format(
          "Curves come from {} fixed score bins over [0, 1] (scores outside fall in the end bins), so their AUC is an "
          "approximation; the reliability diagram uses {} bins; the metric table is exact.",
          DataSummary::kCurveBins, DataSummary::kCalibrationBins);
    }
  }
  h << "<footer>Written by tally " << escape(version()) << ". " << escape(footnote) << "</footer>";
  h << "</body></html>\n";
  return h.str();
}

void write_html_report(const EvalResult& result, const std::string& path, const std::string& title) {
  write_atomically(path, render_html_report(result, title));
}

}  // namespace tally::cli
