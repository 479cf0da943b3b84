// Case maxpool_input: quantize the input of MaxPool.
//
// Why: MaxPool commutes with quantization (max is monotone for a positive scale), so it is
// "precision neutral" and runs in INT8 once its input is INT8. When a MaxPool branch meets other
// quantized branches at a Concat (Inception) or an Add (ResNet v2 stem / shortcut), Q/DQ on its
// input lets the engine keep every branch INT8 and merge their quantizers ("horizontal fusion").
// The reference toolkit's MaxPoolQDQCase (part of its ResNetV2 and Inception cases).
//
// Scope kAll (presets resnet_v2, inception): every MaxPool with a float input.
// Scope kBranches (preset auto): only a MaxPool whose output reaches a Concat or an Add, through
// at most a few ops that commute with quantization — the structure the reason above is about.
// Decides: input 0 gets Q/DQ (per-tensor).
//
//   before:  %p = MaxPool(%r) ; %c = Concat(%p, %b1, %b2)
//   after:   %p = MaxPool(DQ(Q(%r)))
#pragma once

#include "passes/quant/qdq_case.h"

namespace qat::passes::quant {

class MaxPoolInputCase : public QdqCase {
  public:
    enum class Scope { kAll, kBranches };
    explicit MaxPoolInputCase(Scope scope = Scope::kAll) : scope_(scope) {}
    std::string name() const override { return "maxpool_input"; }
    std::string reason() const override {
        return "quantize MaxPool inputs so branches meeting at a Concat or Add share INT8 (horizontal fusion)";
    }
    bool match(const ir::Graph& graph, const QdqPlan& plan, const ir::Node& node) const override;
    void apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const override;

  private:
    Scope scope_;
};

}  // namespace qat::passes::quant
