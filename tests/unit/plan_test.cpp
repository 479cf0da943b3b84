#include <gtest/gtest.h>

#include "backends/registry.h"
#include "ir/graph.h"
#include "runtime/plan.h"

using namespace qat;

TEST(Plan, RunsAndChecksInputs) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3});
    ir::Node* r = g.add_node("Relu", {x}, {"r"}, "relu");
    ir::Node* a = g.add_node("Add", {r->output(0), x}, {"y"}, "add");
    g.add_output(a->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &backends::default_registry()});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    Tensor in = Tensor::from_vector<float>({2, 3}, {-1, 2, -3, 4, -5, 6});
    auto out = (*plan)->run({{"x", in}});
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    std::vector<float> expect{-1, 4, -3, 8, -5, 12};
    EXPECT_EQ(out->at("y").to_vector<float>(), expect);

    auto bad = (*plan)->run({{"x", Tensor::zeros(DataType::kFloat32, {2, 4})}});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("[N,3]"), std::string::npos) << bad.status().message();
    auto bad_name = (*plan)->run({{"z", in}});
    ASSERT_FALSE(bad_name.ok());
    EXPECT_NE(bad_name.status().message().find("'z'"), std::string::npos);
}

TEST(Plan, ListsEveryUnsupportedOp) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{3});
    ir::Node* a = g.add_node("Frobnicate", {x}, {"a"}, "f1");
    ir::Node* b = g.add_node("Zorch", {a->output(0)}, {"b"}, "z1");
    g.add_output(b->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &backends::default_registry()});
    ASSERT_FALSE(plan.ok());
    const std::string& m = plan.status().message();
    EXPECT_NE(m.find("Frobnicate (node 'f1')"), std::string::npos) << m;
    EXPECT_NE(m.find("Zorch (node 'z1')"), std::string::npos) << m;
}
