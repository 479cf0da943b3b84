// Text-IR before/after tests of Q/DQ placement: the default table, each pattern case turned on
// alone, the weight forms, and the presets on one graph that holds every pattern. The "after"
// graphs are written by hand from the rules (docs/QUANTIZE.md); structure is compared with
// ir::same_structure (wiring, ops, attributes, initializer dtypes and shapes; names and payload
// values are not compared here — the numeric tests check values).
#include <gtest/gtest.h>

#include "ir/text_form.h"
#include "passes/quant/presets.h"
#include "quant_test_util.h"

using namespace qat;

namespace {

std::unique_ptr<ir::Graph> parse(const std::string& text) {
    auto g = ir::parse_graph(text);
    EXPECT_TRUE(g.ok()) << g.status().to_string() << "\n" << text;
    return g.ok() ? std::move(*g) : nullptr;
}

// Per-tensor activation Q/DQ of %v, dequantized value named %out.
std::string act(const std::string& v, const std::string& out) {
    return "  %" + v + "_s = init f32[]\n  %" + v + "_z = init i8[]\n  %" + v + "_q = QuantizeLinear(%" + v + ", %" +
           v + "_s, %" + v + "_z)\n  %" + out + " = DequantizeLinear(%" + v + "_q, %" + v + "_s, %" + v + "_z)\n";
}

// int8 weight %w (dims) with per-channel scales of `c` entries on `axis`, dequantized into %out.
std::string wgt(const std::string& w, const std::string& dims, int c, int axis, const std::string& out) {
    std::string cs = std::to_string(c);
    return "  %" + w + "_q = init i8" + dims + "\n  %" + w + "_s = init f32[" + cs + "]\n  %" + w + "_z = init i8[" +
           cs + "]\n  %" + out + " = DequantizeLinear[axis=" + std::to_string(axis) + "](%" + w + "_q, %" + w +
           "_s, %" + w + "_z)\n";
}

void expect_quantized_as(const std::string& before, const std::string& after, const std::string& preset,
                         std::vector<std::string> cases = {},
                         passes::quant::WeightFormat weights = passes::quant::WeightFormat::kInt8) {
    auto g = parse(before);
    auto want = parse(after);
    ASSERT_TRUE(g && want);
    quant::QuantizeOptions o;
    o.cases = std::move(cases);
    o.weights = weights;
    quant_test::quantize_with(*g, preset, std::move(o));
    std::string diff;
    ir::CompareOptions co;
    co.payloads = false;
    co.types = false;
    EXPECT_TRUE(ir::same_structure(*want, *g, &diff, co)) << diff;
}

}  // namespace

TEST(QuantCases, DefaultTableConv) {
    expect_quantized_as(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[3,2,1,1]
  %b = init f32[3]
  %y = Conv(%x, %w, %b) @conv
})",
                        "graph main(%x: f32[1,2,4,4]) -> (%y) {\n" + act("x", "xd") +
                            wgt("w", "[3,2,1,1]", 3, 0, "wd") +
                            "  %b = init f32[3]\n  %y = Conv(%xd, %wd, %b) @conv\n}\n",
                        "none");
}

TEST(QuantCases, DefaultTableWeightedOpsAxes) {
    // ConvTranspose axis 1; Gemm transB=0 -> axis 1 ([K,N]); MatMul constant B -> last axis;
    // MatMul of two activations: per-tensor on both; GlobalAveragePool input; bias never.
    expect_quantized_as(
        R"(
graph main(%x: f32[1,4,2,2], %m: f32[3,5]) -> (%y, %z) {
  %wt = init f32[4,6,1,1]
  %ct = ConvTranspose(%x, %wt) @convt
  %p = GlobalAveragePool(%ct) @gap
  %f = Flatten[axis=1](%p) @flat
  %wg = init f32[6,5]
  %bg = init f32[5]
  %g = Gemm(%f, %wg, %bg) @gemm
  %wm = init f32[5,3]
  %h = MatMul(%g, %wm) @mm
  %y = Relu(%h) @relu
  %z = MatMul(%h, %m) @mm2
})",
        "graph main(%x: f32[1,4,2,2], %m: f32[3,5]) -> (%y, %z) {\n" + act("x", "xd") +
            wgt("wt", "[4,6,1,1]", 6, 1, "wtd") + "  %ct = ConvTranspose(%xd, %wtd) @convt\n" + act("ct", "ctd") +
            "  %p = GlobalAveragePool(%ctd) @gap\n" + "  %f = Flatten[axis=1](%p) @flat\n" + act("f", "fd") +
            wgt("wg", "[6,5]", 5, 1, "wgd") + "  %bg = init f32[5]\n  %g = Gemm(%fd, %wgd, %bg) @gemm\n" +
            act("g", "gd") + wgt("wm", "[5,3]", 3, 1, "wmd") + "  %h = MatMul(%gd, %wmd) @mm\n" +
            "  %y = Relu(%h) @relu\n" + act("h", "hd") + act("m", "md") + "  %z = MatMul(%hd, %md) @mm2\n}\n",
        "none");
}

TEST(QuantCases, FloatWeightFormIsQuantizeThenDequantize) {
    expect_quantized_as(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w = init f32[3,2,1,1]
  %y = Conv(%x, %w) @conv
})",
                        "graph main(%x: f32[1,2,4,4]) -> (%y) {\n" + act("x", "xd") +
                            "  %w = init f32[3,2,1,1]\n  %ws = init f32[3]\n  %wz = init i8[3]\n"
                            "  %wq = QuantizeLinear[axis=0](%w, %ws, %wz)\n"
                            "  %wd = DequantizeLinear[axis=0](%wq, %ws, %wz)\n"
                            "  %y = Conv(%xd, %wd) @conv\n}\n",
                        "none", {}, passes::quant::WeightFormat::kFloat);
}

namespace {

// A residual block: Conv-BN-Relu-Conv-BN + identity, then a BN after the Add (ResNet v2 style).
const char* kResidual = R"(
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
})";

std::string residual_after(bool add_case, bool bn_case) {
    std::string t = "graph main(%x: f32[1,2,4,4]) -> (%y) {\n" + act("x", "xd") + wgt("w1", "[2,2,1,1]", 2, 0, "w1d") +
                    "  %c1 = Conv(%xd, %w1d) @c1\n  %r1 = Relu(%c1) @r1\n" + act("r1", "r1d") +
                    wgt("w2", "[2,2,1,1]", 2, 0, "w2d") + "  %c2 = Conv(%r1d, %w2d) @c2\n" +
                    "  %g = init f32[2]\n  %bb = init f32[2]\n  %m = init f32[2]\n  %v = init f32[2]\n" +
                    "  %n2 = BatchNormalization(%c2, %g, %bb, %m, %v) @bn2\n";
    // The identity input reuses x's Q/DQ (one pair per tensor).
    t += std::string("  %s = Add(%n2, ") + (add_case ? "%xd" : "%x") + ") @add\n";
    if (bn_case) t += act("s", "sd");
    t += std::string("  %y = BatchNormalization(") + (bn_case ? "%sd" : "%s") + ", %g, %bb, %m, %v) @bn_post\n}\n";
    return t;
}

}  // namespace

TEST(QuantCases, ResidualAddQuantizesTheSkipInputOnly) {
    expect_quantized_as(kResidual, residual_after(true, false), "none", {"residual_add"});
}

TEST(QuantCases, BnInputQuantizesABatchNormNotAfterAConv) {
    expect_quantized_as(kResidual, residual_after(false, true), "none", {"bn_input"});
}

TEST(QuantCases, ResidualAddWithTwoConvBranchesLeavesExactlyOneFloat) {
    // Main branch c2 (two convs deep) stays float; the one-conv projection is quantized.
    expect_quantized_as(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %w1 = init f32[2,2,1,1]
  %c1 = Conv(%x, %w1) @c1
  %r1 = Relu(%c1) @r1
  %w2 = init f32[2,2,1,1]
  %c2 = Conv(%r1, %w2) @c2
  %w3 = init f32[2,2,1,1]
  %c3 = Conv(%x, %w3) @proj
  %y = Add(%c2, %c3) @add
})",
                        "graph main(%x: f32[1,2,4,4]) -> (%y) {\n" + act("x", "xd") +
                            wgt("w1", "[2,2,1,1]", 2, 0, "w1d") + "  %c1 = Conv(%xd, %w1d) @c1\n" +
                            "  %r1 = Relu(%c1) @r1\n" + act("r1", "r1d") + wgt("w2", "[2,2,1,1]", 2, 0, "w2d") +
                            "  %c2 = Conv(%r1d, %w2d) @c2\n" + wgt("w3", "[2,2,1,1]", 2, 0, "w3d") +
                            "  %c3 = Conv(%xd, %w3d) @proj\n" + act("c3", "c3d") + "  %y = Add(%c2, %c3d) @add\n}\n",
                        "none", {"residual_add"});
}

TEST(QuantCases, ResidualAddIgnoresAddsWithoutAConvBranch) {
    // A bias-like Add (constant) and an Add of two plain activations are not residual joins.
    const char* g = R"(
graph main(%x: f32[1,2], %z: f32[1,2]) -> (%y) {
  %k = init f32[2]
  %a = Add(%x, %k) @bias_add
  %r = Relu(%a) @relu
  %y = Add(%r, %z) @plain_add
})";
    expect_quantized_as(g, g, "none", {"residual_add"});
}

TEST(QuantCases, MaxPoolInputCase) {
    expect_quantized_as(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %y = MaxPool[kernel_shape=[2,2], strides=[2,2]](%x) @pool
})",
                        "graph main(%x: f32[1,2,4,4]) -> (%y) {\n" + act("x", "xd") +
                            "  %y = MaxPool[kernel_shape=[2,2], strides=[2,2]](%xd) @pool\n}\n",
                        "none", {"maxpool_input"});
}

TEST(QuantCases, SeMulQuantizesBothInputsButNotSwish) {
    const std::string before = R"(
graph main(%x: f32[1,4,2,2]) -> (%y) {
  %sg = Sigmoid(%x) @sw_sig
  %f = Mul(%x, %sg) @swish
  %p = GlobalAveragePool(%f) @squeeze
  %w = init f32[4,4,1,1]
  %e = Conv(%p, %w) @excite
  %gate = Sigmoid(%e) @gate
  %y = Mul(%f, %gate) @se_mul
})";
    // GlobalAveragePool and Conv inputs come from the default table; the SE Mul gets both.
    const std::string after =
        "graph main(%x: f32[1,4,2,2]) -> (%y) {\n  %sg = Sigmoid(%x) @sw_sig\n"
        "  %f = Mul(%x, %sg) @swish\n" +
        act("f", "fd") + "  %p = GlobalAveragePool(%fd) @squeeze\n" + act("p", "pd") +
        wgt("w", "[4,4,1,1]", 4, 0, "wd") + "  %e = Conv(%pd, %wd) @excite\n" + "  %gate = Sigmoid(%e) @gate\n" +
        act("gate", "gated") + "  %y = Mul(%fd, %gated) @se_mul\n}\n";
    expect_quantized_as(before, after, "none", {"se_mul"});
}

TEST(QuantCases, ConcatSharedScaleQuantizesEveryInput) {
    expect_quantized_as(R"(
graph main(%a: f32[1,2,2,2], %b: f32[1,3,2,2]) -> (%y) {
  %ra = Relu(%a) @ra
  %rb = Relu(%b) @rb
  %y = Concat[axis=1](%ra, %rb) @concat
})",
                        "graph main(%a: f32[1,2,2,2], %b: f32[1,3,2,2]) -> (%y) {\n  %ra = Relu(%a) @ra\n" +
                            act("ra", "rad") + "  %rb = Relu(%b) @rb\n" + act("rb", "rbd") +
                            "  %y = Concat[axis=1](%rad, %rbd) @concat\n}\n",
                        "none", {"concat_shared_scale"});
}

// ---- presets on one graph holding every pattern ----

namespace {

const char* kAllPatterns = R"(
graph main(%x: f32[1,4,4,4]) -> (%y) {
  %w0 = init f32[4,4,1,1]
  %c0 = Conv(%x, %w0) @c0
  %r0 = Relu(%c0) @r0
  %p = MaxPool[kernel_shape=[3,3], pads=[1,1,1,1], strides=[1,1]](%r0) @pool
  %w1 = init f32[4,4,1,1]
  %c1 = Conv(%r0, %w1) @c1
  %cat = Concat[axis=1](%c1, %p) @concat
  %w2 = init f32[4,8,1,1]
  %c2 = Conv(%cat, %w2) @c2
  %g = init f32[4]
  %bb = init f32[4]
  %m = init f32[4]
  %v = init f32[4]
  %n2 = BatchNormalization(%c2, %g, %bb, %m, %v) @bn2
  %s = Add(%n2, %r0) @add
  %n3 = BatchNormalization(%s, %g, %bb, %m, %v) @bn3
  %sq = GlobalAveragePool(%n3) @squeeze
  %w3 = init f32[4,4,1,1]
  %e = Conv(%sq, %w3) @excite
  %gate = Sigmoid(%e) @gate
  %y = Mul(%n3, %gate) @se_mul
})";

}  // namespace

TEST(QuantCases, PresetsComposeTheirCases) {
    using T = std::map<std::string, std::set<int>>;
    // Default table: Conv inputs+weights, GlobalAveragePool input.
    T base = {{"c0", {0, 1}},     {"r0", {}},   {"pool", {}},  {"c1", {0, 1}}, {"concat", {}},
              {"c2", {0, 1}},     {"bn2", {}},  {"add", {}},   {"bn3", {}},    {"squeeze", {0}},
              {"excite", {0, 1}}, {"gate", {}}, {"se_mul", {}}};
    auto with = [&](std::map<std::string, std::set<int>> delta) {
        T t = base;
        for (auto& [k, v] : delta) t[k] = v;
        return t;
    };
    const std::set<int> in0 = {0};
    std::map<std::string, T> expected = {
        {"none", base},
        {"resnet_v1", with({{"add", {1}}})},
        {"mobilenet", with({{"add", {1}}})},
        {"resnet_v2", with({{"add", {1}}, {"bn3", in0}, {"pool", in0}})},
        {"efficientnet", with({{"add", {1}}, {"se_mul", {0, 1}}})},
        {"inception", with({{"pool", in0}, {"concat", {0, 1}}})},
        // auto: the MaxPool meets a Concat, the Concat output feeds a Conv: both cases apply.
        {"auto", with({{"add", {1}}, {"bn3", in0}, {"pool", in0}, {"se_mul", {0, 1}}, {"concat", {0, 1}}})},
    };
    for (const auto& preset : passes::quant::preset_names()) {
        SCOPED_TRACE(preset);
        ASSERT_TRUE(expected.count(preset)) << "no expectation for preset " << preset;
        auto g = parse(kAllPatterns);
        ASSERT_TRUE(g);
        quant_test::quantize_with(*g, preset);
        quant_test::expect_placement(*g, expected.at(preset));
    }
}

TEST(QuantCases, UnknownPresetAndCaseAreErrors) {
    auto g = parse(kAllPatterns);
    quant::QuantizeOptions o;
    o.preset = "resnet_v3";
    auto r = quant::quantize_graph(*g, o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("unknown preset 'resnet_v3'"), std::string::npos) << r.status().message();
    quant::QuantizeOptions o2;
    o2.cases = {"residual"};
    r = quant::quantize_graph(*g, o2);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("residual_add"), std::string::npos) << r.status().message();
}

// The docs' example of a user case (docs/QUANTIZE.md, "Adding a case in C++"): implemented
// outside the library, handed in through QuantizeOptions::extra_cases, it runs after the preset
// and its decision shows in the graph.
namespace {
class SoftmaxInputCase : public passes::quant::QdqCase {
  public:
    std::string name() const override { return "softmax_input"; }
    std::string reason() const override { return "the engine has an INT8 Softmax"; }
    bool match(const ir::Graph&, const passes::quant::QdqPlan&, const ir::Node& node) const override {
        return node.op_type() == "Softmax";
    }
    void apply(const ir::Graph&, const ir::Node& node, passes::quant::QdqPlan& plan) const override {
        quantize_input(node, 0, plan, "Softmax input");
    }
};
}  // namespace

TEST(QuantCases, UserCaseThroughExtraCases) {
    const std::string before = R"(
graph main(%x: f32[1,4]) -> (%y) {
  %w = init f32[4,3]
  %g = MatMul(%x, %w) @mm
  %y = Softmax[axis=1](%g) @softmax
})";
    const std::string table_only = "graph main(%x: f32[1,4]) -> (%y) {\n" + act("x", "xd") +
                                   wgt("w", "[4,3]", 3, 1, "wd") +
                                   "  %g = MatMul(%xd, %wd) @mm\n  %y = Softmax[axis=1](%g) @softmax\n}\n";
    const std::string with_case = "graph main(%x: f32[1,4]) -> (%y) {\n" + act("x", "xd") +
                                  wgt("w", "[4,3]", 3, 1, "wd") + "  %g = MatMul(%xd, %wd) @mm\n" + act("g", "gd") +
                                  "  %y = Softmax[axis=1](%gd) @softmax\n}\n";
    // Without the case the Softmax input stays float ...
    expect_quantized_as(before, table_only, "none");
    // ... with it, it carries Q/DQ, and the summary names the case after the preset's.
    auto g = parse(before);
    auto want = parse(with_case);
    ASSERT_TRUE(g && want);
    quant::QuantizeOptions o;
    o.extra_cases.push_back(std::make_unique<SoftmaxInputCase>());
    quant::QuantizeSummary s = quant_test::quantize_with(*g, "none", std::move(o));
    ASSERT_FALSE(s.cases.empty());
    EXPECT_EQ(s.cases.back(), "softmax_input");
    std::string diff;
    ir::CompareOptions co;
    co.payloads = false;
    co.types = false;
    EXPECT_TRUE(ir::same_structure(*want, *g, &diff, co)) << diff;
}
