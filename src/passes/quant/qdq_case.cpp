#include "passes/quant/qdq_case.h"

#include "core/logging.h"
#include "passes/quant/pattern_util.h"

namespace qat::passes::quant {

bool QdqCase::quantize_input(const ir::Node& node, int input, QdqPlan& plan, const std::string& why) const {
    const ir::Value* v = node.input(static_cast<size_t>(input));
    if (!is_quantizable_tensor(v)) return false;
    return plan.decide(node, input, InputDecision::activation(Source::kPattern, name() + ": " + why));
}

bool QdqCase::keep_input_float(const ir::Node& node, int input, QdqPlan& plan, const std::string& why) const {
    if (!node.input(static_cast<size_t>(input))) return false;
    return plan.decide(node, input, InputDecision::keep_float(Source::kPattern, name() + ": " + why));
}

Status run_qdq_cases(const ir::Graph& graph, const QdqCaseList& cases, QdqPlan& plan, std::vector<std::string>* log) {
    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, graph.topo_order());
    for (const auto& c : cases) {
        for (const ir::Node* n : order) {
            if (!c->match(graph, plan, *n)) continue;
            c->apply(graph, *n, plan);
            QAT_VLOG("passes") << "qdq case " << c->name() << " matched " << n->desc();
            if (log) log->push_back(c->name() + ": " + n->desc());
        }
    }
    return OkStatus();
}

}  // namespace qat::passes::quant
