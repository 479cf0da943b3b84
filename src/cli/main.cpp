// qat: FP32 ONNX model -> Q/DQ placement -> calibration / QAT -> INT8 engine.

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
    return qat::cli::parse_and_run(app, argc, argv);
}
