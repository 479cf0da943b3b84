#include <gtest/gtest.h>

#include "ir/graph.h"

using namespace qat;

TEST(Graph, BuildAndUseLists) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 4});
    ir::Node* r = g.add_node("Relu", {x}, {"r"}, "relu");
    ir::Node* a = g.add_node("Add", {r->output(0), x}, {"y"}, "add");
    g.add_output(a->output(0));
    ASSERT_EQ(x->uses().size(), 2u);
    EXPECT_EQ(r->output(0)->producer(), r);
    EXPECT_EQ(r->output(0)->uses()[0].node, a);

    // Insert an Identity between x and its Add use only.
    std::vector<ir::Use> only{{a, 1}};
    ir::Node* id = g.insert_after(x, "Identity", {}, "id", "x_id", &only);
    EXPECT_EQ(a->input(1), id->output(0));
    EXPECT_EQ(x->uses().size(), 2u);  // relu + identity
    auto order = g.topo_order();
    ASSERT_TRUE(order.ok());
    EXPECT_EQ(order->size(), 3u);
}

TEST(Graph, ReplaceAllUsesAndDeadCode) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2});
    ir::Node* r1 = g.add_node("Relu", {x}, {"r1"}, "r1");
    ir::Node* r2 = g.add_node("Relu", {r1->output(0)}, {"r2"}, "r2");
    g.add_output(r2->output(0));
    g.replace_all_uses_with(r2->output(0), r1->output(0));
    EXPECT_TRUE(r1->output(0)->is_graph_output());
    EXPECT_EQ(g.remove_dead_code(), 1u);
    EXPECT_EQ(g.num_nodes(), 1u);
    EXPECT_EQ(g.find_value("r2"), nullptr);
}

TEST(Graph, CycleIsReported) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2});
    ir::Value* loop = g.add_value("loop");
    ir::Node* a = g.add_node("Add", {x, loop}, {"a"}, "a");
    g.add_node_with_outputs("Relu", {a->output(0)}, {loop}, "b");
    auto order = g.topo_order();
    ASSERT_FALSE(order.ok());
    EXPECT_NE(order.status().message().find("cycle"), std::string::npos);
}

TEST(Graph, CloneIsDeep) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{2});
    ir::Value* w = g.add_initializer("w", Tensor::from_vector<float>({2}, {1, 2}));
    ir::Node* a = g.add_node("Add", {x, w}, {"y"}, "add");
    a->set_attr("foo", ir::Attribute::from_int(3));
    g.add_output(a->output(0));
    auto c = g.clone();
    EXPECT_EQ(c->num_nodes(), 1u);
    ir::Node* ca = c->find_node("add");
    ASSERT_NE(ca, nullptr);
    EXPECT_NE(ca, a);
    EXPECT_EQ(ca->attr_int("foo", 0), 3);
    EXPECT_TRUE(c->find_value("w")->is_initializer());
    EXPECT_EQ(c->outputs()[0]->name(), "y");
}
