// Q/DQ placement decisions: the policy table, the user's QuantSpec and the pattern cases,
// combined into one QdqPlan (passes/quant/qdq_plan.h), plus the list of what stays float.
//
// Order: table (full mode only) -> spec -> cases. Ranks (default < pattern < spec by op type
// < spec by name) make the spec win whatever the order; running the cases last lets them read
// the table's and the spec's decisions (e.g. concat_shared_scale looks at whether the Concat's
// output is quantized).
//
//   PlacementOptions po;
//   po.mode = QuantMode::kFull;
//   QAT_ASSIGN_OR_RETURN(po.cases, passes::quant::make_preset("resnet_v1"));
//   passes::quant::QdqPlan plan;
//   QAT_RETURN_IF_ERROR(plan_placement(graph, po, plan));
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/quant/qdq_case.h"
#include "passes/quant/qdq_plan.h"
#include "quant/placement_policy.h"
#include "quant/quant_spec.h"

namespace qat::quant {

struct PlacementOptions {
    QuantMode mode = QuantMode::kFull;
    const PolicyTable* policy = nullptr;  // nullptr: default_policy_table()
    QuantSpec spec;
    passes::quant::QdqCaseList cases;
};

// `log` (optional) gets one line per case match ("residual_add: Add 'add1'").
Status plan_placement(const ir::Graph& graph, const PlacementOptions& options, passes::quant::QdqPlan& plan,
                      std::vector<std::string>* log = nullptr);

struct FloatNode {
    std::string node;  // node name (or "<op> #i" when unnamed)
    std::string op_type;
    std::string reason;
};

// What stays float, for the summary: weighted/table ops with an input or weight the plan leaves
// float (with the decision's reason), and nodes whose op no backend of this build runs
// (`supported` says which ops are runnable; nullptr skips that check).
std::vector<FloatNode> float_nodes(const ir::Graph& graph, const passes::quant::QdqPlan& plan, const PolicyTable& table,
                                   const std::function<bool(const ir::Node&)>& supported = nullptr);

}  // namespace qat::quant
