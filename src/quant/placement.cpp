#include "quant/placement.h"

namespace qat::quant {

namespace pq = passes::quant;

Status plan_placement(const ir::Graph& graph, const PlacementOptions& options, pq::QdqPlan& plan,
                      std::vector<std::string>* log) {
    const PolicyTable& table = options.policy ? *options.policy : default_policy_table();
    if (options.mode == QuantMode::kFull) apply_policy(graph, table, plan);
    QAT_RETURN_IF_ERROR(apply_spec(graph, options.spec, table, plan));
    QAT_RETURN_IF_ERROR(pq::run_qdq_cases(graph, options.cases, plan, log));
    return OkStatus();
}

std::vector<FloatNode> float_nodes(const ir::Graph& graph, const pq::QdqPlan& plan, const PolicyTable& table,
                                   const std::function<bool(const ir::Node&)>& supported) {
    std::vector<FloatNode> out;
    auto order = graph.topo_order();
    std::vector<ir::Node*> nodes = order.ok() ? *order : graph.nodes();
    for (const ir::Node* n : nodes) {
        std::string name = n->name().empty() ? n->op_type() + " (unnamed)" : n->name();
        if (supported && !supported(*n)) {
            out.push_back({name, n->op_type(), "unsupported op (no kernel in this build): stays float"});
            continue;
        }
        const OpPolicy* p = find_policy(table, n->op_type());
        if (!p) continue;
        std::string reasons;
        for (const auto& ip : p->inputs) {
            if (ip.index >= static_cast<int>(n->num_inputs()) || !n->input(ip.index)) continue;
            const pq::InputDecision* d = plan.find(*n, ip.index);
            if (d && d->quantize) continue;
            std::string r = d ? d->reason : "not selected (partial mode)";
            reasons += (reasons.empty() ? "" : "; ") + ip.role + " float: " + r;
        }
        if (!reasons.empty()) out.push_back({name, n->op_type(), reasons});
    }
    return out;
}

}  // namespace qat::quant
