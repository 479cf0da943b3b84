// Q/DQ fusion (selectors + actions): every fused INT8 op against the reference backend running
// the unfused Q/DQ graph, plus text-IR before/after and the reasons for what stays FP32.
//
// Bounds: an INT8 output equals the unfused graph's, or differs by one int8 step where the
// unfused graph's float rounding (float conv of dequantized values, then float bias / post-ops)
// lands on the other side of a rounding boundary than the fused op's exact integer accumulation;
// such elements must be rare (< 2%). A float output agrees within 1e-5 of the output's largest
// magnitude (the two differ only in float re-association).
#include "passes/qdq_fusion.h"

#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "passes/engine_test_util.h"
#include "passes/pipelines.h"
#include "passes/qdq_selectors.h"

namespace qat {
namespace {

namespace fused = ir::fused;
using test::engine_graph;
using test::qdq;
using test::random_tensor;
using test::weight_dq;

// Compares the engine graph with the unfused graph on the reference backend.
void expect_equivalent(const ir::Graph& unfused, const ir::Graph& fusedg, const std::vector<Tensor>& inputs) {
    auto a = test::run_ref(unfused, inputs);
    auto b = test::run_ref(fusedg, inputs);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].dtype(), b[i].dtype()) << "output " << i;
        if (is_quantized_type(a[i].dtype())) {
            test::QuantDiff d = test::quant_diff(b[i], a[i]);
            EXPECT_LE(d.max_steps, 1) << "output " << i;
            EXPECT_LE(d.differing * 50, a[i].numel()) << d.differing << " of " << a[i].numel() << " elements differ";
        } else {
            EXPECT_LE(test::rel_diff(b[i], a[i]), 1e-5) << "output " << i;
        }
    }
}

struct ConvCase {
    std::string name;
    int64_t cin = 4, cout = 6, h = 9, w = 9, k = 3, stride = 1, pad = 1, group = 1;
    bool transpose = false;
    bool bias = true;
    bool bias_as_add = false;              // per-channel constant Add after the conv instead of a bias input
    std::vector<std::string> acts_before;  // activations before the residual add
    int residual = 0;                      // 0 none, 1 int8 (DQ), 2 float
    std::vector<std::string> acts_after;
    bool q_out = true;
    bool uint8_in = false;
    bool per_channel = true;
};

// x -> Q/DQ -> Conv(DQ(W)) [-> acts] [-> Add residual] [-> acts] [-> Q]
std::unique_ptr<ir::Graph> conv_graph(const ConvCase& c, uint64_t seed) {
    auto g = std::make_unique<ir::Graph>();
    g->info().set_opset("", 14);  // HardSwish
    ir::Value* x = g->add_input("x", DataType::kFloat32, Shape{2, c.cin, c.h, c.w});
    ir::Value* xd =
        c.uint8_in ? qdq(*g, x, 2.0f / 255.0f, 128, "x", DataType::kUint8) : qdq(*g, x, 1.0f / 127.0f, 0, "x");
    Tensor wf = c.transpose ? random_tensor({c.cin, c.cout / c.group, c.k, c.k}, seed + 1)
                            : random_tensor({c.cout, c.cin / c.group, c.k, c.k}, seed + 1);
    ir::Value* wd = weight_dq(*g, wf, c.transpose ? 1 : 0, "conv", c.per_channel);
    std::vector<ir::Value*> ins{xd, wd};
    if (c.bias && !c.bias_as_add)
        ins.push_back(g->add_initializer("conv.b", random_tensor({c.cout}, seed + 2, -0.5f, 0.5f)));
    ir::Node* conv = g->add_node(c.transpose ? "ConvTranspose" : "Conv", ins, {"conv"}, "conv");
    conv->set_attr("kernel_shape", ir::Attribute::from_ints({c.k, c.k}));
    conv->set_attr("strides", ir::Attribute::from_ints({c.stride, c.stride}));
    conv->set_attr("pads", ir::Attribute::from_ints({c.pad, c.pad, c.pad, c.pad}));
    if (c.group != 1) conv->set_attr("group", ir::Attribute::from_int(c.group));
    int64_t oh = c.transpose ? (c.h - 1) * c.stride + c.k - 2 * c.pad : (c.h + 2 * c.pad - c.k) / c.stride + 1;
    int64_t ow = c.transpose ? (c.w - 1) * c.stride + c.k - 2 * c.pad : (c.w + 2 * c.pad - c.k) / c.stride + 1;
    Shape out_shape{2, c.cout, oh, ow};
    ir::Value* v = conv->output(0);
    v->set_dtype(DataType::kFloat32);
    v->set_shape(out_shape);
    int k = 0;
    auto node = [&](const std::string& op, std::vector<ir::Value*> in) {
        ir::Node* n = g->add_node(op, in, {op + std::to_string(k)}, op + std::to_string(k));
        ++k;
        n->output(0)->set_dtype(DataType::kFloat32);
        n->output(0)->set_shape(out_shape);
        return n;
    };
    if (c.bias_as_add) {
        ir::Value* b = g->add_initializer("add.b", random_tensor({1, c.cout, 1, 1}, seed + 3, -0.5f, 0.5f));
        v = node("Add", {v, b})->output(0);
    }
    auto acts = [&](const std::vector<std::string>& list) {
        for (const std::string& a : list) {
            if (a == "Clip") {
                v = node("Clip", {v, test::scalar_f32(*g, "lo", 0.0f), test::scalar_f32(*g, "hi", 1.5f)})->output(0);
            } else if (a == "Swish") {
                ir::Value* s = node("Sigmoid", {v})->output(0);
                v = node("Mul", {v, s})->output(0);
            } else if (a == "LeakyRelu") {
                ir::Node* n = node("LeakyRelu", {v});
                n->set_attr("alpha", ir::Attribute::from_float(0.125f));
                v = n->output(0);
            } else {
                v = node(a, {v})->output(0);
            }
        }
    };
    acts(c.acts_before);
    if (c.residual) {
        ir::Value* r = g->add_input("r", DataType::kFloat32, out_shape);
        if (c.residual == 1) r = qdq(*g, r, 3.0f / 127.0f, 0, "res");
        v = node("Add", {r, v})->output(0);
    }
    acts(c.acts_after);
    if (c.q_out) {
        ir::Node* q = g->add_node(
            "QuantizeLinear", {v, test::scalar_f32(*g, "y.scale", 0.02f), test::scalar_q(*g, "y.zp", 3)}, {"y"}, "yq");
        q->output(0)->set_dtype(DataType::kInt8);
        q->output(0)->set_shape(out_shape);
        v = q->output(0);
    }
    g->add_output(v);
    return g;
}

void run_conv_case(const ConvCase& c, uint64_t seed) {
    SCOPED_TRACE(c.name);
    auto g = conv_graph(c, seed);
    ASSERT_TRUE(ir::verify(*g).ok()) << ir::verify(*g).to_string();
    auto e = engine_graph(*g);
    const char* op = c.transpose ? fused::kQConvTranspose : fused::kQConv;
    ASSERT_EQ(test::count_ops(*e, op), 1) << ir::print_graph(*e);
    // Everything between the input Q and the output fused into one node.
    EXPECT_EQ(test::count_ops(*e, "DequantizeLinear"), 0) << ir::print_graph(*e);
    for (const char* gone :
         {"Conv", "ConvTranspose", "Relu", "Add", "Mul", "Sigmoid", "Clip", "HardSwish", "LeakyRelu"})
        EXPECT_EQ(test::count_ops(*e, gone), 0) << gone << "\n" << ir::print_graph(*e);
    const ir::Node* f = nullptr;
    for (const ir::Node* n : e->nodes())
        if (n->op_type() == op) f = n;
    auto info = fused::read_fused_op(*f);
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info->quantized_output(), c.q_out);
    EXPECT_EQ(info->has_residual(), c.residual != 0);
    std::vector<Tensor> inputs{random_tensor({2, c.cin, c.h, c.w}, seed + 10, c.uint8_in ? 0.0f : -1.0f, 1.0f)};
    if (c.residual)
        inputs.push_back(random_tensor(g->find_value("r")->shape().static_dims().value(), seed + 11, -2.5f, 2.5f));
    expect_equivalent(*g, *e, inputs);
}

TEST(QdqFusion, ConvBiasRelu) { run_conv_case({.name = "conv relu", .acts_before = {"Relu"}}, 1); }
TEST(QdqFusion, ConvStridedClipUint8Input) {
    run_conv_case({.name = "strided clip u8", .stride = 2, .bias = false, .acts_before = {"Clip"}, .uint8_in = true},
                  2);
}
TEST(QdqFusion, DepthwiseLeakyRelu) {
    run_conv_case({.name = "depthwise", .cin = 6, .cout = 6, .group = 6, .acts_before = {"LeakyRelu"}}, 3);
}
TEST(QdqFusion, GroupedHardSwishPerTensorWeights) {
    run_conv_case({.name = "grouped hardswish", .group = 2, .acts_before = {"HardSwish"}, .per_channel = false}, 4);
}
TEST(QdqFusion, ConvSigmoid) { run_conv_case({.name = "sigmoid", .acts_before = {"Sigmoid"}}, 5); }
TEST(QdqFusion, ConvSwish) { run_conv_case({.name = "swish", .acts_before = {"Swish"}}, 6); }
TEST(QdqFusion, ConvResidualInt8ThenRelu) {
    run_conv_case({.name = "residual int8", .residual = 1, .acts_after = {"Relu"}}, 7);
}
TEST(QdqFusion, ConvResidualFloatFloatOutput) {
    run_conv_case({.name = "residual float", .residual = 2, .q_out = false}, 8);
}
TEST(QdqFusion, ConvBiasAsAddThenRelu) {
    run_conv_case({.name = "bias add", .bias = false, .bias_as_add = true, .acts_before = {"Relu"}}, 9);
}
TEST(QdqFusion, ConvFloatOutput) { run_conv_case({.name = "float out", .acts_before = {"Relu"}, .q_out = false}, 10); }
TEST(QdqFusion, ConvTransposeStrideGroups) {
    run_conv_case({.name = "conv transpose",
                   .cin = 4,
                   .cout = 6,
                   .h = 5,
                   .w = 5,
                   .k = 3,
                   .stride = 2,
                   .pad = 1,
                   .group = 2,
                   .transpose = true,
                   .acts_before = {"Relu"}},
                  11);
}

// Gemm / MatMul -> QGemm.
struct GemmCase {
    std::string name;
    bool matmul = false;
    bool trans_b = true;
    float alpha = 1.0f, beta = 1.0f;
    bool relu = false;
    bool q_out = true;
};

void run_gemm_case(const GemmCase& c, uint64_t seed) {
    SCOPED_TRACE(c.name);
    const int64_t m = 5, k = 12, n = 7;
    ir::Graph g;
    std::vector<int64_t> xdims = c.matmul ? std::vector<int64_t>{2, m, k} : std::vector<int64_t>{m, k};
    std::vector<int64_t> ydims = c.matmul ? std::vector<int64_t>{2, m, n} : std::vector<int64_t>{m, n};
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims(xdims));
    ir::Value* xd = qdq(g, x, 1.0f / 127.0f, -2, "x");
    const bool tb = !c.matmul && c.trans_b;
    Tensor wf = random_tensor(tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, seed);
    ir::Value* wd = weight_dq(g, wf, tb ? 0 : 1, "fc");
    ir::Value* v = nullptr;
    if (c.matmul) {
        ir::Node* mm = g.add_node("MatMul", {xd, wd}, {"mm"}, "mm");
        mm->output(0)->set_dtype(DataType::kFloat32);
        mm->output(0)->set_shape(Shape::from_dims(ydims));
        ir::Node* add =
            g.add_node("Add", {mm->output(0), g.add_initializer("b", random_tensor({n}, seed + 1))}, {"mmb"}, "bias");
        add->output(0)->set_dtype(DataType::kFloat32);
        add->output(0)->set_shape(Shape::from_dims(ydims));
        v = add->output(0);
    } else {
        ir::Node* gm =
            g.add_node("Gemm", {xd, wd, g.add_initializer("c", random_tensor({n}, seed + 1))}, {"gemm"}, "gemm");
        gm->set_attr("transB", ir::Attribute::from_int(tb ? 1 : 0));
        gm->set_attr("alpha", ir::Attribute::from_float(c.alpha));
        gm->set_attr("beta", ir::Attribute::from_float(c.beta));
        gm->output(0)->set_dtype(DataType::kFloat32);
        gm->output(0)->set_shape(Shape::from_dims(ydims));
        v = gm->output(0);
    }
    if (c.relu) {
        ir::Node* r = g.add_node("Relu", {v}, {"relu"}, "relu");
        r->output(0)->set_shape(Shape::from_dims(ydims));
        v = r->output(0);
    }
    if (c.q_out) {
        ir::Node* q = g.add_node("QuantizeLinear", {v, test::scalar_f32(g, "ys", 0.05f), test::scalar_q(g, "yz", 0)},
                                 {"y"}, "yq");
        v = q->output(0);
    }
    g.add_output(v);
    auto e = engine_graph(g);
    ASSERT_EQ(test::count_ops(*e, fused::kQGemm), 1) << ir::print_graph(*e);
    EXPECT_EQ(test::count_ops(*e, "Gemm") + test::count_ops(*e, "MatMul") + test::count_ops(*e, "Add"), 0)
        << ir::print_graph(*e);
    expect_equivalent(g, *e, {random_tensor(xdims, seed + 5)});
}

TEST(QdqFusion, GemmTransBAlphaBetaFloatOut) {
    run_gemm_case({.name = "gemm transB", .alpha = 0.5f, .beta = 2.0f, .q_out = false}, 21);
}
TEST(QdqFusion, GemmNoTransReluInt8Out) { run_gemm_case({.name = "gemm", .trans_b = false, .relu = true}, 22); }
TEST(QdqFusion, MatMul3dWithBiasAdd) { run_gemm_case({.name = "matmul", .matmul = true}, 23); }

TEST(QdqFusion, QAddReluInt8AndFloat) {
    for (bool q_out : {true, false}) {
        ir::Graph g;
        Shape s{2, 3, 4, 4};
        ir::Value* a = qdq(g, g.add_input("a", DataType::kFloat32, s), 0.02f, 0, "a");
        ir::Value* b = qdq(g, g.add_input("b", DataType::kFloat32, s), 0.03f, 5, "b");
        ir::Node* add = g.add_node("Add", {a, b}, {"sum"}, "add");
        add->output(0)->set_shape(s);
        ir::Node* relu = g.add_node("Relu", {add->output(0)}, {"relu"}, "relu");
        ir::Value* v = relu->output(0);
        if (q_out)
            v = g.add_node("QuantizeLinear", {v, test::scalar_f32(g, "ys", 0.04f), test::scalar_q(g, "yz", -10)}, {"y"},
                           "yq")
                    ->output(0);
        g.add_output(v);
        auto e = engine_graph(g);
        ASSERT_EQ(test::count_ops(*e, fused::kQAdd), 1) << ir::print_graph(*e);
        EXPECT_EQ(test::count_ops(*e, "Relu"), 0);
        expect_equivalent(g, *e, {random_tensor({2, 3, 4, 4}, 31, -2, 2), random_tensor({2, 3, 4, 4}, 32, -3, 3)});
    }
}

// The squeeze-and-excitation scale: DQ(x) * DQ(gate [N,C,1,1]) -> Q becomes one QMul.
TEST(QdqFusion, QMulSqueezeExciteInt8AndFloat) {
    for (bool q_out : {true, false}) {
        ir::Graph g;
        Shape s{2, 3, 4, 4}, gs{2, 3, 1, 1};
        ir::Value* a = qdq(g, g.add_input("a", DataType::kFloat32, s), 0.02f, 0, "a");
        ir::Value* b = qdq(g, g.add_input("gate", DataType::kFloat32, gs), 1.0f / 255.0f, 0, "gate", DataType::kUint8);
        ir::Node* mul = g.add_node("Mul", {a, b}, {"prod"}, "se.scale");
        mul->output(0)->set_shape(s);
        ir::Value* v = mul->output(0);
        if (q_out)
            v = g.add_node("QuantizeLinear", {v, test::scalar_f32(g, "ys", 0.015f), test::scalar_q(g, "yz", 0)}, {"y"},
                           "yq")
                    ->output(0);
        g.add_output(v);
        auto e = engine_graph(g);
        ASSERT_EQ(test::count_ops(*e, fused::kQMul), 1) << ir::print_graph(*e);
        EXPECT_EQ(test::count_ops(*e, "Mul"), 0);
        EXPECT_EQ(test::count_ops(*e, "DequantizeLinear"), 0) << ir::print_graph(*e);
        expect_equivalent(g, *e, {random_tensor({2, 3, 4, 4}, 33, -2, 2), random_tensor({2, 3, 1, 1}, 34, 0, 1)});
    }
}

TEST(QdqFusion, AveragePoolsInt8AndFloat) {
    for (bool global : {false, true}) {
        ir::Graph g;
        Shape s{2, 3, 7, 7};
        ir::Value* x = qdq(g, g.add_input("x", DataType::kFloat32, s), 0.02f, 0, "x");
        ir::Node* p = g.add_node(global ? "GlobalAveragePool" : "AveragePool", {x}, {"pool"}, "pool");
        if (!global) {
            p->set_attr("kernel_shape", ir::Attribute::from_ints({3, 3}));
            p->set_attr("strides", ir::Attribute::from_ints({2, 2}));
            p->set_attr("pads", ir::Attribute::from_ints({1, 1, 1, 1}));
        }
        ir::Value* v = p->output(0);
        if (!global)
            v = g.add_node("QuantizeLinear", {v, test::scalar_f32(g, "ys", 0.015f), test::scalar_q(g, "yz", 0)}, {"y"},
                           "yq")
                    ->output(0);
        g.add_output(v);
        auto e = engine_graph(g);
        ASSERT_EQ(test::count_ops(*e, global ? fused::kQGlobalAveragePool : fused::kQAveragePool), 1)
            << ir::print_graph(*e);
        expect_equivalent(g, *e, {random_tensor({2, 3, 7, 7}, 41, -2, 2)});
    }
}

// Text IR before -> after for the canonical Conv -> Relu -> Q group (scales chosen exact).
TEST(QdqFusion, TextFormConvReluQ) {
    auto before = test::parse_or_die(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %sx = init f32[] {0.5}
  %zx = init i8[] {0}
  %xq = QuantizeLinear(%x, %sx, %zx) @xq
  %xd = DequantizeLinear(%xq, %sx, %zx) @xd
  %w = init i8[2,2,1,1] {1, 2, 3, 4}
  %sw = init f32[2] {0.25, 0.125}
  %zw = init i8[2] {0, 0}
  %wd = DequantizeLinear[axis=0](%w, %sw, %zw) @wd
  %b = init f32[2] {1.0, -1.0}
  %c = Conv[kernel_shape=[1,1]](%xd, %wd, %b) @conv
  %r = Relu(%c) @relu
  %sy = init f32[] {0.25}
  %y = QuantizeLinear(%r, %sy, %zx) @yq
}
)");
    auto expected = test::parse_or_die(R"(
graph main(%x: f32[1,2,4,4]) -> (%y) {
  %sx = init f32[] {0.5}
  %zx = init i8[] {0}
  %xq = QuantizeLinear(%x, %sx, %zx) @xq
  %w = init i8[2,2,1,1] {1, 2, 3, 4}
  %b = init f32[2] {1.0, -1.0}
  %y = com.qat::QConv[kernel_shape=[1,1], x_scale=0.5, x_zero_point=0, w_scales=[0.25, 0.125], out_dtype=3,
                      y_scale=0.25, y_zero_point=0, post_ops=["relu"],
                      absorbed=["xd", "wd", "conv", "relu", "yq"]](%xq, %w, %b) @conv
}
)");
    auto after = engine_graph(*before);
    std::string diff;
    ir::CompareOptions co;
    co.types = false;
    EXPECT_TRUE(ir::same_structure(*expected, *after, &diff, co)) << diff << "\n" << ir::print_graph(*after);
    // And the numbers: the fused graph on the reference backend equals the unfused one.
    expect_equivalent(*before, *after, {random_tensor({1, 2, 4, 4}, 51, -3, 3)});
}

// Reasons for what stays FP32, as `qat explain` shows them.
TEST(QdqFusion, ReasonsForFp32AndFloatOutputs) {
    ir::Graph g;
    g.info().set_opset("", 13);
    Shape s{1, 4, 5, 5};
    ir::Value* x = g.add_input("x", DataType::kFloat32, s);
    // c1: float input (no DQ) but quantized weight.
    ir::Node* c1 = g.add_node("Conv", {x, weight_dq(g, random_tensor({4, 4, 1, 1}, 61), 0, "c1")}, {"c1"}, "c1");
    c1->output(0)->set_shape(s);
    // c2: quantized input and weight, output feeds Softmax: float output.
    ir::Value* c1d = qdq(g, c1->output(0), 0.05f, 0, "c1o");
    ir::Node* c2 = g.add_node("Conv", {c1d, weight_dq(g, random_tensor({4, 4, 1, 1}, 62), 0, "c2")}, {"c2"}, "c2");
    c2->output(0)->set_shape(s);
    ir::Node* sm = g.add_node("Softmax", {c2->output(0)}, {"y"}, "sm");
    g.add_output(sm->output(0));
    auto e = engine_graph(g);
    const ir::Node* left = e->find_node("c1");
    ASSERT_NE(left, nullptr);
    EXPECT_EQ(left->op_type(), "Conv");
    EXPECT_EQ(passes::fp32_reason(*left), "input is not quantized (no DequantizeLinear before it)");
    const ir::Node* f = e->find_node("c2");
    ASSERT_NE(f, nullptr) << ir::print_graph(*e);
    EXPECT_EQ(f->op_type(), fused::kQConv);
    EXPECT_EQ(f->attr_string("note", ""), "output feeds Softmax 'sm', no Q after: float output");
    expect_equivalent(g, *e, {random_tensor({1, 4, 5, 5}, 63)});
}

TEST(QdqFusion, SelectorDeclinesWithReasons) {
    ir::Graph g;
    Shape s{1, 2, 3, 3};
    ir::Value* xd = qdq(g, g.add_input("x", DataType::kFloat32, s), 0.1f, 0, "x");
    // Float weight: not quantized.
    ir::Node* c = g.add_node("Conv", {xd, g.add_initializer("w", random_tensor({2, 2, 1, 1}, 71))}, {"c"}, "c");
    g.add_output(c->output(0));
    passes::Selection sel = passes::select_fusion(*c);
    EXPECT_FALSE(sel.ok);
    EXPECT_EQ(sel.reason, "weight is not quantized (float weight, no DequantizeLinear)");
    // Per-input-channel weight scales cannot be folded into per-output-channel requantization.
    ir::Node* c2 = g.add_node("Conv", {xd, weight_dq(g, random_tensor({2, 2, 1, 1}, 72), 1, "w2")}, {"c2"}, "c2");
    g.add_output(c2->output(0));
    sel = passes::select_fusion(*c2);
    EXPECT_FALSE(sel.ok);
    EXPECT_NE(sel.reason.find("not per output channel"), std::string::npos) << sel.reason;
    // Non-zero weight zero point.
    ir::Value* wq = g.add_initializer("wq3", Tensor::zeros(DataType::kInt8, {2, 2, 1, 1}));
    ir::Node* wd =
        g.add_node("DequantizeLinear", {wq, test::scalar_f32(g, "ws3", 0.1f), test::scalar_q(g, "wz3", 1)}, {"wd3"});
    ir::Node* c3 = g.add_node("Conv", {xd, wd->output(0)}, {"c3"}, "c3");
    g.add_output(c3->output(0));
    sel = passes::select_fusion(*c3);
    EXPECT_FALSE(sel.ok);
    EXPECT_EQ(sel.reason, "weight zero point is not 0 (fused ops take symmetric weights)");
}

}  // namespace
}  // namespace qat
