#include "passes/quant/case_residual_add.h"

#include "passes/quant/pattern_util.h"

namespace qat::passes::quant {

namespace {

bool is_activation_input(const ir::Value* v) { return v && !v->is_constant() && is_quantizable_tensor(v); }

}  // namespace

bool ResidualAddCase::match(const ir::Graph&, const QdqPlan&, const ir::Node& node) const {
    if (node.op_type() != "Add" || node.num_inputs() != 2) return false;
    if (!is_activation_input(node.input(0)) || !is_activation_input(node.input(1))) return false;
    return conv_branch(*node.input(0)).head || conv_branch(*node.input(1)).head;
}

void ResidualAddCase::apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const {
    ConvBranch b[2] = {conv_branch(*node.input(0)), conv_branch(*node.input(1))};
    int keep = b[0].head ? 0 : 1;
    if (b[0].head && b[1].head) {
        DepthMap depth(graph);
        keep = depth.depth(node.input(1)) > depth.depth(node.input(0)) ? 1 : 0;
    }
    for (int i = 0; i < 2; ++i) {
        if (i == keep) {
            keep_input_float(node, i, plan, "Conv branch from " + b[i].head->desc() + " fuses with the Add");
        } else {
            quantize_input(node, i, plan,
                           b[i].head ? "second Conv branch (shorter path): quantized so the other one fuses"
                                     : "skip input of a residual Add");
        }
    }
}

}  // namespace qat::passes::quant
