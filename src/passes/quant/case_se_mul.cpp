#include "passes/quant/case_se_mul.h"

#include <set>

#include "passes/quant/pattern_util.h"

namespace qat::passes::quant {

namespace {

// True when a GlobalAveragePool / ReduceMean is among the producers of `v` within `hops` steps
// (following non-constant inputs).
bool comes_from_squeeze(const ir::Value* v, int hops, std::set<const ir::Node*>& seen) {
    if (!v || !v->producer() || hops < 0) return false;
    const ir::Node* p = v->producer();
    if (!seen.insert(p).second) return false;
    if (p->op_type() == "GlobalAveragePool" || p->op_type() == "ReduceMean") return true;
    for (const ir::Value* in : p->inputs())
        if (in && !in->is_constant() && comes_from_squeeze(in, hops - 1, seen)) return true;
    return false;
}

}  // namespace

int se_gate_input(const ir::Node& mul) {
    if (mul.op_type() != "Mul" || mul.num_inputs() != 2 || is_swish_mul(mul)) return -1;
    for (int i = 0; i < 2; ++i) {
        const ir::Value* g = mul.input(i);
        if (!g || !g->producer()) continue;
        const std::string& op = g->producer()->op_type();
        if (op != "Sigmoid" && op != "HardSigmoid") continue;
        std::set<const ir::Node*> seen;
        if (comes_from_squeeze(g->producer()->input(0), 8, seen)) return i;
    }
    return -1;
}

bool SeMulCase::match(const ir::Graph&, const QdqPlan&, const ir::Node& node) const {
    if (node.op_type() != "Mul" || node.num_inputs() != 2) return false;
    for (int i = 0; i < 2; ++i) {
        const ir::Value* v = node.input(i);
        if (!v || v->is_constant() || !is_quantizable_tensor(v)) return false;
    }
    return se_gate_input(node) >= 0;
}

void SeMulCase::apply(const ir::Graph&, const ir::Node& node, QdqPlan& plan) const {
    int gate = se_gate_input(node);
    quantize_input(node, 1 - gate, plan, "squeeze-excite features");
    quantize_input(node, gate, plan, "squeeze-excite gate");
}

}  // namespace qat::passes::quant
