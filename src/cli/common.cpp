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

int report_error(const std::string& command, const Status& status) {
    return report_error(command, status.to_string());
}

void run_command(const std::string& command, const std::function<Status()>& body) {
    try {
        Status s = body();
        if (!s.ok()) report_error(command, s);
    } catch (const std::exception& e) {
        // Libraries do not throw across their boundary; this is a last line of defence.
        report_error(command, std::string("unexpected exception: ") + e.what());
    }
}

}  // namespace qat::cli
