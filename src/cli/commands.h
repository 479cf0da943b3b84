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

}  // namespace qat::cli
