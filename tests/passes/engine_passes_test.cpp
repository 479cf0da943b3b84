// Engine passes one by one: constant folding, BN folding, Q/DQ dedupe and propagation, and the
// Q/DQ parameter checks. Each: text IR before/after and numerical equivalence on the reference
// backend (exact where the rewrite is exact).
#include <gtest/gtest.h>

#include <cmath>

#include "passes/constant_folding.h"
#include "passes/engine_test_util.h"
#include "passes/fold_batchnorm.h"
#include "passes/qdq_checks.h"
#include "passes/qdq_dedupe.h"
#include "passes/qdq_propagation.h"

namespace qat {
namespace {

using test::parse_or_die;
using test::random_tensor;

void expect_same(const ir::Graph& expected, const ir::Graph& actual) {
    std::string diff;
    ir::CompareOptions co;
    co.types = false;
    EXPECT_TRUE(ir::same_structure(expected, actual, &diff, co)) << diff << "\n" << ir::print_graph(actual);
}

// ---- constant folding ----------------------------------------------------------------------

TEST(ConstantFolding, QuantizesFloatWeightsKeepsWeightDq) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1,2,3,3]) -> (%y) {
  %w = init f32[2,2,1,1] {0.5, -0.25, 1.0, 0.0}
  %s = init f32[2] {0.0078125, 0.0078125}
  %z = init i8[2] {0, 0}
  %wq = QuantizeLinear[axis=0](%w, %s, %z) @wq
  %wd = DequantizeLinear[axis=0](%wq, %s, %z) @wd
  %y = Conv(%x, %wd) @conv
}
)");
    // 0.5 / 2^-7 = 64, -0.25 -> -32, 1.0 -> 128 saturates to 127, 0 -> 0.
    auto expected = parse_or_die(R"(
graph main(%x: f32[1,2,3,3]) -> (%y) {
  %wq = init i8[2,2,1,1] {64, -32, 127, 0}
  %s = init f32[2] {0.0078125, 0.0078125}
  %z = init i8[2] {0, 0}
  %wd = DequantizeLinear[axis=0](%wq, %s, %z) @wd
  %y = Conv(%x, %wd) @conv
}
)");
    auto before = g->clone();
    passes::ConstantFolding cf;
    EXPECT_TRUE(test::run_pass(cf, *g));
    expect_same(*expected, *g);
    Tensor x = random_tensor({1, 2, 3, 3}, 1);
    auto a = test::run_ref(*before, {x});
    auto b = test::run_ref(*g, {x});
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(test::max_abs_diff(a[0], b[0]), 0.0);

    // The final instance folds the DQ too.
    passes::ConstantFoldingOptions o;
    o.fold_dequantize = true;
    passes::ConstantFolding cf2(o);
    EXPECT_TRUE(test::run_pass(cf2, *g));
    EXPECT_EQ(test::count_ops(*g, "DequantizeLinear"), 0);
    ASSERT_TRUE(g->find_value("wd") && g->find_value("wd")->is_initializer());
    EXPECT_FLOAT_EQ(g->find_value("wd")->constant().data<float>()[0], 64 * 0.0078125f);
    EXPECT_EQ(test::max_abs_diff(test::run_ref(*g, {x})[0], a[0]), 0.0);
}

TEST(ConstantFolding, StaticShapeChainsAndGraphOutputNames) {
    auto g = parse_or_die(R"(
graph main(%x: f32[2,3,4]) -> (%y, %n) {
  %sh = Shape(%x) @shape
  %i = init i64[] {1}
  %d = Gather[axis=0](%sh, %i) @gather
  %m = init i64[1] {-1}
  %z = init i64[1] {0}
  %u = Unsqueeze(%d, %z) @unsq
  %t = Concat[axis=0](%m, %u) @cat
  %y = Reshape(%x, %t) @reshape
  %a = init f32[2] {1.0, 2.0}
  %b = init f32[2] {3.0, 4.0}
  %n = Add(%a, %b) @add
}
)");
    passes::ConstantFolding cf;
    EXPECT_TRUE(test::run_pass(cf, *g));
    // Only the Reshape of the data remains; its target shape is the constant [-1, 3].
    ASSERT_EQ(g->num_nodes(), 1u) << ir::print_graph(*g);
    const ir::Node* r = g->nodes()[0];
    EXPECT_EQ(r->op_type(), "Reshape");
    ASSERT_TRUE(r->input(1)->is_constant());
    EXPECT_EQ(r->input(1)->constant().to_vector<int64_t>(), (std::vector<int64_t>{-1, 3}));
    // A folded graph output keeps its name and holds 1+3, 2+4.
    const ir::Value* n = g->find_value("n");
    ASSERT_TRUE(n && n->is_constant() && n->is_graph_output());
    EXPECT_EQ(n->constant().to_vector<float>(), (std::vector<float>{4.0f, 6.0f}));
}

TEST(ConstantFolding, SkipsHugeOutputs) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1]) -> (%y) {
  %s = init i64[1] {100000000}
  %c = ConstantOfShape(%s) @big
  %y = Add(%x, %c) @add
}
)");
    passes::ConstantFoldingOptions o;
    o.max_output_elements = 1000;
    passes::ConstantFolding cf(o);
    EXPECT_FALSE(test::run_pass(cf, *g));
    EXPECT_EQ(test::count_ops(*g, "ConstantOfShape"), 1);
}

// ---- BN folding ----------------------------------------------------------------------------

TEST(FoldBatchNorm, FloatConvTextAndNumbers) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1,2,3,3]) -> (%y) {
  %w = init f32[2,2,1,1] {1.0, 2.0, 3.0, 4.0}
  %b = init f32[2] {0.5, -0.5}
  %c = Conv(%x, %w, %b) @conv
  %g = init f32[2] {2.0, -1.0}
  %be = init f32[2] {0.25, 1.0}
  %m = init f32[2] {1.0, 0.5}
  %v = init f32[2] {3.0, 0.0}
  %y = BatchNormalization[epsilon=1.0](%c, %g, %be, %m, %v) @bn
}
)");
    // f = gamma / sqrt(var + eps) = {2/2, -1/1} = {1, -1}; w' = w * f; b' = (b - m) * f + beta.
    auto expected = parse_or_die(R"(
graph main(%x: f32[1,2,3,3]) -> (%y) {
  %w = init f32[2,2,1,1] {1.0, 2.0, -3.0, -4.0}
  %b = init f32[2] {-0.25, 2.0}
  %y = Conv(%x, %w, %b) @conv
}
)");
    auto before = g->clone();
    auto pass = passes::make_fold_batchnorm_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
    Tensor x = random_tensor({1, 2, 3, 3}, 2);
    EXPECT_LE(test::rel_diff(test::run_ref(*g, {x})[0], test::run_ref(*before, {x})[0]), 1e-6);
}

TEST(FoldBatchNorm, QdqWeightsNegativeGammaIsExactInScales) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1,2,3,3]) -> (%y) {
  %wq = init i8[2,2,1,1] {10, -20, 30, 127}
  %s = init f32[] {0.5}
  %z = init i8[] {0}
  %wd = DequantizeLinear(%wq, %s, %z) @wd
  %c = Conv(%x, %wd) @conv
  %g = init f32[2] {3.0, -2.0}
  %be = init f32[2] {0.0, 1.0}
  %m = init f32[2] {0.0, 0.0}
  %v = init f32[2] {3.0, 3.0}
  %y = BatchNormalization[epsilon=1.0](%c, %g, %be, %m, %v) @bn
}
)");
    // f = {3/2, -2/2} = {1.5, -1}: scales per channel 0.5 * |f| = {0.75, 0.5}; channel 1 negated.
    auto expected = parse_or_die(R"(
graph main(%x: f32[1,2,3,3]) -> (%y) {
  %wq = init i8[2,2,1,1] {10, -20, -30, -127}
  %s = init f32[2] {0.75, 0.5}
  %z = init i8[2] {0, 0}
  %wd = DequantizeLinear[axis=0](%wq, %s, %z) @wd
  %b = init f32[2] {0.0, 1.0}
  %y = Conv(%x, %wd, %b) @conv
}
)");
    auto before = g->clone();
    auto pass = passes::make_fold_batchnorm_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
    Tensor x = random_tensor({1, 2, 3, 3}, 3);
    EXPECT_LE(test::rel_diff(test::run_ref(*g, {x})[0], test::run_ref(*before, {x})[0]), 1e-6);
}

TEST(FoldBatchNorm, RefusesWhatItCannotFoldExactly) {
    // A -128 weight in a channel with negative gamma cannot be negated in int8.
    auto g = parse_or_die(R"(
graph main(%x: f32[1,1,3,3]) -> (%y) {
  %wq = init i8[1,1,1,1] {-128}
  %s = init f32[] {0.5}
  %z = init i8[] {0}
  %wd = DequantizeLinear(%wq, %s, %z) @wd
  %c = Conv(%x, %wd) @conv
  %g = init f32[1] {-1.0}
  %be = init f32[1] {0.0}
  %m = init f32[1] {0.0}
  %v = init f32[1] {1.0}
  %y = BatchNormalization(%c, %g, %be, %m, %v) @bn
}
)");
    auto pass = passes::make_fold_batchnorm_pass();
    EXPECT_FALSE(test::run_pass(*pass, *g));
    EXPECT_EQ(test::count_ops(*g, "BatchNormalization"), 1);
    // The Conv output read by something else too: folding would change that reader.
    auto g2 = parse_or_die(R"(
graph main(%x: f32[1,1,3,3]) -> (%y, %c) {
  %w = init f32[1,1,1,1] {2.0}
  %c = Conv(%x, %w) @conv
  %g = init f32[1] {2.0}
  %be = init f32[1] {0.0}
  %m = init f32[1] {0.0}
  %v = init f32[1] {1.0}
  %y = BatchNormalization(%c, %g, %be, %m, %v) @bn
}
)");
    EXPECT_FALSE(test::run_pass(*pass, *g2));
}

// ---- Q/DQ dedupe and propagation -------------------------------------------------------------

TEST(QdqDedupe, MergesIdenticalQAndDq) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1,4]) -> (%a, %b) {
  %s = init f32[] {0.1}
  %s2 = init f32[] {0.1}
  %z = init i8[] {0}
  %q1 = QuantizeLinear(%x, %s, %z) @q1
  %q2 = QuantizeLinear(%x, %s2, %z) @q2
  %d1 = DequantizeLinear(%q1, %s, %z) @d1
  %d2 = DequantizeLinear(%q2, %s2, %z) @d2
  %a = Relu(%d1) @r1
  %b = Sigmoid(%d2) @r2
}
)");
    auto expected = parse_or_die(R"(
graph main(%x: f32[1,4]) -> (%a, %b) {
  %s = init f32[] {0.1}
  %z = init i8[] {0}
  %q1 = QuantizeLinear(%x, %s, %z) @q1
  %d1 = DequantizeLinear(%q1, %s, %z) @d1
  %a = Relu(%d1) @r1
  %b = Sigmoid(%d1) @r2
}
)");
    auto pass = passes::make_qdq_dedupe_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
}

TEST(QdqPropagation, MaxPoolRunsOnInt8AndQdqPairsCancel) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1,2,6,6]) -> (%y) {
  %s = init f32[] {0.05}
  %z = init i8[] {0}
  %xq = QuantizeLinear(%x, %s, %z) @xq
  %xd = DequantizeLinear(%xq, %s, %z) @xd
  %p = MaxPool[kernel_shape=[2,2], strides=[2,2]](%xd) @pool
  %pq = QuantizeLinear(%p, %s, %z) @pq
  %y = DequantizeLinear(%pq, %s, %z) @pd
}
)");
    auto expected = parse_or_die(R"(
graph main(%x: f32[1,2,6,6]) -> (%y) {
  %s = init f32[] {0.05}
  %z = init i8[] {0}
  %xq = QuantizeLinear(%x, %s, %z) @xq
  %p = MaxPool[kernel_shape=[2,2], strides=[2,2]](%xq) @pool
  %y = DequantizeLinear(%p, %s, %z) @pd
}
)");
    auto before = g->clone();
    auto pass = passes::make_qdq_propagation_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
    Tensor x = random_tensor({1, 2, 6, 6}, 4, -5, 5);  // includes saturation
    EXPECT_EQ(test::max_abs_diff(test::run_ref(*g, {x})[0], test::run_ref(*before, {x})[0]), 0.0);
}

TEST(QdqPropagation, QMovesBeforeFlattenAndConcat) {
    auto g = parse_or_die(R"(
graph main(%a: f32[1,2,2,2], %b: f32[1,3,2,2]) -> (%y) {
  %c = Concat[axis=1](%a, %b) @cat
  %f = Flatten[axis=1](%c) @flat
  %s = init f32[] {0.02}
  %z = init i8[] {1}
  %q = QuantizeLinear(%f, %s, %z) @q
  %y = DequantizeLinear(%q, %s, %z) @dq
}
)");
    auto expected = parse_or_die(R"(
graph main(%a: f32[1,2,2,2], %b: f32[1,3,2,2]) -> (%y) {
  %s = init f32[] {0.02}
  %z = init i8[] {1}
  %qa = QuantizeLinear(%a, %s, %z) @qa
  %qb = QuantizeLinear(%b, %s, %z) @qb
  %c = Concat[axis=1](%qa, %qb) @cat
  %f = Flatten[axis=1](%c) @flat
  %y = DequantizeLinear(%f, %s, %z) @dq
}
)");
    auto before = g->clone();
    auto pass = passes::make_qdq_propagation_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
    std::vector<Tensor> in{random_tensor({1, 2, 2, 2}, 5, -3, 3), random_tensor({1, 3, 2, 2}, 6, -3, 3)};
    EXPECT_EQ(test::max_abs_diff(test::run_ref(*g, in)[0], test::run_ref(*before, in)[0]), 0.0);
}

TEST(QdqPropagation, ConcatOfEqualScaleDqsRunsOnInt8) {
    auto g = parse_or_die(R"(
graph main(%a: f32[1,2], %b: f32[1,3]) -> (%y) {
  %s = init f32[] {0.1}
  %z = init i8[] {0}
  %aq = QuantizeLinear(%a, %s, %z) @aq
  %ad = DequantizeLinear(%aq, %s, %z) @ad
  %bq = QuantizeLinear(%b, %s, %z) @bq
  %bd = DequantizeLinear(%bq, %s, %z) @bd
  %y = Concat[axis=1](%ad, %bd) @cat
}
)");
    auto expected = parse_or_die(R"(
graph main(%a: f32[1,2], %b: f32[1,3]) -> (%y) {
  %s = init f32[] {0.1}
  %z = init i8[] {0}
  %aq = QuantizeLinear(%a, %s, %z) @aq
  %bq = QuantizeLinear(%b, %s, %z) @bq
  %c = Concat[axis=1](%aq, %bq) @cat
  %y = DequantizeLinear(%c, %s, %z) @ad
}
)");
    auto before = g->clone();
    auto pass = passes::make_qdq_propagation_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
    std::vector<Tensor> in{random_tensor({1, 2}, 7, -20, 20), random_tensor({1, 3}, 8, -20, 20)};
    EXPECT_EQ(test::max_abs_diff(test::run_ref(*g, in)[0], test::run_ref(*before, in)[0]), 0.0);
}

TEST(QdqPropagation, ReluMovesBeforeQdqAndRedundantReluGoes) {
    auto g = parse_or_die(R"(
graph main(%x: f32[1,8]) -> (%y, %u) {
  %s = init f32[] {0.03}
  %z = init i8[] {-5}
  %xq = QuantizeLinear(%x, %s, %z) @xq
  %xd = DequantizeLinear(%xq, %s, %z) @xd
  %y = Relu(%xd) @relu
  %su = init f32[] {0.01}
  %zu = init u8[] {0}
  %uq = QuantizeLinear(%x, %su, %zu) @uq
  %ud = DequantizeLinear(%uq, %su, %zu) @ud
  %u = Relu(%ud) @relu2
}
)");
    // relu(dq(q)) == dq(q(relu(x))) exactly; a u8 zero point 0 makes the second Relu a no-op.
    auto expected = parse_or_die(R"(
graph main(%x: f32[1,8]) -> (%y, %u) {
  %s = init f32[] {0.03}
  %z = init i8[] {-5}
  %r = Relu(%x) @relu
  %xq = QuantizeLinear(%r, %s, %z) @xq
  %y = DequantizeLinear(%xq, %s, %z) @xd
  %su = init f32[] {0.01}
  %zu = init u8[] {0}
  %uq = QuantizeLinear(%x, %su, %zu) @uq
  %u = DequantizeLinear(%uq, %su, %zu) @ud
}
)");
    auto before = g->clone();
    auto pass = passes::make_qdq_propagation_pass();
    EXPECT_TRUE(test::run_pass(*pass, *g));
    expect_same(*expected, *g);
    Tensor x = random_tensor({1, 8}, 9, -4, 4);
    auto a = test::run_ref(*before, {x});
    auto b = test::run_ref(*g, {x});
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(test::max_abs_diff(a[0], b[0]), 0.0);
    EXPECT_EQ(test::max_abs_diff(a[1], b[1]), 0.0);
}

TEST(QdqPropagation, LeavesDifferentScalesAlone) {
    auto g = parse_or_die(R"(
graph main(%a: f32[1,2], %b: f32[1,3]) -> (%y) {
  %s = init f32[] {0.1}
  %s2 = init f32[] {0.2}
  %z = init i8[] {0}
  %aq = QuantizeLinear(%a, %s, %z) @aq
  %ad = DequantizeLinear(%aq, %s, %z) @ad
  %bq = QuantizeLinear(%b, %s2, %z) @bq
  %bd = DequantizeLinear(%bq, %s2, %z) @bd
  %y = Concat[axis=1](%ad, %bd) @cat
}
)");
    auto before = g->clone();
    auto pass = passes::make_qdq_propagation_pass();
    EXPECT_FALSE(test::run_pass(*pass, *g));
    expect_same(*before, *g);
}

// ---- checks ------------------------------------------------------------------------------------

TEST(QdqChecks, RefusesBadScalesNamingTheNode) {
    const char* tmpl = R"(
graph main(%x: f32[1,3,2,2]) -> (%y) {
  %s = init f32[SHAPE] {VALUES}
  %z = init i8[SHAPE] {ZEROS}
  %q = QuantizeLinear[axis=1](%x, %s, %z) @the_q
  %y = DequantizeLinear[axis=1](%q, %s, %z) @the_dq
}
)";
    auto make = [&](const std::string& shape, const std::string& values, const std::string& zeros) {
        std::string t = tmpl;
        for (auto [k, v] :
             {std::pair<std::string, std::string>{"SHAPE", shape}, {"VALUES", values}, {"ZEROS", zeros}}) {
            for (size_t p; (p = t.find(k)) != std::string::npos;) t.replace(p, k.size(), v);
        }
        return parse_or_die(t);
    };
    EXPECT_TRUE(passes::check_qdq_params(*make("3", "0.1, 0.2, 0.3", "0, 0, 0")).ok());
    for (const char* bad : {"0.0", "-0.5", "nan", "inf"}) {
        Status s = passes::check_qdq_params(*make("", bad, "0"));
        ASSERT_FALSE(s.ok()) << bad;
        EXPECT_NE(s.message().find("QuantizeLinear 'the_q'"), std::string::npos) << s.message();
        EXPECT_NE(s.message().find("must be finite and > 0"), std::string::npos) << s.message();
    }
    Status s = passes::check_qdq_params(*make("2", "0.1, 0.2", "0, 0"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("has 2 values but input 'x' has 3 channels along axis 1"), std::string::npos)
        << s.message();
}

}  // namespace
}  // namespace qat
