// qat test-onnx DIR... [--backend ref] [--rtol R] [--atol A] [--ops Op1,Op2,...]
//                      [--skip-list FILE] [--filter TEXT] [--quiet]
//
// Runs ONNX backend test directories (model.onnx + test_data_set_*/input_*.pb, output_*.pb) on
// the chosen backend and prints one line per test (PASS / FAIL with the reason / SKIP with the
// reason), then the summary line "N passed, M failed" (", K skipped" appended when tests were
// skipped). Exit code: 0 when nothing failed, 1 when a test failed, 2 on bad input (missing
// directory, unknown backend, malformed skip list, bad flag).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/onnx_test_runner.h"
#include "core/strings.h"

namespace qat::cli {
namespace {

struct TestOnnxOptions {
    std::vector<std::string> dirs;
    std::string backend = "ref";
    double rtol = 1e-3;
    double atol = 1e-7;
    std::string ops;
    std::string skip_list;
    std::vector<std::string> filters;
    bool quiet = false;
};

Status test_onnx(const TestOnnxOptions& o) {
    onnx_test::Options opt;
    opt.backends = split_list(o.backend);
    if (opt.backends.empty()) return invalid_argument("--backend is empty");
    for (const std::string& b : opt.backends) {
        if (!backends::is_available(b)) {
            std::string avail;
            for (const auto& a : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + a;
            return invalid_argument("unknown backend '", b, "' (available: ", avail, ")");
        }
    }
    if (!(o.rtol >= 0) || !(o.atol >= 0)) return invalid_argument("--rtol and --atol must be >= 0");
    opt.rtol = o.rtol;
    opt.atol = o.atol;
    for (const std::string& op : split_list(o.ops)) opt.only_ops.insert(op);
    if (!o.ops.empty() && opt.only_ops.empty()) return invalid_argument("--ops lists no op");
    if (!o.skip_list.empty()) {
        QAT_ASSIGN_OR_RETURN(opt.skips, onnx_test::load_skip_list(o.skip_list));
    }
    QAT_ASSIGN_OR_RETURN(std::vector<std::string> dirs, onnx_test::find_test_dirs(o.dirs));

    int passed = 0, failed = 0, skipped = 0, not_selected = 0;
    std::set<std::string> seen;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& d : dirs) {
        const std::string name = std::filesystem::path(d).filename().string();
        seen.insert(name);
        if (!o.filters.empty()) {
            bool match = false;
            for (const auto& f : o.filters) match = match || name.find(f) != std::string::npos;
            if (!match) continue;
        }
        onnx_test::TestResult r = onnx_test::run_test(d, opt);
        switch (r.outcome) {
            case onnx_test::Outcome::kPassed:
                ++passed;
                if (!o.quiet) std::printf("PASS %s\n", r.name.c_str());
                break;
            case onnx_test::Outcome::kFailed:
                ++failed;
                std::printf("FAIL %s: %s\n", r.name.c_str(), r.message.c_str());
                break;
            case onnx_test::Outcome::kSkipped:
                ++skipped;
                std::printf("SKIP %s: %s\n", r.name.c_str(), r.message.c_str());
                break;
            case onnx_test::Outcome::kNotSelected:
                ++not_selected;
                break;
        }
        std::fflush(stdout);
    }
    // A skip-list entry that names no test is stale: say so (it may be a typo hiding nothing).
    for (const auto& [name, reason] : opt.skips)
        if (!seen.count(name)) std::printf("note: skip-list entry '%s' matches no test here\n", name.c_str());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (not_selected > 0) std::printf("%d test(s) not selected: their models use ops outside --ops\n", not_selected);
    std::printf("backend %s, rtol %g, atol %g, %.1f s\n", o.backend.c_str(), o.rtol, o.atol, secs);
    std::printf("%d passed, %d failed", passed, failed);
    if (skipped > 0) std::printf(", %d skipped", skipped);
    std::printf("\n");
    std::fflush(stdout);
    if (failed > 0) set_exit_code(kExitFailure);
    return OkStatus();
}

}  // namespace

void add_test_onnx_command(CLI::App& app) {
    auto o = std::make_shared<TestOnnxOptions>();
    auto* sub = app.add_subcommand(
        "test-onnx",
        "Run ONNX backend test directories (model.onnx + test_data_set_*/{input,output}_*.pb) and compare the "
        "outputs. Prints PASS/FAIL/SKIP per test, then the summary line 'N passed, M failed' (with ', K skipped' "
        "appended when tests were skipped). Exit code 0 when no test failed, 1 otherwise, 2 on bad input.");
    sub->add_option("dirs", o->dirs,
                    "Test directories, or folders of test directories (e.g. .../onnx/backend/test/data/node)")
        ->required();
    sub->add_option(
        "--backend", o->backend, "Backend(s) the model may run on, comma-separated (default ref; available: " + [] {
            std::string s;
            for (const auto& b : backends::available_backends()) s += (s.empty() ? "" : ", ") + b;
            return s;
        }() + ")");
    sub->add_option("--rtol", o->rtol, "Relative tolerance for float outputs (default 1e-3, as ONNX's backend tests)");
    sub->add_option("--atol", o->atol, "Absolute tolerance for float outputs (default 1e-7); integers are exact");
    sub->add_option("--ops", o->ops,
                    "Comma-separated op types: run only tests whose model uses nothing else (others are not counted)");
    sub->add_option("--skip-list", o->skip_list,
                    "File of tests to skip, one per line: 'test_name reason' ('#' starts a comment)");
    sub->add_option("--filter", o->filters, "Run only tests whose name contains this text (repeatable)");
    sub->add_flag("--quiet,-q", o->quiet, "Print only failures, skips and the summary");
    sub->callback([o] { run_command("test-onnx", [o] { return test_onnx(*o); }); });
}

}  // namespace qat::cli
