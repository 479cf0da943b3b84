#include <cstdio>

#include "backends/registry.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace qat::cli {

void add_version_command(CLI::App& app) {
    auto* sub = app.add_subcommand("version", "Print the version and the compiled-in backends");
    sub->callback([] {
        std::printf("qat 0.1.0\nbackends:");
        for (const auto& b : backends::available_backends()) std::printf(" %s", b.c_str());
        std::printf("\n");
    });
}

}  // namespace qat::cli
