// The qat command table. Each command lives in cmd_<name>.cpp and provides a function that adds
// its subcommand (options + callback) to the app. main.cpp lists them in order.
#pragma once

#include <CLI/CLI.hpp>

namespace qat::cli {

using AddCommandFn = void (*)(CLI::App& app);

struct CommandEntry {
    const char* name;
    AddCommandFn add;
};

void add_version_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_build_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_test_onnx_command(CLI::App& app);
void add_zoo_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_sensitivity_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_finetune_command(CLI::App& app);
// In qat, add_train_command / add_finetune_command forward to the qat-train executable
// (train_forward.cpp); qat-train registers the real commands, which share their options
// (cmd_train.cpp).
void add_training_command(CLI::App& app, bool finetune);

}  // namespace qat::cli
