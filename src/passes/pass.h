// Pass, RewriteRule and PassManager: how every graph transformation in qat is written and run.
//
// A Pass transforms a Graph and says whether it changed it. Most passes are a set of
// RewriteRules (cheap match() first, then apply()) run to a fixed point with an iteration cap
// (ONNX Runtime's GraphTransformer / RewriteRule). Pipelines are explicit ordered lists
// (pipelines.cpp) — no static registrars.
//
//   passes::PassManager pm;
//   pm.add(std::make_unique<FoldBatchNorm>());
//   passes::PassContext ctx;
//   ctx.verify_each = true;          // tests and debug runs: ir::verify after every pass
//   QAT_ASSIGN_OR_RETURN(bool changed, pm.run(graph, ctx));
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::passes {

struct PassContext {
    // Passes named here are skipped (PassManager).
    std::set<std::string> disabled;
    // After a pass of this name runs, its text IR goes to `dump` (default: stderr).
    std::string dump_after;
    std::function<void(const std::string& pass, const std::string& text)> dump;
    // Run ir::verify after every pass and fail the pipeline on the first broken graph.
    bool verify_each = false;
    // Fixed-point cap for rule sets.
    int max_iterations = 64;
    // Wall time per pass in milliseconds (filled by the PassManager).
    std::map<std::string, double> timings_ms;
    // Rewrites per pass (filled by note_rewrite).
    std::map<std::string, int> rewrites;

    // One debug line per rewrite naming the nodes (shown with QAT_VERBOSE=passes).
    void note_rewrite(const std::string& pass, const std::string& what);
};

class Pass {
  public:
    virtual ~Pass() = default;
    virtual std::string name() const = 0;
    // Returns whether the graph changed.
    virtual Result<bool> run(ir::Graph& graph, PassContext& ctx) = 0;
};

// The nodes a rule matched, in the rule's own order (e.g. {dq_x, dq_w, conv, relu, q}).
struct Match {
    std::vector<ir::Node*> nodes;
};

class RewriteRule {
  public:
    virtual ~RewriteRule() = default;
    virtual std::string name() const = 0;
    // Cheap checks first; fills `m` on success. Must not mutate the graph.
    virtual bool match(const ir::Graph& graph, ir::Node& node, Match& m) const = 0;
    // Rewrites the matched nodes. Returns a short description for the rewrite log.
    virtual Result<std::string> apply(ir::Graph& graph, const Match& m) = 0;
};

// Runs its rules over the nodes (topological order) until nothing matches or the cap is hit.
class RuleSetPass : public Pass {
  public:
    RuleSetPass(std::string name, std::vector<std::unique_ptr<RewriteRule>> rules);
    std::string name() const override { return name_; }
    Result<bool> run(ir::Graph& graph, PassContext& ctx) override;

  private:
    std::string name_;
    std::vector<std::unique_ptr<RewriteRule>> rules_;
};

class PassManager {
  public:
    void add(std::unique_ptr<Pass> pass);
    Result<bool> run(ir::Graph& graph, PassContext& ctx) const;
    std::vector<std::string> pass_names() const;

  private:
    std::vector<std::unique_ptr<Pass>> passes_;
};

}  // namespace qat::passes
