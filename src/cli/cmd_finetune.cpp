// qat finetune MODEL_Q.onnx --data SPEC -o MODEL_QAT.onnx [--epochs 2 --lr 1e-3 --optimizer sgd
//              --schedule piecewise | --steps N] [--range-mode fixed|ema|last-batch|learned] ...
//
// Quantization-aware training of a Q/DQ model: every QuantizeLinear -> DequantizeLinear pair is a
// fake-quantization module (straight-through gradient) during training, and the final weights and
// scales go back into the Q/DQ model. It shares every option with `qat train` (cmd_train.cpp).
#include "cli/commands.h"

namespace qat::cli {

void add_finetune_command(CLI::App& app) { add_training_command(app, true); }

}  // namespace qat::cli
