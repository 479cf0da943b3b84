// ConstantFolding: evaluates every node whose inputs are all constants on the reference backend
// (a one-node runtime::Plan) and replaces its outputs with initializers of the same names.
//
//   before                                         after
//   %w  = init f32[8,3,3,3]                        %wq = init i8[8,3,3,3]    (weights quantized once)
//   %wq = QuantizeLinear(%w, %s, %z)               %wd = DequantizeLinear(%wq, %s, %z)
//   %wd = DequantizeLinear(%wq, %s, %z)            %y  = Conv(%x, %wd)
//   %y  = Conv(%x, %wd)
//
//   %sh = Shape(%x: f32[1,64,7,7])                 %sh = init i64[4] {1, 64, 7, 7}
//
// Preconditions and limits:
// - Shape of a value whose dims are all static folds too (a fixed batch makes them static).
// - DequantizeLinear of int8/uint8 data is kept unless fold_dequantize is set: the Q/DQ fusion
//   needs to see DQ(W) to build INT8 ops. The engine pipeline folds the DQs that remain after
//   fusion (ops left in FP32) in a second run with fold_dequantize = true. DQ of int32 (biases)
//   always folds.
// - Nodes with random outputs (RandomNormal, ...), subgraphs, com.qat ops and Constant nodes
//   are left alone; so is an output larger than max_output_elements that is also larger than
//   the node's inputs together (folding must not blow up the model).
// - A node the reference backend cannot evaluate stays as it is (it will fail, with its own
//   message, when the model runs).
#pragma once

#include <cstdint>
#include <string>

#include "passes/pass.h"

namespace qat::passes {

struct ConstantFoldingOptions {
    bool fold_dequantize = false;
    int64_t max_output_elements = int64_t{1} << 22;
    // Pass name (two instances run in the engine pipeline).
    std::string name = "constant-folding";
};

class ConstantFolding : public Pass {
  public:
    explicit ConstantFolding(ConstantFoldingOptions options = {}) : options_(std::move(options)) {}
    std::string name() const override { return options_.name; }
    Result<bool> run(ir::Graph& graph, PassContext& ctx) override;

  private:
    ConstantFoldingOptions options_;
};

}  // namespace qat::passes
