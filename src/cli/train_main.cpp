// qat-train: `train` and `finetune` on libtorch (cmd_train.cpp). The qat binary execs it for
// `qat train ...` / `qat finetune ...` (train_forward.cpp), so its messages and help say "qat".
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"

int main(int argc, char** argv) {
    CLI::App app{
        "qat-train: FP32 training and quantization-aware fine-tuning on libtorch (run as `qat train` / "
        "`qat finetune`)",
        "qat"};
    app.require_subcommand(1);
    app.failure_message(CLI::FailureMessage::help);
    qat::cli::add_training_command(app, false);
    qat::cli::add_training_command(app, true);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // Bad flags are bad input: one line, exit 2 (as in qat's main).
        std::string cmd = app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name();
        std::fprintf(stderr, "qat%s%s: error: %s\n", cmd.empty() ? "" : " ", cmd.c_str(), e.what());
        std::fprintf(stderr, "run 'qat %s--help' for usage\n", cmd.empty() ? "" : (cmd + " ").c_str());
        return qat::cli::kExitError;
    }
    return qat::cli::exit_code();
}
