// The tally command-line tool: `tally eval`, `tally list`, `tally demo`, `tally --version`.
// Exit status 0 on success, 2 on bad input with a one-line reason on stderr.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "eval.h"
#include "html_report.h"
#include "report.h"
#include "tally/parallel.h"
#include "tally/registry.h"
#include "tally/version.h"

#ifdef TALLY_CLI_WITH_MPI
#include "tally/mpi.h"
#endif

#ifndef TALLY_EXAMPLES_DATA_DIR
#define TALLY_EXAMPLES_DATA_DIR "examples/data"
#endif

namespace {

constexpr int kBadInput = 2;

struct EvalArgs {
  std::string y_true, y_pred, sample_weight, query, format = "table", report, delimiter = "auto";
  std::vector<std::string> metrics;
  std::int64_t batch_size = 1 << 16;
  int threads = 0;
  std::int64_t num_classes = 0;
  bool from_logits = false;
  std::vector<std::string> slices, crosses;
  std::int64_t min_slice_size = 0, max_slices = tally::kDefaultMaxSlices;
  std::string sort_slices;
};

char parse_delimiter(const std::string& name) {
  if (name == "auto") return '\0';
  if (name == "tab" || name == "\t" || name == "\\t") return '\t';
  if (name.size() == 1 && name != "\"" && name != "\n") return name[0];
  throw tally::InvalidArgument(
      fmt::format("--delimiter must be auto, tab or one character such as ',' or ';'; received \"{}\"", name));
}

// How `tally eval` chooses metrics, shown by `tally eval --help` (and the man page).
constexpr const char* kEvalFooter = R"(Without --metric, tally reads the shapes and the first 100000 labels and picks:
  binary      labels all 0/1, one score column: binary_accuracy, precision, recall, auc
  multiclass  integer labels with one score column per class, or one-hot labels:
              (sparse_)categorical_accuracy, top_k_categorical_accuracy (more than 5
              classes), (sparse_)categorical_crossentropy; integer labels add the
              macro F1 and one-vs-rest AUC over their class ids. Integer labels
              with predicted class ids (one column) need --num-classes: accuracy,
              macro F1, matthews_correlation_coefficient
  multilabel  0/1 labels, one per score column: the binary set, over every element
  regression  anything else: mean_squared_error, mean_absolute_error,
              root_mean_squared_error, r2_score (plus per-output r2 for several outputs)
and says so on stderr. Labels that fit no task (class indices beyond the score columns)
are an error instead of a guess. FILE is .npy, .npz (FILE.npz:key), .csv or .csv.gz;
CSV columns are chosen with FILE.csv:name[,name...]. Exit status: 0 success, 2 bad
input (one line on stderr), 1 a bug. See docs/cli.md.)";

// Under mpirun every rank evaluates its share of the rows; the ranks first agree that all
// of them succeeded (so one rank's bad input cannot leave the others waiting in the
// collective), then merge their metrics in one all-reduce, and rank 0 prints.
struct Distributed {
  std::unique_ptr<tally::DistributedContext> context;
  int rank() const { return context ? context->global_rank() : 0; }
  int world() const { return context ? context->world_size() : 1; }
  // True when every rank passes ok = true.
  bool all_ok(bool ok) {
    if (!context) return ok;
    double flag[1] = {ok ? 1.0 : 0.0};
    context->all_reduce_in_place(flag, tally::ReduceOp::kMin);
    return flag[0] == 1.0;
  }
};

Distributed& distributed() {
  static Distributed d = [] {
    Distributed out;
#ifdef TALLY_CLI_WITH_MPI
    if (tally::launched_under_mpi()) out.context = std::make_unique<tally::MpiContext>();
#endif
    return out;
  }();
  return d;
}

int do_eval(const EvalArgs& args) {
  if (args.threads < 0) throw tally::InvalidArgument(fmt::format("--threads must be >= 0; received {}", args.threads));
  tally::set_num_threads(args.threads);
  const tally::cli::Format format = tally::cli::parse_format(args.format);
  Distributed& dist = distributed();
  tally::cli::EvalOptions options;
  options.y_true = args.y_true;
  options.y_pred = args.y_pred;
  options.sample_weight = args.sample_weight;
  options.query = args.query;
  options.metrics = args.metrics;
  options.batch_size = args.batch_size;
  options.delimiter = parse_delimiter(args.delimiter);
  options.from_logits = args.from_logits;
  options.slices = args.slices;
  options.crosses = args.crosses;
  options.max_slices = args.max_slices;
  if (args.min_slice_size < 0) {
    throw tally::InvalidArgument(fmt::format("--min-slice-size must be >= 0; received {}", args.min_slice_size));
  }
  options.num_classes = args.num_classes;
  options.progress = true;
  options.notice = [](const std::string& line) { std::fprintf(stderr, "tally: %s\n", line.c_str()); };
  if (!args.report.empty()) options.make_extra = tally::cli::make_report_summary;
  tally::cli::Participation participation;
  participation.rank = dist.rank();
  participation.world_size = dist.world();
  tally::cli::EvalResult result;
  std::string local_error;
  try {
    result = tally::cli::run_eval(std::move(options), participation);
  } catch (const tally::Error& e) {
    local_error = e.what();
  }
  if (!dist.all_ok(local_error.empty())) {
    if (!local_error.empty()) throw tally::InvalidArgument(local_error);
    return 2;  // another rank failed and reports why
  }
  if (dist.context) {
    std::vector<tally::Metric*> all;
    for (auto& m : result.metrics) all.push_back(m.get());
    for (auto& m : result.extra) all.push_back(m.get());
    tally::all_reduce_metrics(all, *dist.context);
    if (result.sliced) tally::all_reduce_metrics(*result.sliced, *dist.context);
    double range[2] = {-result.score_low, result.score_high};  // one max-reduce gives min and max
    dist.context->all_reduce_in_place(range, tally::ReduceOp::kMax);
    result.score_low = -range[0];
    result.score_high = range[1];
    if (dist.rank() != 0) return 0;
    const std::string warning = tally::cli::score_range_warning(result, args.from_logits);
    if (!warning.empty()) std::fprintf(stderr, "tally: %s\n", warning.c_str());
  }
  result.slice_display.min_slice_size = args.min_slice_size;
  result.slice_display.sort_by = args.sort_slices;
  if (result.sliced && !args.sort_slices.empty()) (void)tally::cli::shown_slices(*result.sliced, result.slice_display);
  // The report first: when it cannot be written the run fails before printing anything.
  if (!args.report.empty()) {
    tally::cli::write_html_report(result, args.report,
                                  "tally report: " + std::filesystem::path(args.y_pred).filename().string());
  }
  tally::cli::write_results(std::cout, result, format);
  if (!args.report.empty()) std::fprintf(stderr, "tally: report written to %s\n", args.report.c_str());
  return 0;
}

// `tally list`: the catalog as a table, or as the JSON description every generator reads.
int do_list(const std::string& format) {
  const tally::Json catalog = tally::metrics::describe_catalog();
  if (format == "json") {
    std::cout << catalog.dump(2) << "\n";
    return 0;
  }
  for (const auto& m : catalog["metrics"]) {
    std::cout << fmt::format("{:<32} {:<14} {}\n", m["class_name"].get<std::string>(), m["family"].get<std::string>(),
                             m["doc"].get<std::string>());
    std::cout << fmt::format("    names: {}\n", fmt::join(m["names"].get<std::vector<std::string>>(), ", "));
    std::vector<std::string> options;
    for (const auto& o : m["options"]) {
      options.push_back(o["required"].get<bool>() ? o["key"].get<std::string>() + " (required)"
                                                  : o["key"].get<std::string>() + "=" + o["default"].dump());
    }
    std::cout << fmt::format("    options: {}\n", fmt::join(options, ", "));
  }
  std::cout << fmt::format("\n{} metrics and {} per-sample functions; `tally list --format json` describes them all\n",
                           catalog["metrics"].size(), catalog["functions"].size());
  return 0;
}

int do_demo(const std::string& data_dir, const std::string& out_dir) {
  namespace fs = std::filesystem;
  struct Case {
    const char* title;
    const char* name;
  };
  const Case cases[] = {
      {"breast cancer (binary, logistic regression)", "breast_cancer"},
      {"digits (10 classes, logistic regression)", "digits"},
      {"diabetes (regression, ridge)", "diabetes"},
  };
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir)) {
    throw tally::IOError(fmt::format("{}: cannot create the report folder: {}", out_dir,
                                     ec ? ec.message() : std::string("a file of that name is in the way")));
  }
  for (const Case& c : cases) {
    const fs::path t = fs::path(data_dir) / (std::string(c.name) + "_y_true.npy");
    const fs::path p = fs::path(data_dir) / (std::string(c.name) + "_y_pred.npy");
    if (!fs::exists(t) || !fs::exists(p)) {
      throw tally::cli::InputError(fmt::format("{}: example data not found (pass --data-dir)", t.string()));
    }
    tally::cli::EvalOptions options;
    options.y_true = t.string();
    options.y_pred = p.string();
    options.make_extra = tally::cli::make_report_summary;
    const tally::cli::EvalResult result = tally::cli::run_eval(std::move(options));
    const fs::path report = fs::path(out_dir) / (std::string(c.name) + "_report.html");
    tally::cli::write_html_report(result, report.string(), std::string("tally demo: ") + c.title);
    std::cout << "== " << c.title << " ==\n";
    tally::cli::write_results(std::cout, result, tally::cli::Format::kTable);
    std::cout << "report: " << report.string() << "\n\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tally: streaming, mergeable, distributed evaluation metrics (Keras 3 catalog)", "tally"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the version and build information");

  EvalArgs eval_args;
  CLI::App* eval = app.add_subcommand("eval", "Evaluate prediction files with one or more metrics");
  eval->footer(kEvalFooter);
  eval->add_option("--y-true", eval_args.y_true,
                   "Labels: FILE.npy, FILE.npz[:key], FILE.csv[.gz] or FILE.csv:column[,column...]")
      ->required();
  eval->add_option("--y-pred", eval_args.y_pred, "Predictions (scores, probabilities or logits): FILE as --y-true")
      ->required();
  eval->add_option("--sample-weight", eval_args.sample_weight, "Per-row weights: FILE as --y-true, one column");
  eval->add_option("--query", eval_args.query,
                   "Per-row query ids for ranking metrics (NDCG, MeanAveragePrecision, ...): FILE as --y-true, one "
                   "column of whole numbers; a query's rows must be contiguous");
  eval->add_option("-m,--metric", eval_args.metrics,
                   "Metric: a name, an alias or a JSON spec {\"class_name\": ..., \"config\": {...}}; repeatable "
                   "(default: chosen from the data, see below)");
  eval->add_flag("--from-logits", eval_args.from_logits,
                 "--y-pred holds logits: metrics with a from_logits option get it, the others sigmoid/softmax scores");
  eval->add_option("--batch-size", eval_args.batch_size, "Rows per batch (speed and memory only)")
      ->capture_default_str();
  eval->add_option("--threads", eval_args.threads, "Threads (0: all cores)")->capture_default_str();
  eval->add_option("--format", eval_args.format, "Output format: table, json or csv")->capture_default_str();
  eval->add_option("--delimiter", eval_args.delimiter,
                   "CSV field separator: auto (',', ';' or tab), tab or a character")
      ->capture_default_str();
  eval->add_option("--slice", eval_args.slices,
                   "Also evaluate per slice of FILE[:column] (one integer or string id per row); repeatable");
  eval->add_option("--cross", eval_args.crosses, "Also slice by the cross of --slice features a,b; repeatable");
  eval->add_option("--min-slice-size", eval_args.min_slice_size, "Hide slices with fewer samples")
      ->capture_default_str();
  eval->add_option("--max-slices", eval_args.max_slices, "Most distinct slices (more is an error)")
      ->capture_default_str();
  eval->add_option("--sort-slices", eval_args.sort_slices, "Sort slices by this metric, worst first");
  eval->add_option("--report", eval_args.report, "Write a self-contained HTML report to this file");
  eval->add_option("--num-classes", eval_args.num_classes,
                   "Classes of integer labels, when the files do not say (predicted ids rather than one score "
                   "column per class); with score columns it must equal their count")
      ->check(CLI::PositiveNumber);

  std::string list_format = "table";
  CLI::App* list = app.add_subcommand("list", "List every metric with its names, config keys and defaults");
  list->add_option("--format", list_format, "table, or json (the catalog description the generators read)")
      ->check(CLI::IsMember({"table", "json"}));
  list->add_flag_callback(
      "--json", [&list_format] { list_format = "json"; }, "Same as --format json");

  std::string data_dir = TALLY_EXAMPLES_DATA_DIR;
  std::string out_dir = "tally-demo";
  CLI::App* demo = app.add_subcommand("demo", "Evaluate the bundled example data and write HTML reports");
  demo->add_option("--data-dir", data_dir, "Folder with the example .npy files")->capture_default_str();
  demo->add_option("--out-dir", out_dir, "Folder for the reports")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tally: %s (see tally --help)\n", e.what());
    return kBadInput;
  }
  try {
    if (show_version) {
      std::cout << tally::build_info();
      return 0;
    }
    if (eval->parsed()) return do_eval(eval_args);
    if (list->parsed()) return do_list(list_format);
    if (demo->parsed()) return do_demo(data_dir, out_dir);
    std::cout << app.help();
    return 0;
  } catch (const tally::Error& e) {
    std::string message = e.what();
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "tally: %s\n", message.c_str());
    return kBadInput;
  } catch (const std::filesystem::filesystem_error& e) {
    // A file system refusal (permissions, a full disk) is the user's to fix, not a bug.
    std::fprintf(stderr, "tally: %s\n", e.what());
    return kBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tally: internal error: %s\n", e.what());
    return 1;
  }
}
