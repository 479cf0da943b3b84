// InsertQdqPass: materialises a QdqPlan as QuantizeLinear -> DequantizeLinear pairs.
//
//   before:  %y = Conv(%x, %w, %b)                       plan: input 0 per-tensor, input 1 axis 0
//   after (weights int8, the default):
//            %x_quantized = QuantizeLinear(%x, %x_scale, %x_zero_point)
//            %x_dequantized = DequantizeLinear(%x_quantized, %x_scale, %x_zero_point)
//            %w_dequantized = DequantizeLinear[axis=0](%w_quantized, %w_scale, %w_zero_point)
//            %y = Conv(%x_dequantized, %w_dequantized, %b)
//   after (weights float, TensorRT's QAT export form): %w -> QuantizeLinear -> DequantizeLinear
//
// Preconditions: the plan was made on this graph as it is now (node pointers), and no Q/DQ
// nodes are in it yet. Rules written down once (docs/QUANTIZE.md):
//  - symmetric int8: zero point 0, always written as an explicit int8 tensor (a missing zero
//    point would mean uint8 in ONNX); scale = amax / 127 (core/quant_params.h symmetric_scale);
//  - weights: amax from the weight itself (per channel along the plan's axis, or per tensor);
//    q = round_half_even(w / scale) clamped to [-127, 127] (narrow range, TensorRT's choice);
//  - activations: amax from QdqInsertOptions::activation_amax by tensor name; values in one
//    ScaleGroup (Concat) all take the group's largest amax; a tensor without an amax takes
//    placeholder_scale when set (an uncalibrated model), else the pass fails naming them all;
//  - one Q/DQ pair per (tensor, granularity, axis), shared by every consumer that asked for it;
//    graph outputs keep reading the float tensor;
//  - a float weight left without readers is removed (int8 form), so the file holds one copy.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "passes/pass.h"
#include "passes/quant/qdq_plan.h"

namespace qat::passes::quant {

enum class WeightFormat { kInt8, kFloat };

struct QdqInsertOptions {
    WeightFormat weights = WeightFormat::kInt8;
    // amax per activation tensor name (from a calibration table).
    std::map<std::string, float> activation_amax;
    // Scale for activations absent from activation_amax; unset makes a missing amax an error.
    std::optional<float> placeholder_scale;
};

struct QdqInsertStats {
    int activation_pairs = 0;  // Q/DQ pairs on activations
    int weight_pairs = 0;      // DQ (int8 form) or Q/DQ (float form) on weights
    int placeholder_scales = 0;
    std::vector<std::string> placeholder_tensors;  // activations that got the placeholder
};

// Marks the Q nodes that carry a placeholder scale (doc_string), so reports can point at them.
inline constexpr const char* kPlaceholderDoc = "qat: placeholder scale (uncalibrated)";

// What the placement passes share: PlanQdqPass fills plan and insert options, InsertQdqPass
// reads them and fills stats. Owned by the caller of the pipeline.
struct QdqPlacementState {
    QdqPlan plan;
    QdqInsertOptions insert;
    QdqInsertStats stats;
    std::vector<std::string> log;  // one line per pattern-case match, for reports
};

// Decides the plan on the graph as it is when the pipeline reaches this pass (after stripping
// and BN folding). The planner (src/quant/placement.h) applies the policy table, the spec and
// the cases, then resolves activation ranges into state->insert.
using QdqPlanner = std::function<Status(const ir::Graph&, QdqPlacementState&)>;

class PlanQdqPass : public Pass {
  public:
    PlanQdqPass(QdqPlanner planner, QdqPlacementState* state) : planner_(std::move(planner)), state_(state) {}
    std::string name() const override { return "plan-qdq"; }
    Result<bool> run(ir::Graph& graph, PassContext& ctx) override;

  private:
    QdqPlanner planner_;
    QdqPlacementState* state_;
};

class InsertQdqPass : public Pass {
  public:
    // `state` must outlive run(); its plan and insert options are read, its stats written.
    explicit InsertQdqPass(QdqPlacementState* state) : state_(state) {}
    std::string name() const override { return "insert-qdq"; }
    Result<bool> run(ir::Graph& graph, PassContext& ctx) override;

  private:
    QdqPlacementState* state_;
};

// The activation tensors the plan quantizes (no weights), in the graph's topological order:
// the names a calibration table must provide.
Result<std::vector<std::string>> planned_activation_tensors(const ir::Graph& graph, const QdqPlan& plan);

// Per-channel (axis >= 0) or per-tensor (axis < 0) absolute max of a float32 constant.
Result<std::vector<float>> weight_amax(const Tensor& w, int axis);
// Symmetric narrow-range int8 quantization of a float32 weight with per-slice scales along
// `axis` (scales.size() == 1: per tensor): round half to even, clamp to [-127, 127].
Result<Tensor> quantize_weight(const Tensor& w, const std::vector<float>& scales, int axis);

}  // namespace qat::passes::quant
