// The Graph -> libtorch bridge against the reference backend (the oracle): FP32 forward parity
// (1e-4 relative) on the zoo models and on small graphs for every op lowering with non-default
// attributes, and the refusals (ops without training support, Q/DQ that are not pairs) that name
// the node. Fake-quant parity with Q/DQ execution is checked through accuracy in trainer_test.cpp
// (the exported Q/DQ model on the reference backend against the trainer's own evaluation).
#include <gtest/gtest.h>

#include <functional>

#include "ir/builder.h"
#include "models/zoo.h"
#include "quant/quantize.h"
#include "train/trainable_graph.h"
#include "train_test_util.h"

using namespace qat;
using train_test::max_rel_error;
using train_test::random_tensor;
using train_test::run_ref;

namespace {

void expect_parity(const ir::Graph& g, const std::vector<Tensor>& inputs, double tol, const std::string& what) {
    std::vector<Tensor> want = run_ref(g, inputs);
    ASSERT_FALSE(want.empty()) << what;
    auto tg = train::TrainableGraph::create(g, {});
    ASSERT_TRUE(tg.ok()) << what << ": " << tg.status().to_string();
    auto got = (*tg)->forward(inputs);
    ASSERT_TRUE(got.ok()) << what << ": " << got.status().to_string();
    ASSERT_EQ(got->size(), want.size()) << what;
    for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ((*got)[i].dims(), want[i].dims()) << what << " output " << i;
        if (!is_float(want[i].dtype())) {
            EXPECT_TRUE((*got)[i].cast(want[i].dtype()).equals(want[i])) << what << " output " << i;
            continue;
        }
        EXPECT_LE(max_rel_error((*got)[i], want[i]), tol) << what << " output " << i;
    }
}

class ZooParity : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ZooParity, EvalForwardMatchesReferenceBackend) {
    models::ZooOptions o;
    o.seed = 11;
    o.random_bn_stats = true;  // every BN term matters
    auto g = models::build_zoo_model(GetParam(), o);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    expect_parity(**g, {random_tensor({3, 1, 28, 28}, 5)}, 1e-4, GetParam() + " 1x28x28");

    models::ZooOptions c;
    c.channels = 3;
    c.height = c.width = 32;
    c.width_mult = 0.5;
    c.seed = 12;
    c.random_bn_stats = true;
    auto g2 = models::build_zoo_model(GetParam(), c);
    ASSERT_TRUE(g2.ok()) << g2.status().to_string();
    expect_parity(**g2, {random_tensor({2, 3, 32, 32}, 6)}, 1e-4, GetParam() + " 3x32x32");
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooParity, ::testing::ValuesIn(models::zoo_names()));

// ---- single ops with non-default attributes -------------------------------------------------------

namespace {

using ir::Attribute;

struct OpCase {
    std::string name;
    int64_t opset;
    // Builds the graph (inputs and the node) and returns the input tensors.
    std::function<std::vector<Tensor>(ir::Graph&, ir::Builder&)> build;
};

ir::Value* in4(ir::Builder& b, const std::string& n, std::vector<int64_t> d) {
    std::vector<Dim> dims(d.begin(), d.end());
    return b.input(n, DataType::kFloat32, Shape(dims));
}

Tensor ints(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

std::vector<OpCase> op_cases() {
    std::vector<OpCase> c;
    auto unary = [](const std::string& op, std::vector<std::pair<std::string, Attribute>> attrs = {}) {
        return OpCase{op, 13, [op, attrs](ir::Graph&, ir::Builder& b) {
                          ir::Value* x = in4(b, "x", {2, 3, 4, 5});
                          b.output(b.node(op, {x}, attrs, "n")->output(0));
                          return std::vector<Tensor>{random_tensor({2, 3, 4, 5}, 1, -3.0f, 3.0f)};
                      }};
    };
    for (const char* op : {"Relu", "Sigmoid", "Tanh", "Exp", "HardSwish", "Neg", "Abs", "Erf", "Sin", "Cos"})
        c.push_back(unary(op));
    c.push_back(unary("LeakyRelu", {{"alpha", Attribute::from_float(0.2f)}}));
    c.push_back(unary("HardSigmoid", {{"alpha", Attribute::from_float(0.3f)}, {"beta", Attribute::from_float(0.4f)}}));
    c.push_back(unary("Elu", {{"alpha", Attribute::from_float(0.7f)}}));
    c.push_back(unary("Softmax", {{"axis", Attribute::from_int(2)}}));
    c.push_back(unary("ReduceMean", {{"axes", Attribute::from_ints({1, -1})}, {"keepdims", Attribute::from_int(0)}}));
    c.push_back(unary("Transpose", {{"perm", Attribute::from_ints({0, 2, 3, 1})}}));
    c.push_back(unary("Flatten", {{"axis", Attribute::from_int(2)}}));
    c.push_back(unary("GlobalMaxPool"));
    c.push_back(unary("MaxPool", {{"kernel_shape", Attribute::from_ints({3, 2})},
                                  {"strides", Attribute::from_ints({2, 2})},
                                  {"pads", Attribute::from_ints({1, 0, 1, 1})},
                                  {"ceil_mode", Attribute::from_int(1)}}));
    c.push_back(unary("MaxPool", {{"kernel_shape", Attribute::from_ints({2, 2})},
                                  {"dilations", Attribute::from_ints({2, 1})},
                                  {"auto_pad", Attribute::from_string("SAME_UPPER")}}));
    c.push_back(unary("AveragePool", {{"kernel_shape", Attribute::from_ints({3, 3})},
                                      {"strides", Attribute::from_ints({2, 2})},
                                      {"pads", Attribute::from_ints({1, 1, 1, 1})},
                                      {"count_include_pad", Attribute::from_int(0)}}));
    c.push_back(unary("AveragePool", {{"kernel_shape", Attribute::from_ints({3, 2})},
                                      {"strides", Attribute::from_ints({2, 2})},
                                      {"pads", Attribute::from_ints({1, 0, 0, 1})},
                                      {"ceil_mode", Attribute::from_int(1)},
                                      {"count_include_pad", Attribute::from_int(1)}}));
    c.push_back(unary("AveragePool", {{"kernel_shape", Attribute::from_ints({2, 3})},
                                      {"strides", Attribute::from_ints({2, 2})},
                                      {"ceil_mode", Attribute::from_int(1)}}));
    c.push_back({"Softmax-11", 11, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {2, 3, 4, 5});
                     b.output(b.node("Softmax", {x}, {{"axis", Attribute::from_int(2)}}, "n")->output(0));
                     return std::vector<Tensor>{random_tensor({2, 3, 4, 5}, 2, -3.0f, 3.0f)};
                 }});
    c.push_back({"Clip", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {2, 3, 4, 5});
                     b.output(b.clip(x, -0.5f, 0.25f, "n"));
                     return std::vector<Tensor>{random_tensor({2, 3, 4, 5}, 3)};
                 }});
    auto binary = [](const std::string& op, std::vector<int64_t> bd, float lo, float hi) {
        return OpCase{
            op, 13, [op, bd, lo, hi](ir::Graph&, ir::Builder& b) {
                ir::Value* x = in4(b, "x", {2, 3, 4, 5});
                ir::Value* y = in4(b, "y", bd);
                b.output(b.node(op, {x, y}, {}, "n")->output(0));
                return std::vector<Tensor>{random_tensor({2, 3, 4, 5}, 4, 0.5f, 2.0f), random_tensor(bd, 5, lo, hi)};
            }};
    };
    c.push_back(binary("Add", {3, 1, 5}, -1, 1));
    c.push_back(binary("Sub", {5}, -1, 1));
    c.push_back(binary("Mul", {2, 1, 1, 1}, -1, 1));
    c.push_back(binary("Div", {1, 4, 5}, 0.5f, 2.0f));
    c.push_back(binary("Pow", {1}, 0.5f, 2.0f));
    c.push_back(binary("Max", {3, 4, 5}, 0.0f, 3.0f));
    c.push_back(binary("Min", {5}, 0.0f, 3.0f));
    c.push_back(binary("PRelu", {3, 1, 1}, -1, 1));
    c.push_back({"Where", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {2, 3});
                     ir::Value* y = in4(b, "y", {2, 3});
                     ir::Value* cond = b.node("Greater", {x, y}, {}, "gt")->output(0);
                     b.output(b.node("Where", {cond, x, y}, {}, "n")->output(0));
                     return std::vector<Tensor>{random_tensor({2, 3}, 6), random_tensor({2, 3}, 7)};
                 }});
    c.push_back({"Conv", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {2, 4, 9, 8});
                     ir::Value* w = b.initializer("w", random_tensor({6, 2, 3, 2}, 8));
                     ir::Value* bias = b.initializer("b", random_tensor({6}, 9));
                     b.output(b.node("Conv", {x, w, bias},
                                     {{"group", Attribute::from_int(2)},
                                      {"strides", Attribute::from_ints({2, 1})},
                                      {"dilations", Attribute::from_ints({1, 2})},
                                      {"pads", Attribute::from_ints({1, 0, 2, 1})}},
                                     "n")
                                  ->output(0));
                     return std::vector<Tensor>{random_tensor({2, 4, 9, 8}, 10)};
                 }});
    c.push_back({"Conv-same-lower-1d", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {2, 3, 10});
                     ir::Value* w = b.initializer("w", random_tensor({4, 3, 4}, 11));
                     b.output(b.node("Conv", {x, w},
                                     {{"strides", Attribute::from_ints({3})},
                                      {"auto_pad", Attribute::from_string("SAME_LOWER")}},
                                     "n")
                                  ->output(0));
                     return std::vector<Tensor>{random_tensor({2, 3, 10}, 12)};
                 }});
    c.push_back({"ConvTranspose", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {2, 4, 5, 6});
                     ir::Value* w = b.initializer("w", random_tensor({4, 3, 3, 3}, 13));
                     ir::Value* bias = b.initializer("b", random_tensor({6}, 14));
                     b.output(b.node("ConvTranspose", {x, w, bias},
                                     {{"group", Attribute::from_int(2)},
                                      {"strides", Attribute::from_ints({2, 3})},
                                      {"pads", Attribute::from_ints({1, 0, 0, 2})},
                                      {"output_padding", Attribute::from_ints({1, 2})}},
                                     "n")
                                  ->output(0));
                     return std::vector<Tensor>{random_tensor({2, 4, 5, 6}, 15)};
                 }});
    c.push_back({"Gemm", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* a = in4(b, "a", {5, 3});
                     ir::Value* w = b.initializer("w", random_tensor({5, 4}, 16));
                     ir::Value* cc = b.initializer("c", random_tensor({1, 4}, 17));
                     b.output(b.node("Gemm", {a, w, cc},
                                     {{"transA", Attribute::from_int(1)},
                                      {"alpha", Attribute::from_float(0.5f)},
                                      {"beta", Attribute::from_float(2.0f)}},
                                     "n")
                                  ->output(0));
                     return std::vector<Tensor>{random_tensor({5, 3}, 18)};
                 }});
    c.push_back({"MatMul+Add", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* a = in4(b, "a", {2, 3, 4});
                     ir::Value* w = b.initializer("w", random_tensor({4, 6}, 19));
                     ir::Value* bias = b.initializer("b", random_tensor({6}, 20));
                     b.output(b.add(b.matmul(a, w, "mm"), bias, "n"));
                     return std::vector<Tensor>{random_tensor({2, 3, 4}, 21)};
                 }});
    c.push_back(
        {"BatchNormalization-3d", 13, [](ir::Graph&, ir::Builder& b) {
             ir::Value* x = in4(b, "x", {2, 3, 5});
             std::vector<ir::Value*> in = {x};
             for (int i = 0; i < 4; ++i)
                 in.push_back(b.initializer("p" + std::to_string(i), random_tensor({3}, 22 + i, 0.5f, 1.5f)));
             b.output(b.node("BatchNormalization", in, {{"epsilon", Attribute::from_float(1e-3f)}}, "n")->output(0));
             return std::vector<Tensor>{random_tensor({2, 3, 5}, 26)};
         }});
    c.push_back(
        {"Resize-linear-half-pixel", 13, [](ir::Graph&, ir::Builder& b) {
             ir::Value* x = in4(b, "x", {1, 2, 4, 5});
             ir::Value* sc = b.initializer("sc", Tensor::from_vector<float>({4}, {1, 1, 1.5f, 0.6f}));
             b.output(b.node("Resize", {x, nullptr, sc}, {{"mode", Attribute::from_string("linear")}}, "n")->output(0));
             return std::vector<Tensor>{random_tensor({1, 2, 4, 5}, 27)};
         }});
    c.push_back({"Resize-linear-align-corners-sizes", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {1, 2, 4, 5});
                     ir::Value* sz = b.initializer("sz", ints({1, 2, 7, 3}));
                     b.output(b.node("Resize", {x, nullptr, nullptr, sz},
                                     {{"mode", Attribute::from_string("linear")},
                                      {"coordinate_transformation_mode", Attribute::from_string("align_corners")}},
                                     "n")
                                  ->output(0));
                     return std::vector<Tensor>{random_tensor({1, 2, 4, 5}, 28)};
                 }});
    c.push_back({"Resize-nearest", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {1, 2, 4, 6});
                     ir::Value* sc = b.initializer("sc", Tensor::from_vector<float>({4}, {1, 1, 2.0f, 0.5f}));
                     b.output(b.node("Resize", {x, nullptr, sc}, {}, "n")->output(0));
                     return std::vector<Tensor>{random_tensor({1, 2, 4, 6}, 29)};
                 }});
    for (const char* mode : {"constant", "reflect", "edge"}) {
        c.push_back(
            {std::string("Pad-") + mode, 13, [mode](ir::Graph&, ir::Builder& b) {
                 ir::Value* x = in4(b, "x", {1, 2, 4, 5});
                 ir::Value* pads = b.initializer("pads", ints({0, 0, 2, 1, 0, 1, 1, 3}));
                 ir::Value* v = b.initializer("v", Tensor::scalar<float>(0.5f));
                 b.output(b.node("Pad", {x, pads, v}, {{"mode", Attribute::from_string(mode)}}, "n")->output(0));
                 return std::vector<Tensor>{random_tensor({1, 2, 4, 5}, 30)};
             }});
    }
    c.push_back({"Slice-negative-step", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {3, 8, 5});
                     std::vector<ir::Value*> in = {x, b.initializer("s", ints({-1, 1})),
                                                   b.initializer("e", ints({0, 100})), b.initializer("a", ints({1, 2})),
                                                   b.initializer("st", ints({-2, 2}))};
                     b.output(b.node("Slice", in, {}, "n")->output(0));
                     return std::vector<Tensor>{random_tensor({3, 8, 5}, 31)};
                 }});
    c.push_back(
        {"Shape-Gather-Concat-Reshape", 13, [](ir::Graph&, ir::Builder& b) {
             ir::Value* x = in4(b, "x", {2, 3, 4});
             ir::Value* shape = b.node("Shape", {x}, {}, "shape")->output(0);
             ir::Value* n = b.node("Gather", {shape, b.initializer("i0", Tensor::from_vector<int64_t>({1}, {0}))},
                                   {{"axis", Attribute::from_int(0)}}, "gather")
                                ->output(0);
             ir::Value* target = b.concat({n, b.initializer("m1", ints({-1}))}, 0, "cat");
             ir::Value* y = b.node("Reshape", {x, target}, {}, "reshape")->output(0);
             ir::Value* u = b.node("Unsqueeze", {y, b.initializer("ax", ints({1}))}, {}, "unsq")->output(0);
             ir::Value* e = b.node("Expand", {u, b.initializer("es", ints({2, 3, 1}))}, {}, "expand")->output(0);
             auto* split = b.node("Split", {e, b.initializer("sp", ints({1, 2}))}, {{"axis", Attribute::from_int(1)}},
                                  "split", 2);
             ir::Value* s =
                 b.node("Squeeze", {split->output(0), b.initializer("sq", ints({1}))}, {}, "squeeze")->output(0);
             b.output(s);
             b.output(split->output(1));
             return std::vector<Tensor>{random_tensor({2, 3, 4}, 32)};
         }});
    c.push_back({"Gather-2d-indices", 13, [](ir::Graph&, ir::Builder& b) {
                     ir::Value* x = in4(b, "x", {4, 5});
                     ir::Value* idx = b.initializer("idx", Tensor::from_vector<int64_t>({2, 2}, {0, -1, 3, 1}));
                     b.output(b.node("Gather", {x, idx}, {{"axis", Attribute::from_int(1)}}, "n")->output(0));
                     return std::vector<Tensor>{random_tensor({4, 5}, 33)};
                 }});
    return c;
}

}  // namespace

TEST(OpParity, EveryLoweringMatchesReferenceBackend) {
    for (const OpCase& oc : op_cases()) {
        ir::Graph g;
        g.info().set_opset("", oc.opset);
        ir::Builder b(g, 1);
        std::vector<Tensor> inputs = oc.build(g, b);
        ASSERT_TRUE(b.status().ok()) << oc.name << ": " << b.status().to_string();
        expect_parity(g, inputs, 1e-5, oc.name);
    }
}

// ---- refusals ---------------------------------------------------------------------------------

TEST(ModuleBuild, RefusesOpWithoutTrainingSupportNamingIt) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{2, 3});
    b.output(b.node("TopK", {x, b.int64s("k", {1})}, {}, "top_k_1", 2)->output(0));
    auto tg = train::TrainableGraph::create(g, {});
    ASSERT_FALSE(tg.ok());
    EXPECT_EQ(tg.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(tg.status().message().find("top_k_1"), std::string::npos) << tg.status().message();
    EXPECT_NE(tg.status().message().find("TopK"), std::string::npos) << tg.status().message();
}

TEST(ModuleBuild, RefusesQuantizeLinearWithoutDequantize) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{2, 3});
    ir::Value* q = b.node("QuantizeLinear", {x, b.scalar("s", 0.1f), b.initializer("z", Tensor::scalar<int8_t>(0))}, {},
                          "lonely_q")
                       ->output(0);
    b.output(b.node("Cast", {q}, {{"to", Attribute::from_int(1)}}, "cast")->output(0));
    auto tg = train::TrainableGraph::create(g, {});
    ASSERT_FALSE(tg.ok());
    EXPECT_NE(tg.status().message().find("lonely_q"), std::string::npos) << tg.status().message();
}

TEST(ModuleBuild, ParametersAreConvGemmWeightsBiasesAndBatchNormAffine) {
    models::ZooOptions o;
    auto g = models::build_zoo_model("resnet_v1", o);
    ASSERT_TRUE(g.ok());
    auto tg = train::TrainableGraph::create(**g, {});
    ASSERT_TRUE(tg.ok()) << tg.status().to_string();
    int64_t weights = 0, biases = 0, bn = 0, conv = 0, gemm = 0, bnodes = 0;
    for (const auto& p : (*tg)->params()) {
        weights += p.kind == "weight";
        biases += p.kind == "bias";
        bn += p.kind == "bn_scale" || p.kind == "bn_bias";
    }
    for (const ir::Node* n : (*g)->nodes()) {
        conv += n->op_type() == "Conv";
        gemm += n->op_type() == "Gemm";
        bnodes += n->op_type() == "BatchNormalization";
    }
    EXPECT_EQ(weights, conv + gemm);
    EXPECT_EQ(bn, 2 * bnodes);
    EXPECT_GE(biases, gemm);
}
