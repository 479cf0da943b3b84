// The default Q/DQ placement policy as a table: op type -> which inputs get Q/DQ, and with what
// granularity and per-channel axis. "Placement is data, not branches": the default placement
// (`--preset none`) is exactly this table applied to every node; QuantSpec entries and pattern
// cases then revise it.
//
//   op type            input 0 (activation)   weight input (per channel)
//   Conv               per-tensor             input 1, axis 0 (output channels; depthwise too)
//   ConvTranspose      per-tensor             input 1, axis 1 (output channels)
//   Gemm               per-tensor             input 1, axis 0 when transB=1 ([N,K]), else 1 ([K,N])
//   MatMul             per-tensor             input 1 by its layout: last axis (N of [..,K,N]);
//                                             two activation inputs: per-tensor on both
//   AveragePool        per-tensor             -
//   GlobalAveragePool  per-tensor             -
// Biases (input 2 of Conv/ConvTranspose/Gemm) are never quantized: the engine folds them in its
// own domain, and a DQ on an int32 bias is what TensorRT's parser rejects. Outputs of weighted
// layers are not quantized by default (TensorRT recommendation 2: the next op may need float).
// A weight input that is not a constant is quantized per-tensor, like an activation.
// Not in the table (float unless a case or the spec says otherwise): MaxPool, BatchNormalization,
// Add, Mul, Concat and everything else.
//
//   const OpPolicy* p = find_policy(default_policy_table(), "Conv");
//   apply_policy(graph, default_policy_table(), plan);
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/quant/qdq_plan.h"

namespace qat::quant {

// How a weight input's per-channel axis is found.
enum class AxisRule {
    kPerTensor,     // per-tensor even when constant
    kFixed,         // InputPolicy::axis
    kGemmTransB,    // 0 when transB=1, else 1
    kMatMulLayout,  // rank-1 (the N columns) for a rank >= 2 weight; per-tensor for rank 1
};

struct InputPolicy {
    int index = 0;
    AxisRule axis_rule = AxisRule::kPerTensor;  // used when the input is a constant (a weight)
    int axis = 0;                               // for kFixed
    std::string role;                           // "input", "weight" (for reasons and reports)
};

struct OpPolicy {
    std::string op_type;
    std::vector<InputPolicy> inputs;  // the inputs that get Q/DQ by default
    std::string note;
};

using PolicyTable = std::vector<OpPolicy>;

const PolicyTable& default_policy_table();
// nullptr when the op type has no row.
const OpPolicy* find_policy(const PolicyTable& table, const std::string& op_type);
const InputPolicy* find_input_policy(const OpPolicy& policy, int index);

// The decision the table gives for input `index` of `node` (its rule, the node's attributes and
// the input's constness and rank), tagged with `source` and `why`. keep_float when the input is
// not a float tensor.
passes::quant::InputDecision table_decision(const InputPolicy& ip, const ir::Node& node, int index,
                                            passes::quant::Source source, const std::string& why);

// Records the table's decisions for every node of `graph` (Source::kDefault).
void apply_policy(const ir::Graph& graph, const PolicyTable& table, passes::quant::QdqPlan& plan);

}  // namespace qat::quant
