// fuse-fp32-conv: float Conv -> activations -> residual Add -> activations becomes one
// com.qat::FusedConv. Text-IR before/after, and the fused graph against the unfused one on the
// reference backend: within 1e-5 of the output's largest magnitude (the only difference is that
// the fused kernel applies the post-ops to the float conv result element by element, exactly as
// the separate nodes do; the bound leaves room for float re-association, not for a wrong op).
#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "ir/text_form.h"
#include "passes/engine_test_util.h"
#include "passes/pipelines.h"
#include "passes/qdq_fusion.h"
#include "passes/qdq_selectors.h"

namespace qat {
namespace {

namespace fused = ir::fused;
using test::engine_graph;
using test::random_tensor;

// The case bodies write "T" for the output type of the conv (which the parse needs to see the
// residual's shape match).
std::string with_type(std::string body, const std::string& type) {
    for (size_t p = body.find(": T "); p != std::string::npos; p = body.find(": T ", p)) body.replace(p + 2, 1, type);
    return body;
}

void expect_same_numbers(const ir::Graph& unfused, const ir::Graph& fusedg, const std::vector<Tensor>& inputs) {
    auto a = test::run_ref(unfused, inputs);
    auto b = test::run_ref(fusedg, inputs);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_LE(test::rel_diff(b[i], a[i]), 1e-5) << "output " << i;
}

// `before` through the engine passes has the structure of `expected` (types aside) and the same
// numbers as before on the reference backend.
void expect_rewritten_to(const std::string& before_text, const std::string& expected_text, uint64_t seed,
                         const std::vector<Tensor>& inputs) {
    auto before = test::parse_or_die(before_text, seed);
    auto expected = test::parse_or_die(expected_text, seed);
    auto after = engine_graph(*before);
    std::string diff;
    ir::CompareOptions co;
    co.types = false;
    EXPECT_TRUE(ir::same_structure(*expected, *after, &diff, co)) << diff << "\n" << ir::print_graph(*after);
    expect_same_numbers(*before, *after, inputs);
}

TEST(Fp32Fusion, TextFormConvReluAddRelu) {
    expect_rewritten_to(R"(
graph main(%x: f32[1,4,5,5], %r: f32[1,4,5,5]) -> (%y) {
  %w = init f32[4,4,3,3]
  %b = init f32[4]
  %c: f32[1,4,5,5] = Conv[kernel_shape=[3,3], pads=[1,1,1,1]](%x, %w, %b) @conv
  %a: f32[1,4,5,5] = Relu(%c) @relu1
  %s: f32[1,4,5,5] = Add(%r, %a) @add
  %y = Relu(%s) @relu2
}
)",
                        R"(
graph main(%x: f32[1,4,5,5], %r: f32[1,4,5,5]) -> (%y) {
  %w = init f32[4,4,3,3]
  %b = init f32[4]
  %y = com.qat::FusedConv[kernel_shape=[3,3], pads=[1,1,1,1], post_ops=["relu", "add", "relu"],
                          absorbed=["conv", "relu1", "add", "relu2"]](%x, %w, %b, %r) @conv
}
)",
                        11, {random_tensor({1, 4, 5, 5}, 12, -2, 2), random_tensor({1, 4, 5, 5}, 13, -2, 2)});
}

// Every activation the selector takes, before and after a residual, strided and grouped.
TEST(Fp32Fusion, ActivationChainsAgreeWithTheUnfusedGraph) {
    struct Case {
        const char* name;
        const char* body;  // from %c (the conv output) to %y
        int post_ops;
    };
    const Case cases[] = {
        {"clip (relu6)", "%lo = init f32[] {0.0}\n  %hi = init f32[] {6.0}\n  %y = Clip(%c, %lo, %hi) @clip", 1},
        {"swish", "%sg = Sigmoid(%c) @sig\n  %y = Mul(%c, %sg) @mul", 1},
        {"leaky relu then residual", "%l: T = LeakyRelu[alpha=0.2](%c) @leaky\n  %y = Add(%l, %r) @add", 2},
        {"hard swish", "%y = HardSwish(%c) @hs", 1},
        {"sigmoid", "%y = Sigmoid(%c) @sig", 1},
        {"residual then relu", "%s: T = Add(%c, %r) @add\n  %y = Relu(%s) @relu", 2},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        for (int grouped = 0; grouped < 2; ++grouped) {
            const std::string conv = grouped ? "Conv[kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], group=4]"
                                             : "Conv[kernel_shape=[3,3], strides=[2,2], pads=[1,1,1,1]]";
            const std::string w = grouped ? "f32[8,2,3,3]" : "f32[8,8,3,3]";
            const std::string out = grouped ? "f32[2,8,6,6]" : "f32[2,8,3,3]";
            const std::string text = "graph main(%x: f32[2,8,6,6], %r: " + out + ") -> (%y) {\n  %w = init " + w +
                                     "\n  %b = init f32[8]\n  %c: " + out + " = " + conv + "(%x, %w, %b) @conv\n  " +
                                     with_type(c.body, out) + "\n}\n";
            auto before = test::parse_or_die(text, 21);
            auto after = engine_graph(*before);
            ASSERT_EQ(test::count_ops(*after, fused::kFusedConv), 1) << ir::print_graph(*after);
            EXPECT_EQ(after->nodes().size(), 1u) << ir::print_graph(*after);
            auto info = fused::read_fused_op(*after->nodes()[0]);
            ASSERT_TRUE(info.ok()) << info.status().to_string();
            EXPECT_EQ(static_cast<int>(info->post_ops.size()), c.post_ops);
            std::vector<int64_t> od = grouped ? std::vector<int64_t>{2, 8, 6, 6} : std::vector<int64_t>{2, 8, 3, 3};
            expect_same_numbers(*before, *after,
                                {random_tensor({2, 8, 6, 6}, 22, -3, 3), random_tensor(od, 23, -3, 3)});
        }
    }
}

TEST(Fp32Fusion, LeavesWhatItCannotFuse) {
    // The conv output is read twice: the Relu cannot go into it.
    auto g = test::parse_or_die(R"(
graph main(%x: f32[1,2,4,4]) -> (%y, %z) {
  %w = init f32[2,2,1,1]
  %c = Conv[kernel_shape=[1,1]](%x, %w) @conv
  %y = Relu(%c) @relu
  %z = Sigmoid(%c) @sig
}
)",
                                31);
    auto e = engine_graph(*g);
    EXPECT_EQ(test::count_ops(*e, fused::kFusedConv), 0) << ir::print_graph(*e);
    EXPECT_EQ(test::count_ops(*e, "Conv"), 1);
    // A bare conv is left as it is.
    auto bare = test::parse_or_die(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[2,2,1,1]
  %y = Conv[kernel_shape=[1,1]](%x, %w) @conv
}
)");
    passes::Selection s = passes::select_fp32_conv(*bare->find_node("conv"));
    EXPECT_FALSE(s.ok);
    EXPECT_EQ(s.reason, "no activation or residual Add follows");
    auto eb = engine_graph(*bare);
    EXPECT_EQ(test::count_ops(*eb, "Conv"), 1);
}

// A Conv refused for INT8 in a Q/DQ model still gets its Relu fused, and keeps the reason that
// `qat explain` prints for it.
TEST(Fp32Fusion, KeepsTheFp32ReasonInQdqModels) {
    ir::Graph g;
    g.info().set_opset("", 13);
    Shape s{1, 4, 5, 5};
    ir::Value* x = g.add_input("x", DataType::kFloat32, s);
    ir::Node* c = g.add_node("Conv", {x, test::weight_dq(g, random_tensor({4, 4, 1, 1}, 41), 0, "c1")}, {"c1"}, "c1");
    c->output(0)->set_shape(s);
    c->output(0)->set_dtype(DataType::kFloat32);
    ir::Node* relu = g.add_node("Relu", {c->output(0)}, {"y"}, "relu");
    relu->output(0)->set_shape(s);
    g.add_output(relu->output(0));
    auto e = engine_graph(g);
    const ir::Node* f = e->find_node("c1");
    ASSERT_NE(f, nullptr) << ir::print_graph(*e);
    EXPECT_EQ(f->op_type(), fused::kFusedConv);
    EXPECT_EQ(passes::fp32_reason(*f), "input is not quantized (no DequantizeLinear before it)");
    expect_same_numbers(g, *e, {random_tensor({1, 4, 5, 5}, 42)});
}

TEST(Fp32Fusion, BadFusedConvAttributesAreRefusedByName) {
    auto g = test::parse_or_die(R"(
graph main(%x: f32[1,2,4,4], %r: i8[1,2,4,4]) -> (%y) {
  %w = init f32[2,2,1,1]
  %y = com.qat::FusedConv[kernel_shape=[1,1], post_ops=["add"]](%x, %w, %w, %r) @bad_residual
}
)");
    auto info = fused::read_fused_op(*g->find_node("bad_residual"));
    ASSERT_FALSE(info.ok());
    EXPECT_NE(info.status().message().find("bad_residual"), std::string::npos) << info.status().to_string();
    EXPECT_NE(info.status().message().find("float32 throughout"), std::string::npos) << info.status().to_string();
    auto g2 = test::parse_or_die(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[2,2,1,1]
  %y = com.qat::FusedConv[kernel_shape=[1,1], out_dtype=3, post_ops=["relu"]](%x, %w) @bad_out
}
)");
    auto info2 = fused::read_fused_op(*g2->find_node("bad_out"));
    ASSERT_FALSE(info2.ok());
    EXPECT_NE(info2.status().message().find("only 1 (float)"), std::string::npos) << info2.status().to_string();
}

// fuse-fp32-gate: the squeeze-and-excitation Mul in front of a float conv becomes the FusedConv's
// gate (input 4), for a plain Conv and for one fuse-fp32-conv already gave a residual; the gate
// may be either operand of the Mul. The reference computes the gated conv as the Mul did: the
// numbers must agree with the unfused graph.
TEST(Fp32Fusion, GateMulGoesIntoTheConv) {
    expect_rewritten_to(R"(
graph main(%x: f32[1,8,6,6], %g: f32[1,8,1,1]) -> (%y) {
  %w = init f32[4,8,1,1]
  %b = init f32[4]
  %s: f32[1,8,6,6] = Mul(%x, %g) @se_mul
  %y = Conv[kernel_shape=[1,1]](%s, %w, %b) @project
}
)",
                        R"(
graph main(%x: f32[1,8,6,6], %g: f32[1,8,1,1]) -> (%y) {
  %w = init f32[4,8,1,1]
  %b = init f32[4]
  %y = com.qat::FusedConv[kernel_shape=[1,1], absorbed=["project", "se_mul"]](%x, %w, %b, _, %g) @project
}
)",
                        51, {random_tensor({1, 8, 6, 6}, 52, -2, 2), random_tensor({1, 8, 1, 1}, 53, 0, 1)});
    expect_rewritten_to(R"(
graph main(%x: f32[2,8,6,6], %g: f32[2,8,1,1], %r: f32[2,4,6,6]) -> (%y) {
  %w = init f32[4,8,3,3]
  %b = init f32[4]
  %s: f32[2,8,6,6] = Mul(%g, %x) @se_mul
  %c: f32[2,4,6,6] = Conv[kernel_shape=[3,3], pads=[1,1,1,1]](%s, %w, %b) @project
  %y = Add(%c, %r) @add
}
)",
                        R"(
graph main(%x: f32[2,8,6,6], %g: f32[2,8,1,1], %r: f32[2,4,6,6]) -> (%y) {
  %w = init f32[4,8,3,3]
  %b = init f32[4]
  %y = com.qat::FusedConv[kernel_shape=[3,3], pads=[1,1,1,1], post_ops=["add"],
                          absorbed=["project", "add", "se_mul"]](%x, %w, %b, %r, %g) @project
}
)",
                        54,
                        {random_tensor({2, 8, 6, 6}, 55, -2, 2), random_tensor({2, 8, 1, 1}, 56, 0, 1),
                         random_tensor({2, 4, 6, 6}, 57, -2, 2)});
}

// What the gate rule leaves alone: the Mul's result read twice, a grouped conv, an element-wise
// Mul (not a per-channel gate), a constant gate, a 1x1 activation (gate and activation alike).
TEST(Fp32Fusion, GateRuleLeavesOtherMuls) {
    struct Case {
        const char* name;
        const char* x;  // shape of %x
        const char* g;  // "%g: f32[...]" input or "%g = init ..." line
        const char* conv;
        bool graph_reads_mul = false;
    };
    const Case cases[] = {
        {"Mul read twice", "[1,8,6,6]", "%g: f32[1,8,1,1]", "Conv[kernel_shape=[1,1]]", true},
        {"grouped conv", "[1,8,6,6]", "%g: f32[1,8,1,1]", "Conv[kernel_shape=[1,1], group=2]"},
        {"element-wise Mul", "[1,8,6,6]", "%g: f32[1,8,6,6]", "Conv[kernel_shape=[1,1]]"},
        {"1x1 activation", "[1,8,1,1]", "%g: f32[1,8,1,1]", "Conv[kernel_shape=[1,1]]"},
        {"constant gate", "[1,8,6,6]", "", "Conv[kernel_shape=[1,1]]"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const bool const_gate = std::string(c.g).empty();
        const bool grouped = std::string(c.conv).find("group") != std::string::npos;
        std::string text = std::string("graph main(%x: f32") + c.x + (const_gate ? "" : std::string(", ") + c.g) +
                           ") -> (%y" + (c.graph_reads_mul ? ", %s" : "") + ") {\n  %w = init f32[4," +
                           (grouped ? "4" : "8") + ",1,1]\n" + (const_gate ? "  %g = init f32[1,8,1,1]\n" : "") +
                           "  %s = Mul(%x, %g) @se_mul\n  %y = " + c.conv + "(%s, %w) @project\n}\n";
        auto g = test::parse_or_die(text, 61);
        auto e = engine_graph(*g);
        EXPECT_EQ(test::count_ops(*e, "Mul"), 1) << ir::print_graph(*e);
        for (const ir::Node* n : e->nodes()) EXPECT_FALSE(n->input(4)) << n->desc() << " took a gate";
    }
}

TEST(Fp32Fusion, BadGateShapeIsRefusedByName) {
    auto g = test::parse_or_die(R"(
graph main(%x: f32[1,8,4,4], %gate: f32[1,8,4,4]) -> (%y) {
  %w = init f32[2,8,1,1]
  %y = com.qat::FusedConv[kernel_shape=[1,1]](%x, %w, _, _, %gate) @bad_gate
}
)");
    auto info = fused::read_fused_op(*g->find_node("bad_gate"));
    ASSERT_FALSE(info.ok());
    EXPECT_NE(info.status().message().find("bad_gate"), std::string::npos) << info.status().to_string();
    EXPECT_NE(info.status().message().find("gate (input 4)"), std::string::npos) << info.status().to_string();
}

}  // namespace
}  // namespace qat
