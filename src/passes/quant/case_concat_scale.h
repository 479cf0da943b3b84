// Case concat_shared_scale: quantize every input of a Concat with one shared scale (the largest
// of the inputs' ranges).
//
// Why: a Concat runs in INT8 only when all its inputs carry the same scale; then it is a pure
// copy of int8 bytes and the Q/DQ around it merge (TensorRT compares the scales and merges
// equal ones; our engine keeps Concat with equal scales as an int8 op). With per-input scales
// each branch would be requantized. The max of the inputs' amax loses no range on any branch.
// When the Concat's output is itself quantized (e.g. by the next Conv), it joins the group so
// the Q after the Concat is the same quantizer and disappears.
//
// Scope kAll (preset inception): every Concat whose inputs are all non-constant float tensors.
// Scope kWhenOutputQuantized (preset auto): only when the Concat's output already gets Q/DQ
// from the plan (the next op runs in INT8), so a Concat feeding float ops is left alone.
// Decides: every input gets Q/DQ (per-tensor) and the inputs (+ output) share one scale.
//
//   before:  %c = Concat[axis=1](%b1, %b2, %b3) ; %y = Conv(%c, %w)
//   after:   %c = Concat[axis=1](DQ(Q(%b1)), DQ(Q(%b2)), DQ(Q(%b3)))    scales equal (max)
#pragma once

#include "passes/quant/qdq_case.h"

namespace qat::passes::quant {

class ConcatSharedScaleCase : public QdqCase {
  public:
    enum class Scope { kAll, kWhenOutputQuantized };
    explicit ConcatSharedScaleCase(Scope scope = Scope::kAll) : scope_(scope) {}
    std::string name() const override { return "concat_shared_scale"; }
    std::string reason() const override {
        return "quantize Concat inputs with one shared scale (max of theirs) so the Concat runs in INT8";
    }
    bool match(const ir::Graph& graph, const QdqPlan& plan, const ir::Node& node) const override;
    void apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const override;

  private:
    Scope scope_;
};

}  // namespace qat::passes::quant
