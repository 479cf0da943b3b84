#include "passes/quant/case_bn_input.h"

#include "passes/quant/pattern_util.h"

namespace qat::passes::quant {

bool BnInputCase::match(const ir::Graph&, const QdqPlan&, const ir::Node& node) const {
    if (node.op_type() != "BatchNormalization") return false;
    const ir::Value* x = node.input(0);
    if (!x || x->is_constant() || !is_quantizable_tensor(x)) return false;
    return !(x->producer() && is_weighted_op(x->producer()->op_type()));
}

void BnInputCase::apply(const ir::Graph&, const ir::Node& node, QdqPlan& plan) const {
    const ir::Node* p = node.input(0)->producer();
    quantize_input(node, 0, plan, std::string("BatchNormalization fed by ") + (p ? p->desc() : "a graph input"));
}

}  // namespace qat::passes::quant
