// Shared CLI plumbing: exit codes, error printing, and the option groups that several commands
// share (trtexec's option groups, Polygraphy's subcommands).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/status.h"

namespace qat::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the command ran but its check failed (e.g. test-onnx had failures)
constexpr int kExitError = 2;    // bad input: one clear line on stderr

// The exit code a command callback sets (CLI11 callbacks return void).
void set_exit_code(int code);
int exit_code();

// Prints "qat <command>: error: <message>" on one line and sets exit code 2.
int report_error(const std::string& command, const Status& status);
int report_error(const std::string& command, const std::string& message);

// Runs a command body, converting a non-OK Status (and any stray exception) into the exit code.
void run_command(const std::string& command, const std::function<Status()>& body);

// main() of qat and qat-train: parses argv into `app` (which runs the chosen subcommand's
// callback) and returns the exit code. --help prints help (exit 0); bad flags are bad input:
// one line "qat <command>: error: ..." plus where to find usage, exit 2.
int parse_and_run(CLI::App& app, int argc, char** argv);

}  // namespace qat::cli
