// QdqCase: a pattern case of Q/DQ placement — a small rule that finds a structure in the float
// graph and records where Q/DQ must (or must not) go, so that the INT8 engine (ours or
// TensorRT) can fuse what the default per-op table alone would leave split.
//
// A case is RewriteRule-shaped (cheap match() first, then apply()) but it edits the QdqPlan,
// not the graph: the graph only changes when InsertQdqPass materialises the whole plan. Cases
// record their decisions with Source::kPattern, so a user's spec entry always wins.
//
// Built-in cases (one per file, reason in each header): residual_add, bn_input, maxpool_input,
// se_mul, concat_shared_scale; presets (presets.h) compose them. A user adds a case in C++:
//
//   class QuantizeSoftmaxInput : public passes::quant::QdqCase {
//   public:
//       std::string name() const override { return "softmax_input"; }
//       std::string reason() const override { return "our engine has an INT8 Softmax"; }
//       bool match(const ir::Graph&, const QdqPlan&, const ir::Node& n) const override {
//           return n.op_type() == "Softmax";
//       }
//       void apply(const ir::Graph&, const ir::Node& n, QdqPlan& plan) const override {
//           quantize_input(n, 0, plan, "Softmax input");
//       }
//   };
//   options.extra_cases.push_back(std::make_unique<QuantizeSoftmaxInput>());   // quant::QuantizeOptions
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/quant/qdq_plan.h"

namespace qat::passes::quant {

class QdqCase {
  public:
    virtual ~QdqCase() = default;
    // Short identifier used by --case, presets and the plan's reasons ("residual_add").
    virtual std::string name() const = 0;
    // Why the case exists, one line (shown by `qat quantize --list-cases`).
    virtual std::string reason() const = 0;
    // Structural test of one node; must not change anything. `plan` holds the decisions made so
    // far (the default table, the spec, earlier cases).
    virtual bool match(const ir::Graph& graph, const QdqPlan& plan, const ir::Node& node) const = 0;
    // Records the decisions for a matched node.
    virtual void apply(const ir::Graph& graph, const ir::Node& node, QdqPlan& plan) const = 0;

  protected:
    // Helpers that tag decisions with this case's name and Source::kPattern. Inputs that are
    // not float tensors are left alone. Return whether the plan took the decision.
    bool quantize_input(const ir::Node& node, int input, QdqPlan& plan, const std::string& why) const;
    bool keep_input_float(const ir::Node& node, int input, QdqPlan& plan, const std::string& why) const;
};

using QdqCaseList = std::vector<std::unique_ptr<QdqCase>>;

// Runs the cases one after another (each over every node, in topological order, so a later
// case sees what the earlier ones decided). `log` (optional) gets one line per match.
Status run_qdq_cases(const ir::Graph& graph, const QdqCaseList& cases, QdqPlan& plan,
                     std::vector<std::string>* log = nullptr);

}  // namespace qat::passes::quant
