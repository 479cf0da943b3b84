// `qat train` and `qat finetune` in the qat binary: forwarders to the qat-train executable.
//
// Training needs libtorch, whose static initialisation costs about 3 s per process; the qat binary
// does not link it, so that every other command starts at once. These two subcommands take their
// arguments unparsed and exec qat-train (cmd_train.cpp, train_main.cpp) from the folder of the
// running qat, so `qat train --help` shows the real options. A qat built without libtorch has no
// qat-train next to it: the command then fails with one clear line (exit 2).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"

namespace qat::cli {
namespace {

// The folder of the running executable (/proc/self/exe resolved), with a trailing '/'.
std::string self_dir() {
    std::vector<char> buf(4096);
    const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    if (n <= 0) return "";
    std::string p(buf.data(), static_cast<size_t>(n));
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? "" : p.substr(0, slash + 1);
}

// OpenBLAS reads OPENBLAS_CORETYPE once, when libtorch loads it. Debian's OpenBLAS may not know
// this CPU and fall back to a generic core; setting the variable here, before qat-train starts,
// spares qat-train a restart of itself (and libtorch's start-up a second time). An explicit
// setting of the user's wins.
void set_openblas_coretype() {
    if (std::getenv("OPENBLAS_CORETYPE")) return;
    __builtin_cpu_init();
    const char* want = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (want) setenv("OPENBLAS_CORETYPE", want, 1);
}

void add_forwarder(CLI::App& app, const char* name, const char* description) {
    auto* sub = app.add_subcommand(name, description);
    // Everything after the command name goes to qat-train untouched (--help included).
    sub->prefix_command();
    sub->set_help_flag();
    sub->allow_extras();
    sub->callback([sub, name] {
        const std::string dir = self_dir();
        const std::string exe = dir + "qat-train";
        if (dir.empty() || access(exe.c_str(), X_OK) != 0) {
            report_error(name, "'" + exe +
                                   "' is missing: training lives in the qat-train executable (cmake --build BUILD "
                                   "--target qat-train), which needs libtorch (-DQAT_WITH_TORCH=ON)");
            return;
        }
        std::vector<std::string> args = {exe, name};
        for (const std::string& a : sub->remaining()) args.push_back(a);
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        set_openblas_coretype();
        std::fflush(stdout);
        std::fflush(stderr);
        execv(exe.c_str(), argv.data());
        report_error(name, "cannot start '" + exe + "': " + std::strerror(errno));
    });
}

}  // namespace

void add_train_command(CLI::App& app) {
    add_forwarder(app, "train", "Train an FP32 ONNX model from its initial weights (libtorch; runs qat-train)");
}

void add_finetune_command(CLI::App& app) {
    add_forwarder(app, "finetune",
                  "Quantization-aware fine-tuning of a Q/DQ model (fake quantization on libtorch; runs qat-train)");
}

}  // namespace qat::cli
