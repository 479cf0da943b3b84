#include "quant/placement_policy.h"

#include "passes/quant/pattern_util.h"

namespace qat::quant {

namespace pq = passes::quant;

const PolicyTable& default_policy_table() {
    static const PolicyTable kTable = {
        {"Conv",
         {{0, AxisRule::kPerTensor, 0, "input"}, {1, AxisRule::kFixed, 0, "weight"}},
         "weights per output channel (axis 0), depthwise included"},
        {"ConvTranspose",
         {{0, AxisRule::kPerTensor, 0, "input"}, {1, AxisRule::kFixed, 1, "weight"}},
         "weights per output channel (axis 1 of [C_in, C_out/group, k...])"},
        {"Gemm",
         {{0, AxisRule::kPerTensor, 0, "input"}, {1, AxisRule::kGemmTransB, 0, "weight"}},
         "weights per output column: axis 0 with transB=1 ([N,K]), else axis 1 ([K,N])"},
        {"MatMul",
         {{0, AxisRule::kPerTensor, 0, "input"}, {1, AxisRule::kMatMulLayout, 0, "weight"}},
         "constant B per output column (last axis); two activations: per-tensor on both"},
        {"AveragePool", {{0, AxisRule::kPerTensor, 0, "input"}}, "INT8 pooling needs an INT8 input"},
        {"GlobalAveragePool", {{0, AxisRule::kPerTensor, 0, "input"}}, "INT8 pooling needs an INT8 input"},
    };
    return kTable;
}

const OpPolicy* find_policy(const PolicyTable& table, const std::string& op_type) {
    for (const auto& p : table)
        if (p.op_type == op_type) return &p;
    return nullptr;
}

const InputPolicy* find_input_policy(const OpPolicy& policy, int index) {
    for (const auto& ip : policy.inputs)
        if (ip.index == index) return &ip;
    return nullptr;
}

pq::InputDecision table_decision(const InputPolicy& ip, const ir::Node& node, int index, pq::Source source,
                                 const std::string& why) {
    const ir::Value* v = node.input(static_cast<size_t>(index));
    if (!v) return pq::InputDecision::keep_float(source, why + ": input absent");
    if (v->is_constant()) {
        if (v->constant().dtype() != DataType::kFloat32)
            return pq::InputDecision::keep_float(
                source, why + ": " + dtype_name(v->constant().dtype()) + " constant (only float32 is quantized)");
        int rank = static_cast<int>(v->constant().rank());
        switch (ip.axis_rule) {
            case AxisRule::kPerTensor:
                return pq::InputDecision::weight_per_tensor(source, why + " (per-tensor)");
            case AxisRule::kFixed:
                if (ip.axis < rank) return pq::InputDecision::weight(ip.axis, source, why);
                return pq::InputDecision::weight_per_tensor(source, why + " (per-tensor: rank too small)");
            case AxisRule::kGemmTransB: {
                int axis = node.attr_int("transB", 0) != 0 ? 0 : 1;
                if (rank == 2) return pq::InputDecision::weight(axis, source, why + " (transB picks axis)");
                return pq::InputDecision::weight_per_tensor(source, why + " (per-tensor: not 2-D)");
            }
            case AxisRule::kMatMulLayout:
                if (rank >= 2) return pq::InputDecision::weight(rank - 1, source, why + " (per output column)");
                return pq::InputDecision::weight_per_tensor(source, why + " (per-tensor: 1-D)");
        }
    }
    if (!pq::is_quantizable_tensor(v))
        return pq::InputDecision::keep_float(source, why + ": " + dtype_name(v->dtype()) + " tensor (not float32)");
    if (ip.role == "weight")
        return pq::InputDecision::activation(source, why + " (not a constant: per-tensor like an activation)");
    return pq::InputDecision::activation(source, why);
}

void apply_policy(const ir::Graph& graph, const PolicyTable& table, pq::QdqPlan& plan) {
    for (const ir::Node* n : graph.nodes()) {
        if (!n->domain().empty() && n->domain() != "ai.onnx") continue;
        const OpPolicy* p = find_policy(table, n->op_type());
        if (!p) continue;
        for (const auto& ip : p->inputs) {
            if (ip.index >= static_cast<int>(n->num_inputs()) || !n->input(ip.index)) continue;
            plan.decide(
                *n, ip.index,
                table_decision(ip, *n, ip.index, pq::Source::kDefault, "default: " + n->op_type() + " " + ip.role));
        }
    }
}

}  // namespace qat::quant
