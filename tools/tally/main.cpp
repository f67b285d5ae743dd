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
  std::string y_true, y_pred, sample_weight, format = "table", report;
  std::vector<std::string> metrics;
  std::int64_t batch_size = 1 << 16;
  int threads = 0;
};

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
  options.metrics = args.metrics;
  options.batch_size = args.batch_size;
  options.progress = true;
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
    if (dist.rank() != 0) return 0;
  }
  if (!result.default_specs.empty()) {
    std::fprintf(stderr, "tally: no --metric given; %s task, using %s\n",
                 std::string(tally::cli::task_name(result.task)).c_str(),
                 fmt::format("{}", fmt::join(result.default_specs, ", ")).c_str());
  }
  tally::cli::write_results(std::cout, result, format);
  if (!args.report.empty()) {
    tally::cli::write_html_report(result, args.report,
                                  "tally report: " + std::filesystem::path(args.y_pred).filename().string());
    std::fprintf(stderr, "tally: report written to %s\n", args.report.c_str());
  }
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
  fs::create_directories(out_dir);
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
  eval->add_option("--y-true", eval_args.y_true, "Labels: FILE.npy, FILE.csv or FILE.csv:column[,column...]")
      ->required();
  eval->add_option("--y-pred", eval_args.y_pred, "Predictions: FILE.npy, FILE.csv or FILE.csv:columns")->required();
  eval->add_option("--sample-weight", eval_args.sample_weight, "Per-row weights: FILE.npy or FILE.csv:column");
  eval->add_option("-m,--metric", eval_args.metrics,
                   "Metric: a name, an alias or a JSON spec {\"class_name\": ..., \"config\": {...}}; repeatable");
  eval->add_option("--batch-size", eval_args.batch_size, "Rows per batch (speed and memory only)");
  eval->add_option("--threads", eval_args.threads, "Threads (0: all cores)");
  eval->add_option("--format", eval_args.format, "Output format: table, json or csv");
  eval->add_option("--report", eval_args.report, "Write a self-contained HTML report to this file");

  std::string list_format = "table";
  CLI::App* list = app.add_subcommand("list", "List every metric with its names, config keys and defaults");
  list->add_option("--format", list_format, "table, or json (the catalog description the generators read)")
      ->check(CLI::IsMember({"table", "json"}));
  list->add_flag_callback(
      "--json", [&list_format] { list_format = "json"; }, "Same as --format json");

  std::string data_dir = TALLY_EXAMPLES_DATA_DIR;
  std::string out_dir = "tally-demo";
  CLI::App* demo = app.add_subcommand("demo", "Evaluate the bundled example data and write HTML reports");
  demo->add_option("--data-dir", data_dir, "Folder with the example .npy files");
  demo->add_option("--out-dir", out_dir, "Folder for the reports");

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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tally: internal error: %s\n", e.what());
    return 1;
  }
}
