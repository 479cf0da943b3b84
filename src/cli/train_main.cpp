// qat-train: `train` and `finetune` on libtorch (cmd_train.cpp). The qat binary execs it for
// `qat train ...` / `qat finetune ...` (train_forward.cpp), so its messages and help say "qat".

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
    return qat::cli::parse_and_run(app, argc, argv);
}
