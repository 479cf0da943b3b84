// Exact behaviour of the inserted Q/DQ: symmetric int8, explicit int8 zero points, scale =
// amax/127, weights rounded half to even into [-127, 127] per channel (values worked out by
// hand, ties included), the float weight form, a quantized Conv checked against a direct
// computation in the test, existing Q/DQ refused or stripped (--requantize), --fold-bn, and the
// opset rule.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/ref/ref_backend.h"
#include "ir/text_form.h"
#include "onnx/version_convert.h"
#include "ops/ref_test_util.h"
#include "passes/quant/insert_qdq.h"
#include "quant/calibrated.h"
#include "quant_test_util.h"
#include "runtime/plan.h"

using namespace qat;

namespace {

using qat::testing::ref_registry;

std::vector<float> floats_of(const ir::Value* v) { return v->constant().to_vector<float>(); }
std::vector<int8_t> int8s_of(const ir::Value* v) { return v->constant().to_vector<int8_t>(); }

}  // namespace

TEST(QuantNumeric, PerChannelWeightsRoundHalfToEvenIntoNarrowRange) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{1, 4, 1, 1});
    // Channel 0: amax 127 -> scale 1: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2 (ties to even).
    // Channel 1: amax 63.5 -> scale 0.5: 1.25 -> 2.5 -> 2, 0.75 -> 1.5 -> 2, -63.5 -> -127.
    // Channel 2: all zero -> scale stays positive, values 0.
    ir::Value* w = g.add_initializer("w", Tensor::from_vector<float>({3, 4, 1, 1}, {127.0f, 2.5f, 3.5f, -2.5f,    //
                                                                                    63.5f, 1.25f, 0.75f, -63.5f,  //
                                                                                    0.0f, 0.0f, 0.0f, 0.0f}));
    ir::Node* conv = g.add_node("Conv", {x, w}, {"y"}, "conv");
    g.add_output(conv->output(0));
    quant::QuantizeOptions o;
    quant::CalibTable t;
    t.tensors["x"].amax = 2.54f;
    o.calib_table = t;
    quant_test::quantize_with(g, "none", std::move(o));

    const ir::Node* dq = quant_test::dq_at(g, "conv", 1);
    ASSERT_NE(dq, nullptr);
    EXPECT_EQ(dq->attr_int("axis", -1), 0);
    EXPECT_EQ(dq->input(0)->dtype(), DataType::kInt8);
    EXPECT_EQ(int8s_of(dq->input(0)), (std::vector<int8_t>{127, 2, 4, -2, 127, 2, 2, -127, 0, 0, 0, 0}));
    std::vector<float> s = floats_of(dq->input(1));
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0], 1.0f);
    EXPECT_EQ(s[1], 0.5f);
    EXPECT_GT(s[2], 0.0f);
    ASSERT_NE(dq->input(2), nullptr) << "zero point must be explicit";
    EXPECT_EQ(dq->input(2)->dtype(), DataType::kInt8);
    EXPECT_EQ(int8s_of(dq->input(2)), (std::vector<int8_t>{0, 0, 0}));
    // The float weight is gone (one copy in the file).
    EXPECT_EQ(g.find_value("w"), nullptr);

    // Activation: per-tensor scale amax/127, int8 zero point scalar 0.
    const ir::Node* dqx = quant_test::dq_at(g, "conv", 0);
    ASSERT_NE(dqx, nullptr);
    EXPECT_EQ(dqx->input(1)->constant().rank(), 0u);
    EXPECT_FLOAT_EQ(floats_of(dqx->input(1))[0], 0.02f);
    EXPECT_EQ(dqx->input(2)->dtype(), DataType::kInt8);
    EXPECT_EQ(int8s_of(dqx->input(2)), (std::vector<int8_t>{0}));
    const ir::Node* qx = dqx->input(0)->producer();
    ASSERT_EQ(qx->op_type(), "QuantizeLinear");
    EXPECT_EQ(qx->input(1), dqx->input(1));  // Q and DQ share their parameters
    EXPECT_EQ(qx->input(2), dqx->input(2));
}

TEST(QuantNumeric, GemmAndMatMulWeightAxesFollowTheLayout) {
    auto g = ir::parse_graph(R"(
graph main(%x: f32[1,2]) -> (%y, %z) {
  %wn = init f32[2,3] {2.5, -127.0, 0.25, 127.0, 63.5, -63.5}
  %y = Gemm(%x, %wn) @gemm_kn
  %wt = init f32[3,2] {2.5, -127.0, 0.25, 127.0, 63.5, -63.5}
  %z = Gemm[transB=1](%x, %wt) @gemm_nk
})");
    ASSERT_TRUE(g.ok());
    quant_test::quantize_with(**g, "none");
    // [K=2, N=3]: per column (axis 1): amax {127, 127, 63.5} -> scales {1, 1, 0.5};
    // ties to even: 2.5 -> 2, 63.5 -> 64, 0.25 / 0.5 = 0.5 -> 0.
    const ir::Node* a = quant_test::dq_at(**g, "gemm_kn", 1);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->attr_int("axis", -1), 1);
    EXPECT_EQ(floats_of(a->input(1)), (std::vector<float>{1.0f, 1.0f, 0.5f}));
    EXPECT_EQ(int8s_of(a->input(0)), (std::vector<int8_t>{2, -127, 0, 127, 64, -127}));
    // [N=3, K=2] with transB: per row (axis 0): amax {127, 127, 63.5}.
    const ir::Node* b = quant_test::dq_at(**g, "gemm_nk", 1);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->attr_int("axis", -1), 0);
    EXPECT_EQ(floats_of(b->input(1)), (std::vector<float>{1.0f, 1.0f, 0.5f}));
    EXPECT_EQ(int8s_of(b->input(0)), (std::vector<int8_t>{2, -127, 0, 127, 127, -127}));
}

TEST(QuantNumeric, QuantizedConvMatchesADirectComputation) {
    // 1x1 Conv: y[c] = b[c] + sum_k fq(x[k]) * fq_c(w[c,k]); fake quantization computed here,
    // independently of the passes, and compared with the reference backend on the Q/DQ graph.
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{1, 3, 2, 2});
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> wv(4 * 3), bv(4), xv(12);
    for (auto& v : wv) v = u(rng);
    for (auto& v : bv) v = u(rng);
    for (auto& v : xv) v = 1.3f * u(rng);  // some values beyond amax: saturation
    ir::Value* w = g.add_initializer("w", Tensor::from_vector<float>({4, 3, 1, 1}, wv));
    ir::Value* b = g.add_initializer("b", Tensor::from_vector<float>({4}, bv));
    g.add_output(g.add_node("Conv", {x, w, b}, {"y"}, "conv")->output(0));
    quant::QuantizeOptions o;
    quant::CalibTable t;
    t.tensors["x"].amax = 1.0f;
    o.calib_table = t;
    quant_test::quantize_with(g, "none", std::move(o));

    auto plan = runtime::Plan::compile(g, {.registry = &ref_registry()});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    auto out = (*plan)->run({{"x", Tensor::from_vector<float>({1, 3, 2, 2}, xv)}});
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    const Tensor& y = out->at("y");

    // ONNX QuantizeLinear divides in float; ties go to even.
    auto rhe = [](float v) {
        float f = std::floor(v), d = v - f;
        return d > 0.5f ? f + 1 : d < 0.5f ? f : (std::fmod(f, 2.0f) == 0 ? f : f + 1);
    };
    const float sx = 1.0f / 127.0f;
    for (int c = 0; c < 4; ++c) {
        float amax = 0;
        for (int k = 0; k < 3; ++k) amax = std::max(amax, std::fabs(wv[c * 3 + k]));
        const float sw = amax / 127.0f;
        for (int p = 0; p < 4; ++p) {
            double acc = bv[c];
            for (int k = 0; k < 3; ++k) {
                double xq = std::clamp(rhe(xv[k * 4 + p] / sx), -128.0f, 127.0f) * static_cast<double>(sx);
                double wq = std::clamp(rhe(wv[c * 3 + k] / sw), -127.0f, 127.0f) * static_cast<double>(sw);
                acc += xq * wq;
            }
            EXPECT_NEAR(y.data<float>()[c * 4 + p], acc, 1e-5) << "channel " << c << " pixel " << p;
        }
    }
}

TEST(QuantNumeric, ExistingQdqIsRefusedOrStripped) {
    auto g = ir::parse_graph(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[3,2,1,1]
  %b = init f32[3]
  %r = Relu(%x) @relu
  %y = Conv(%r, %w, %b) @conv
})");
    ASSERT_TRUE(g.ok());
    ir::Graph& G = **g;
    auto options = [](bool requantize) {
        quant::QuantizeOptions o;
        quant::CalibTable t;
        t.tensors["r"].amax = 3.0f;
        o.calib_table = t;
        o.requantize = requantize;
        return o;
    };
    quant_test::quantize_with(G, "none", options(false));
    auto first = G.clone();

    // A second quantize is refused, naming --requantize.
    quant::QuantizeOptions o = options(false);
    auto again = quant::quantize_graph(G, o);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(again.status().message().find("--requantize"), std::string::npos) << again.status().message();

    // --requantize strips and places again: same structure, same int8 weights, same scales.
    auto s = quant_test::quantize_with(G, "none", options(true));
    EXPECT_EQ(s.stripped_qdq_nodes, 3);
    std::string diff;
    ir::CompareOptions co;
    co.payloads = false;
    EXPECT_TRUE(ir::same_structure(*first, G, &diff, co)) << diff;
    const ir::Node* a = quant_test::dq_at(*first, "conv", 1);
    const ir::Node* b = quant_test::dq_at(G, "conv", 1);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(int8s_of(a->input(0)), int8s_of(b->input(0)));
    std::vector<float> sa = floats_of(a->input(1)), sb = floats_of(b->input(1));
    ASSERT_EQ(sa.size(), sb.size());
    for (size_t i = 0; i < sa.size(); ++i) EXPECT_NEAR(sa[i], sb[i], 1e-6 * sa[i]);
    // The weight name comes back without the "_quantized" suffix.
    EXPECT_EQ(b->input(0)->name(), "w_quantized");
}

TEST(QuantNumeric, StripRefusesOperatorForms) {
    auto g = ir::parse_graph(R"(
graph main(%x: i8[1,2,4,4]) -> (%y) {
  %s = init f32[] {0.1}
  %z = init i8[] {0}
  %w = init i8[3,2,1,1]
  %ws = init f32[] {0.1}
  %y = QLinearConv(%x, %s, %z, %w, %ws, %z, %s, %z) @qconv
})");
    ASSERT_TRUE(g.ok());
    quant::QuantizeOptions o;
    o.requantize = true;
    auto r = quant::quantize_graph(**g, o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("QLinearConv 'qconv' is a pre-quantized operator"), std::string::npos)
        << r.status().message();
}

TEST(QuantNumeric, UncalibratedActivationsGetThePlaceholderAndTheMarker) {
    auto g = ir::parse_graph(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[3,2,1,1]
  %y = Conv(%x, %w) @conv
})");
    ASSERT_TRUE(g.ok());
    auto s = quant_test::quantize_with(**g, "none");
    EXPECT_FALSE(s.calibrated);
    EXPECT_EQ(s.placeholder_tensors, (std::vector<std::string>{"x"}));
    const ir::Node* dq = quant_test::dq_at(**g, "conv", 0);
    ASSERT_NE(dq, nullptr);
    EXPECT_EQ(floats_of(dq->input(1))[0], quant::kPlaceholderScale);
    EXPECT_EQ(dq->input(0)->producer()->doc_string, passes::quant::kPlaceholderDoc);
    EXPECT_TRUE(quant::is_uncalibrated(**g));
}

TEST(QuantNumeric, FoldBnFoldsBeforePlacement) {
    auto g = ir::parse_graph(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[2,2,1,1] {63.5, 127.0, 127.0, 254.0}
  %c = Conv(%x, %w) @conv
  %g = init f32[2] {2.0, 0.5}
  %b = init f32[2] {0.0, 1.0}
  %m = init f32[2] {0.0, 0.0}
  %v = init f32[2] {1.0, 1.0}
  %y = BatchNormalization[epsilon=0.0](%c, %g, %b, %m, %v) @bn
})");
    ASSERT_TRUE(g.ok());
    quant::QuantizeOptions o;
    o.fold_bn = true;
    quant_test::quantize_with(**g, "none", std::move(o));
    for (const ir::Node* n : (*g)->nodes()) EXPECT_NE(n->op_type(), "BatchNormalization");
    // Folded weight rows: {127, 254} (x2) and {63.5, 127} (x0.5): per-channel scales 2 and 1;
    // 63.5 rounds (half to even) to 64.
    const ir::Node* dq = quant_test::dq_at(**g, "conv", 1);
    ASSERT_NE(dq, nullptr);
    EXPECT_EQ(floats_of(dq->input(1)), (std::vector<float>{2.0f, 1.0f}));
    EXPECT_EQ(int8s_of(dq->input(0)), (std::vector<int8_t>{64, 127, 64, 127}));
}

TEST(QuantNumeric, OpsetBelow13IsUpgradedFirst) {
    auto g = ir::parse_graph(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[2,2,1,1]
  %c = Conv(%x, %w) @conv
  %y = Clip[min=0.0, max=6.0](%c) @clip
})");
    ASSERT_TRUE(g.ok());
    (*g)->info().set_opset("", 9);
    quant::QuantizeOptions plain;
    auto r = quant::quantize_graph(**g, plain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("opset 9"), std::string::npos) << r.status().message();
    auto up = onnx::upgrade_opset(**g, 13, "test model");
    ASSERT_TRUE(up.ok()) << up.status().to_string();
    EXPECT_EQ((*up)->info().opset(""), 13);
    const ir::Node* clip = (*up)->find_node("clip");
    ASSERT_NE(clip, nullptr);
    EXPECT_FALSE(clip->has_attr("min"));  // opset 11+ Clip takes min/max as inputs
    EXPECT_GE(clip->num_inputs(), 2u);
    quant_test::quantize_with(**up, "auto");
    EXPECT_EQ(quant_test::qdq_inputs(**up)["conv"], (std::set<int>{0, 1}));
}
