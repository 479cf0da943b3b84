// Case bn_input: quantize the input of a BatchNormalization whose producer is not a weighted
// layer (Conv, ConvTranspose, Gemm, MatMul).
//
// Why: a BN right after a Conv is folded into it (by TensorRT at build time, by our engine's
// passes), so it needs no Q/DQ. A BN that follows something else — the pre-activation
// BN-ReLU-Conv of ResNet v2, fed by the residual Add — runs as its own scale-and-shift; giving
// it an INT8 input lets the engine run BN(+ReLU) in INT8 and keeps the Add's output INT8 on both
// paths. This is the reference toolkit's BNQDQCase (part of its ResNetV2QDQCase).
//
// Matches: BatchNormalization whose input 0 is a float tensor not produced by a weighted op.
// Decides: input 0 gets Q/DQ (per-tensor).
//
//   before:  %s = Add(...) ; %b = BatchNormalization(%s, ...) ; %r = Relu(%b)
//   after:   %b = BatchNormalization(DQ(Q(%s)), ...)
#pragma once

#include "passes/quant/qdq_case.h"

namespace qat::passes::quant {

class BnInputCase : public QdqCase {
  public:
    std::string name() const override { return "bn_input"; }
    std::string reason() const override {
        return "quantize the input of a BatchNormalization that does not follow a Conv (ResNet v2 pre-activation)";
    }
    bool match(const ir::Graph& graph, const QdqPlan& plan, const ir::Node& node) const override;
    void apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const override;
};

}  // namespace qat::passes::quant
