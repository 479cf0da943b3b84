// Case residual_add: on a residual Add, quantize every input except the one that comes straight
// from a Conv branch.
//
// Why: TensorRT (and our engine's QConv "add" post-op) fuse Conv [+BN] [+act] + Add into one
// INT8 kernel when the Conv branch reaches the Add unquantized and the other (skip) input is
// INT8. Q/DQ on both inputs forces the Conv to end in a Q of its own and the Add to run as a
// separate op ("the extra pair of Q/DQ forces the separation of the convolution from the
// element-wise addition", TensorRT guide). This is the reference toolkit's
// ResidualConnectionQDQCase, generalised from Keras class names to graph structure.
//
// Matches: Add with two non-constant float inputs, at least one of them a Conv branch
// (pattern_util.h conv_branch: Conv/ConvTranspose/Gemm/MatMul, optional BN, optional activation
// incl. Swish, optional Dropout; every step read by the next only, the last read only by the Add).
// Decides: the Conv-branch input stays float; every other input gets Q/DQ. When both inputs are
// Conv branches exactly one stays float: the one on the longer path from the graph inputs (the
// main branch; the shortcut projection is shorter), the first input on a tie — the rule NVIDIA's
// ONNX quantizer uses for the non-residual input.
//
//   before:  %a = BatchNormalization(Conv(%x, %w)) ; %y = Add(%a, %x)
//   after:   %y = Add(%a, DQ(Q(%x)))            (%a left float: Conv+BN+Add fuse)
#pragma once

#include "passes/quant/qdq_case.h"

namespace qat::passes::quant {

class ResidualAddCase : public QdqCase {
  public:
    std::string name() const override { return "residual_add"; }
    std::string reason() const override {
        return "quantize the skip input of a residual Add, not the Conv branch, so Conv+Add fuse in INT8";
    }
    bool match(const ir::Graph& graph, const QdqPlan& plan, const ir::Node& node) const override;
    void apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const override;
};

}  // namespace qat::passes::quant
