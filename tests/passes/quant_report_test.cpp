// Placement report (`qat inspect --quant`): a well-placed model gives INT8 layers, a fusable
// residual Add and no warnings; a hand-written model with every placement that blocks INT8
// fusion gives each of the warnings of the issue; JSON carries the same facts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ir/text_form.h"
#include "quant/placement_report.h"
#include "quant_test_util.h"

using namespace qat;

namespace {

std::unique_ptr<ir::Graph> parse(const char* text) {
    auto g = ir::parse_graph(text);
    EXPECT_TRUE(g.ok()) << g.status().to_string();
    return g.ok() ? std::move(*g) : nullptr;
}

const quant::LayerPlacement* layer(const quant::PlacementReport& r, const std::string& name) {
    for (const auto& l : r.layers)
        if (l.node == name) return &l;
    return nullptr;
}

bool has_warning(const quant::PlacementReport& r, const std::string& part) {
    for (const auto& w : r.warnings)
        if (w.find(part) != std::string::npos) return true;
    return false;
}

std::string all_warnings(const quant::PlacementReport& r) {
    std::string s;
    for (const auto& w : r.warnings) s += "  " + w + "\n";
    return s;
}

}  // namespace

TEST(PlacementReport, WellPlacedResidualBlock) {
    auto g = parse(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w1 = init f32[2,2,1,1]
  %c1 = Conv(%x, %w1) @c1
  %r1 = Relu(%c1) @r1
  %w2 = init f32[2,2,1,1]
  %c2 = Conv(%r1, %w2) @c2
  %g = init f32[2]
  %bb = init f32[2]
  %m = init f32[2]
  %v = init f32[2]
  %n2 = BatchNormalization(%c2, %g, %bb, %m, %v) @bn2
  %s = Add(%n2, %x) @add
  %y = BatchNormalization(%s, %g, %bb, %m, %v) @bn_post
})");
    ASSERT_TRUE(g);
    quant::QuantizeOptions o;
    quant::CalibTable t;
    for (const char* n : {"x", "r1", "s"}) t.tensors[n].amax = 1.0f;
    o.calib_table = t;
    quant_test::quantize_with(*g, "auto", std::move(o));

    quant::PlacementReport r = quant::analyze_placement(*g);
    EXPECT_EQ(r.quantize_nodes, 3);
    EXPECT_EQ(r.dequantize_nodes, 5);
    EXPECT_FALSE(r.uncalibrated);
    EXPECT_TRUE(r.warnings.empty()) << all_warnings(r);
    ASSERT_EQ(r.layers.size(), 2u);
    const auto* c1 = layer(r, "c1");
    ASSERT_NE(c1, nullptr);
    EXPECT_TRUE(c1->input_quantized);
    EXPECT_TRUE(c1->weight_quantized);
    EXPECT_TRUE(c1->weight_per_channel);
    EXPECT_EQ(c1->weight_axis, 0);
    EXPECT_TRUE(c1->int8_output) << c1->output;  // Relu, then the Q of c2's input
    const auto* c2 = layer(r, "c2");
    ASSERT_NE(c2, nullptr);
    EXPECT_TRUE(c2->int8_output) << c2->output;  // BN + residual Add absorbed, then bn_post's Q
    ASSERT_EQ(c2->fused.size(), 2u);
    EXPECT_NE(c2->fused[1].find("Add 'add'"), std::string::npos);
    ASSERT_EQ(r.residual_adds.size(), 1u);
    EXPECT_TRUE(r.residual_adds[0].fusable);
    EXPECT_EQ(r.residual_adds[0].conv, "c2");

    auto j = nlohmann::json::parse(quant::placement_report_json(r));
    EXPECT_EQ(j["quantize_nodes"], 3);
    EXPECT_EQ(j["layers"].size(), 2u);
    EXPECT_EQ(j["layers"][0]["node"], "c1");
    EXPECT_EQ(j["residual_adds"][0]["fusable"], true);
    EXPECT_TRUE(j["warnings"].empty());
    std::string text = quant::format_placement_report(r);
    EXPECT_NE(text.find("int8 axis 0"), std::string::npos) << text;
}

TEST(PlacementReport, EveryBlockingPlacementIsWarned) {
    auto g = parse(R"(
graph main(%x: f32[1,2,4,4]) -> (%sm, %cat, %dang) {
  %s = init f32[] {0.1}
  %s2 = init f32[] {0.2}
  %z = init i8[] {0}
  %xq = QuantizeLinear(%x, %s, %z) @qx
  %xd = DequantizeLinear(%xq, %s, %z) @dqx
  %wq = init i8[2,2,1,1]
  %ws = init f32[2] {0.1, 0.1}
  %wz = init i8[2] {0, 0}
  %wd = DequantizeLinear[axis=0](%wq, %ws, %wz) @dqw
  %c1 = Conv(%xd, %wd) @c1
  %c1q = QuantizeLinear(%c1, %s, %z) @qc1
  %c1d = DequantizeLinear(%c1q, %s, %z) @dqc1
  %a = Add(%c1d, %xd) @add_both
  %c2 = Conv(%a, %wd) @c2
  %c2q = QuantizeLinear(%c2, %s, %z) @qc2
  %c2d = DequantizeLinear(%c2q, %s, %z) @dqc2
  %sm = Softmax[axis=1](%c2d) @softmax
  %aq = QuantizeLinear(%a, %s2, %z) @qa
  %ad = DequantizeLinear(%aq, %s2, %z) @dqa
  %cat = Concat[axis=1](%xd, %ad) @concat
  %dang = QuantizeLinear(%c2, %s2, %z) @dangling
})");
    ASSERT_TRUE(g);
    quant::PlacementReport r = quant::analyze_placement(*g);
    EXPECT_TRUE(has_warning(r, "Q/DQ on both inputs of residual Add 'add_both'")) << all_warnings(r);
    EXPECT_TRUE(has_warning(r, "Q/DQ on the output of Conv 'c2' feeds Softmax 'softmax'")) << all_warnings(r);
    EXPECT_TRUE(has_warning(r, "Conv 'c2' has a float input 'a': it runs in FP32 although its weight is quantized"))
        << all_warnings(r);
    EXPECT_TRUE(has_warning(r, "Concat 'concat' inputs carry different scales (0.1, 0.2)")) << all_warnings(r);
    EXPECT_TRUE(has_warning(r, "dangling QuantizeLinear 'dangling'")) << all_warnings(r);
    EXPECT_EQ(r.warnings.size(), 5u) << all_warnings(r);
    // c1's INT8 output feeds an Add (which has an INT8 form): no warning for it.
    EXPECT_FALSE(has_warning(r, "output of Conv 'c1'")) << all_warnings(r);
    ASSERT_EQ(r.residual_adds.size(), 1u);
    EXPECT_FALSE(r.residual_adds[0].fusable);
    const auto* c2 = layer(r, "c2");
    ASSERT_NE(c2, nullptr);
    EXPECT_FALSE(c2->input_quantized);
    EXPECT_EQ(c2->float_inputs, (std::vector<std::string>{"a"}));
}

TEST(PlacementReport, FloatLayerOutputsSayWhy) {
    auto g = parse(R"(
graph main(%x: f32[1,4]) -> (%y) {
  %w = init f32[4,4]
  %h = MatMul(%x, %w) @fc1
  %y = Softmax[axis=1](%h) @softmax
})");
    ASSERT_TRUE(g);
    quant_test::quantize_with(*g, "auto");
    quant::PlacementReport r = quant::analyze_placement(*g);
    const auto* fc = layer(r, "fc1");
    ASSERT_NE(fc, nullptr);
    EXPECT_TRUE(fc->input_quantized);
    EXPECT_TRUE(fc->weight_quantized);
    EXPECT_EQ(fc->weight_axis, 1);
    EXPECT_FALSE(fc->int8_output);
    EXPECT_EQ(fc->output, "float: feeds Softmax 'softmax' without Q/DQ");
    EXPECT_TRUE(r.uncalibrated);
    EXPECT_TRUE(has_warning(r, "marked uncalibrated")) << all_warnings(r);
}

TEST(PlacementReport, FloatModelSaysSo) {
    auto g = parse(R"(
graph main(%x: f32[1,4]) -> (%y) {
  %w = init f32[4,4]
  %y = MatMul(%x, %w) @fc1
})");
    ASSERT_TRUE(g);
    quant::PlacementReport r = quant::analyze_placement(*g);
    EXPECT_TRUE(r.layers.empty());
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("no Q/DQ nodes"), std::string::npos);
}
