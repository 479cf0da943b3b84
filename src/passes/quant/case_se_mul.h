// Case se_mul: quantize both inputs of the gating Mul of a squeeze-excite block.
//
// Why: in a squeeze-excite block the feature map is multiplied by a per-channel gate
// (GlobalAveragePool -> Conv -> act -> Conv -> Sigmoid). With Q/DQ on both inputs the Mul runs
// in INT8 and the features stay INT8 through the block ("horizontal fusion in the Mul residual
// branch"); the reference toolkit's EfficientNetQDQCase quantizes inputs [0, 1] of every Keras
// Multiply — which there is only the SE Mul, since Keras Swish is an activation layer. In ONNX,
// Swish is Sigmoid+Mul, so this case recognises the SE structure instead of every Mul (a Swish
// Mul is a Conv post-op and must stay unquantized to fuse).
//
// Matches: Mul with two non-constant float inputs, not a Swish (x * Sigmoid(x)), where one input
// is a Sigmoid/HardSigmoid whose input comes, within a few steps back, from a GlobalAveragePool
// or ReduceMean (the squeeze).
// Decides: both inputs get Q/DQ (per-tensor).
//
//   before:  %g = Sigmoid(Conv(Swish(Conv(GlobalAveragePool(%x))))) ; %y = Mul(%x, %g)
//   after:   %y = Mul(DQ(Q(%x)), DQ(Q(%g)))
#pragma once

#include "passes/quant/qdq_case.h"

namespace qat::passes::quant {

class SeMulCase : public QdqCase {
  public:
    std::string name() const override { return "se_mul"; }
    std::string reason() const override {
        return "quantize both inputs of a squeeze-excite Mul so the gated features stay INT8";
    }
    bool match(const ir::Graph& graph, const QdqPlan& plan, const ir::Node& node) const override;
    void apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const override;
};

// The input index (0 or 1) of `mul` that is the squeeze-excite gate, or -1.
int se_gate_input(const ir::Node& mul);

}  // namespace qat::passes::quant
