#include "passes/quant/case_maxpool_input.h"

#include "passes/quant/pattern_util.h"

namespace qat::passes::quant {

namespace {

// True when `v` reaches a Concat or an Add within `hops` steps through commuting ops.
bool reaches_join(const ir::Value& v, int hops) {
    for (const ir::Node* c : consumers(v)) {
        if (c->op_type() == "Concat" || c->op_type() == "Add") return true;
        if (hops > 0 && commutes_with_quantization(c->op_type()) && c->num_outputs() >= 1 && c->output(0) &&
            reaches_join(*c->output(0), hops - 1))
            return true;
    }
    return false;
}

}  // namespace

bool MaxPoolInputCase::match(const ir::Graph&, const QdqPlan&, const ir::Node& node) const {
    if (node.op_type() != "MaxPool") return false;
    const ir::Value* x = node.input(0);
    if (!x || x->is_constant() || !is_quantizable_tensor(x)) return false;
    if (scope_ == Scope::kAll) return true;
    return node.output(0) && reaches_join(*node.output(0), 3);
}

void MaxPoolInputCase::apply(const ir::Graph&, const ir::Node& node, QdqPlan& plan) const {
    quantize_input(node, 0, plan, scope_ == Scope::kAll ? "MaxPool input" : "MaxPool branch meets a Concat/Add");
}

}  // namespace qat::passes::quant
