#include "passes/quant/case_concat_scale.h"

#include "passes/quant/pattern_util.h"

namespace qat::passes::quant {

namespace {

bool output_quantized(const ir::Node& node, const QdqPlan& plan) {
    const ir::Value* y = node.output(0);
    if (!y) return false;
    for (const ir::Use& u : y->uses())
        if (plan.quantizes(*u.node, u.index)) return true;
    return false;
}

}  // namespace

bool ConcatSharedScaleCase::match(const ir::Graph&, const QdqPlan& plan, const ir::Node& node) const {
    if (node.op_type() != "Concat" || node.num_inputs() < 2) return false;
    for (const ir::Value* v : node.inputs())
        if (!v || v->is_constant() || !is_quantizable_tensor(v)) return false;
    if (scope_ == Scope::kAll) return true;
    return output_quantized(node, plan);
}

void ConcatSharedScaleCase::apply(const ir::Graph&, const ir::Node& node, QdqPlan& plan) const {
    std::vector<const ir::Value*> group;
    for (size_t i = 0; i < node.num_inputs(); ++i) {
        // A spec entry may have turned an input off; only the quantized ones share the scale.
        quantize_input(node, static_cast<int>(i), plan, "Concat input (shared scale)");
        if (plan.quantizes(node, static_cast<int>(i))) group.push_back(node.input(i));
    }
    if (output_quantized(node, plan)) group.push_back(node.output(0));
    if (group.size() >= 2) plan.share_scale(group, "inputs of " + node.desc());
}

}  // namespace qat::passes::quant
