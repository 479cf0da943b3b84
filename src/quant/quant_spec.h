// QuantSpec: the user's overrides of Q/DQ placement, from a JSON file (`--spec FILE`) and the CLI
// shortcuts `--include` / `--exclude`. The C++ counterpart of the reference toolkit's
// QuantizationSpec / LayerConfig.
//
// File format (docs/QUANTIZE.md):
//   {
//     "mode": "full",                       // optional: "full" (spec revises the defaults) or
//                                           // "partial" (only what the spec names is quantized)
//     "entries": [
//       {"name": "conv1", "quantize_input": false},                 // exact node name
//       {"name": "block3_*", "quantize_weight": false},             // glob (* ? [..])
//       {"op_type": "Add", "input_indices": [1]},                   // every node of an op type
//       {"op_type": "MaxPool"}
//     ]
//   }
// Entry keys: exactly one of "name" / "op_type"; "quantize_input" (default true): Q/DQ on the
// activation inputs; "quantize_weight" (default true): Q/DQ on constant (weight) inputs;
// "input_indices": only these inputs are touched, the node's other inputs stay float.
// Unknown keys, wrong types, and entries that match no node are errors (the message lists the
// closest node names, or the op types present). A name entry outranks an op-type entry; among
// entries of one kind the later one wins.
//
//   QAT_ASSIGN_OR_RETURN(QuantSpec spec, load_quant_spec("spec.json"));
//   spec.entries.push_back(filter_entry("op:Softmax", false));          // --exclude op:Softmax
//   QAT_RETURN_IF_ERROR(apply_spec(graph, spec, policy, plan));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/quant/qdq_plan.h"
#include "quant/placement_policy.h"

namespace qat::quant {

enum class QuantMode { kFull, kPartial };
const char* quant_mode_name(QuantMode m);
Result<QuantMode> parse_quant_mode(const std::string& s);

struct SpecEntry {
    std::string name;     // node name or glob; empty when op_type is set
    std::string op_type;  // empty when name is set
    bool quantize_input = true;
    bool quantize_weight = true;
    std::optional<std::vector<int>> input_indices;
    // Where the entry comes from, for messages: "spec.json entry #2", "--exclude conv1*".
    std::string origin;
    // A filter from --include/--exclude that names an op type when no node name matches it.
    bool name_or_op_type = false;
};

struct QuantSpec {
    std::optional<QuantMode> mode;
    std::vector<SpecEntry> entries;
};

// `what` names the source in messages (usually the path).
Result<QuantSpec> parse_quant_spec(const std::string& json_text, const std::string& what);
Result<QuantSpec> load_quant_spec(const std::string& path);

// An --include (quantize=true) or --exclude (quantize=false) filter: "op:Conv" names an op type;
// otherwise a node-name glob, or an op type when no node name matches it.
SpecEntry filter_entry(const std::string& pattern, bool quantize);

// Records the spec's decisions in `plan` (Source::kSpecName / kSpecOpType). Errors name the
// entry's origin: an entry that matches nothing (with the closest names / op types), an
// input index out of range.
Status apply_spec(const ir::Graph& graph, const QuantSpec& spec, const PolicyTable& table,
                  passes::quant::QdqPlan& plan);

}  // namespace qat::quant
