#include "cli/common.h"

#include <cstdio>
#include <exception>

namespace qat::cli {
namespace {
int g_exit_code = kExitOk;
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

int report_error(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "qat %s: error: %s\n", command.c_str(), message.c_str());
    std::fflush(stderr);
    set_exit_code(kExitError);
    return kExitError;
}

int report_error(const std::string& command, const Status& status) { return report_error(command, status.to_string()); }

void run_command(const std::string& command, const std::function<Status()>& body) {
    try {
        Status s = body();
        if (!s.ok()) report_error(command, s);
    } catch (const std::exception& e) {
        // Libraries do not throw across their boundary; this is a last line of defence.
        report_error(command, std::string("unexpected exception: ") + e.what());
    }
}

int parse_and_run(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string cmd = app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name();
        std::fprintf(stderr, "qat%s%s: error: %s\n", cmd.empty() ? "" : " ", cmd.c_str(), e.what());
        std::fprintf(stderr, "run 'qat %s--help' for usage\n", cmd.empty() ? "" : (cmd + " ").c_str());
        return kExitError;
    }
    return exit_code();
}

}  // namespace qat::cli
