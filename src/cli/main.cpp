// qat: FP32 ONNX model -> Q/DQ placement -> calibration / QAT -> INT8 engine.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"

namespace {

// Order is the order of `qat --help`.
const qat::cli::CommandEntry kCommands[] = {
    {"bench", qat::cli::add_bench_command},
    {"build", qat::cli::add_build_command},
    {"calibrate", qat::cli::add_calibrate_command},
    {"compare", qat::cli::add_compare_command},
    {"eval", qat::cli::add_eval_command},
    {"explain", qat::cli::add_explain_command},
    {"finetune", qat::cli::add_finetune_command},
    {"inspect", qat::cli::add_inspect_command},
    {"quantize", qat::cli::add_quantize_command},
    {"run", qat::cli::add_run_command},
    {"sensitivity", qat::cli::add_sensitivity_command},
    {"test-onnx", qat::cli::add_test_onnx_command},
    {"train", qat::cli::add_train_command},
    {"version", qat::cli::add_version_command},
    {"zoo", qat::cli::add_zoo_command},
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"qat: quantize, calibrate, fine-tune and run INT8 ONNX models", "qat"};
    app.require_subcommand(1);
    app.failure_message(CLI::FailureMessage::help);
    for (const auto& c : kCommands) c.add(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Bad flags are bad input: one line, exit 2.
        std::string cmd = app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name();
        std::fprintf(stderr, "qat%s%s: error: %s\n", cmd.empty() ? "" : " ", cmd.c_str(), e.what());
        std::fprintf(stderr, "run 'qat %s--help' for usage\n", cmd.empty() ? "" : (cmd + " ").c_str());
        return qat::cli::kExitError;
    }
    return qat::cli::exit_code();
}
