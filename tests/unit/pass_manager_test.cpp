#include <gtest/gtest.h>

#include "ir/graph.h"
#include "passes/pass.h"

using namespace qat;

namespace {

// Removes Identity nodes one at a time (exercises the fixed-point loop).
class DropIdentity : public passes::RewriteRule {
  public:
    std::string name() const override { return "drop-identity"; }
    bool match(const ir::Graph&, ir::Node& n, passes::Match& m) const override {
        if (n.op_type() != "Identity" || n.output(0)->is_graph_output()) return false;
        m.nodes = {&n};
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const passes::Match& m) override {
        ir::Node* n = m.nodes[0];
        std::string what = n->desc();
        g.replace_all_uses_with(n->output(0), n->input(0));
        g.remove_node(n);
        return what;
    }
};

// A deliberately broken pass: leaves a node reading a value that nobody produces.
class BreakGraph : public passes::Pass {
  public:
    std::string name() const override { return "break"; }
    Result<bool> run(ir::Graph& g, passes::PassContext&) override {
        ir::Value* orphan = g.add_value("orphan", DataType::kFloat32, Shape{2});
        g.set_input(g.nodes().back(), 0, orphan);
        return true;
    }
};

std::unique_ptr<ir::Graph> chain_of_identities(int n) {
    auto g = std::make_unique<ir::Graph>();
    ir::Value* v = g->add_input("x", DataType::kFloat32, Shape{2});
    for (int i = 0; i < n; ++i)
        v = g->add_node("Identity", {v}, {"i" + std::to_string(i)}, "id" + std::to_string(i))->output(0);
    ir::Node* r = g->add_node("Relu", {v}, {"y"}, "relu");
    g->add_output(r->output(0));
    return g;
}

std::unique_ptr<passes::Pass> drop_identity_pass() {
    std::vector<std::unique_ptr<passes::RewriteRule>> rules;
    rules.push_back(std::make_unique<DropIdentity>());
    return std::make_unique<passes::RuleSetPass>("drop-identity", std::move(rules));
}

}  // namespace

TEST(PassManager, RunsRulesToFixedPointAndCountsRewrites) {
    auto g = chain_of_identities(5);
    passes::PassManager pm;
    pm.add(drop_identity_pass());
    passes::PassContext ctx;
    ctx.verify_each = true;
    auto changed = pm.run(*g, ctx);
    ASSERT_TRUE(changed.ok()) << changed.status().to_string();
    EXPECT_TRUE(*changed);
    EXPECT_EQ(g->num_nodes(), 1u);
    EXPECT_EQ(g->nodes()[0]->input(0)->name(), "x");
    EXPECT_EQ(ctx.rewrites["drop-identity"], 5);
    EXPECT_EQ(ctx.timings_ms.count("drop-identity"), 1u);
}

TEST(PassManager, IterationCapStopsEarly) {
    auto g = chain_of_identities(5);
    passes::PassManager pm;
    pm.add(drop_identity_pass());
    passes::PassContext ctx;
    ctx.max_iterations = 2;
    ASSERT_TRUE(pm.run(*g, ctx).ok());
    EXPECT_EQ(g->num_nodes(), 4u);  // 3 identities + relu left
}

TEST(PassManager, DisabledPassIsSkippedAndDumpIsTaken) {
    auto g = chain_of_identities(2);
    passes::PassManager pm;
    pm.add(drop_identity_pass());
    passes::PassContext ctx;
    ctx.disabled.insert("drop-identity");
    auto changed = pm.run(*g, ctx);
    ASSERT_TRUE(changed.ok());
    EXPECT_FALSE(*changed);
    EXPECT_EQ(g->num_nodes(), 3u);

    passes::PassContext ctx2;
    std::string dumped;
    ctx2.dump_after = "drop-identity";
    ctx2.dump = [&](const std::string&, const std::string& text) { dumped = text; };
    ASSERT_TRUE(pm.run(*g, ctx2).ok());
    EXPECT_NE(dumped.find("Relu"), std::string::npos);
    EXPECT_EQ(dumped.find("Identity"), std::string::npos);
}

TEST(PassManager, VerifyEachCatchesABrokenGraph) {
    auto g = chain_of_identities(1);
    passes::PassManager pm;
    pm.add(std::make_unique<BreakGraph>());
    passes::PassContext ctx;
    ctx.verify_each = true;
    auto r = pm.run(*g, ctx);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find("after pass break"), std::string::npos) << r.status().to_string();
}
