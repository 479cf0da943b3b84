#include "passes/dead_code.h"

namespace qat::passes {
namespace {

class DeadCodeElimination : public Pass {
  public:
    std::string name() const override { return "dead-code"; }
    Result<bool> run(ir::Graph& graph, PassContext& ctx) override {
        const size_t values_before = graph.values().size();
        const size_t removed = graph.remove_dead_code();
        if (removed > 0) ctx.note_rewrite(name(), "removed " + std::to_string(removed) + " unused nodes");
        return removed > 0 || graph.values().size() != values_before;
    }
};

}  // namespace

std::unique_ptr<Pass> make_dead_code_pass() { return std::make_unique<DeadCodeElimination>(); }

}  // namespace qat::passes
