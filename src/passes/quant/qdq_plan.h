// QdqPlan: which node inputs get a QuantizeLinear -> DequantizeLinear pair, decided on the float
// graph before a single Q/DQ node exists.
//
// Placement runs in two steps, selection separate from action:
//   1. decide: the default policy table (src/quant/placement_policy.h), the user's QuantSpec and
//      the pattern cases (qdq_case.h) each record decisions per (node, input index) here;
//   2. act: InsertQdqPass (insert_qdq.h) materialises the plan: one Q/DQ pair per quantized
//      tensor (shared by every consumer that asked for the same granularity), weights quantized.
// Keeping the decisions as data lets a later decision revise an earlier one (a case turning off
// the residual input of an Add that the spec left alone), lets the report say why each input
// is or is not quantized, and keeps the graph untouched until everything is known.
//
// Precedence: a decision replaces an earlier one only when its source ranks at least as high
// (default < pattern < spec by op type < spec by node name), so a user's spec entry always wins
// over the automatic cases, as in the reference toolkit where a per-name entry beats a case.
//
//   QdqPlan plan;
//   plan.decide(*conv, 0, InputDecision::activation(Source::kDefault, "Conv input"));
//   plan.decide(*conv, 1, InputDecision::weight(0, Source::kDefault, "Conv weight, per output channel"));
//   if (plan.quantizes(*conv, 1)) ...
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace qat::passes::quant {

enum class Granularity { kPerTensor, kPerChannel };

// Who made a decision; higher ranks win (see the header comment).
enum class Source { kDefault = 0, kPattern = 1, kSpecOpType = 2, kSpecName = 3 };
const char* source_name(Source s);

struct InputDecision {
    bool quantize = false;
    Granularity granularity = Granularity::kPerTensor;
    int axis = 0;  // meaningful for kPerChannel only
    Source source = Source::kDefault;
    std::string reason;  // "default: Conv weight", "residual_add: skip branch", "spec entry #2 (conv1)"

    static InputDecision activation(Source s, std::string why);
    static InputDecision weight(int axis, Source s, std::string why);  // per-channel along axis
    static InputDecision weight_per_tensor(Source s, std::string why);
    static InputDecision keep_float(Source s, std::string why);
};

// Inputs whose tensors must share one scale (the max of their amax), e.g. the inputs of a Concat
// so that the concatenation runs on int8 values of one scale.
struct ScaleGroup {
    std::vector<const ir::Value*> values;
    std::string reason;
};

class QdqPlan {
  public:
    // Records `d` for input `input` of `node`. Returns false and changes nothing when a decision
    // of a higher-ranked source is already there.
    bool decide(const ir::Node& node, int input, InputDecision d);
    // nullptr when nothing was decided for that input.
    const InputDecision* find(const ir::Node& node, int input) const;
    bool quantizes(const ir::Node& node, int input) const;
    // True when any input of `node` is quantized.
    bool quantizes_any(const ir::Node& node) const;
    // Every decision of a node, by input index.
    const std::map<int, InputDecision>* decisions(const ir::Node& node) const;
    void forget(const ir::Node& node, int input);

    // Marks values that must share one scale (a value may join several groups: they merge).
    void share_scale(std::vector<const ir::Value*> values, std::string reason);
    const std::vector<ScaleGroup>& scale_groups() const { return groups_; }

    // A note that a node stays float and why ("no placement rule for op LSTM"), for the summary.
    void note_float(const ir::Node& node, std::string reason);
    const std::vector<std::pair<const ir::Node*, std::string>>& float_notes() const { return float_notes_; }

    // The values that get Q/DQ (each once), in a deterministic order given `order` (the graph's
    // nodes in topological order): first consumer first.
    std::vector<const ir::Value*> quantized_values(const std::vector<ir::Node*>& order) const;

    bool empty() const { return entries_.empty(); }

  private:
    std::map<const ir::Node*, std::map<int, InputDecision>> entries_;
    std::vector<ScaleGroup> groups_;
    std::vector<std::pair<const ir::Node*, std::string>> float_notes_;
};

}  // namespace qat::passes::quant
