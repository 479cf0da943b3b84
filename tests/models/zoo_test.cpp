// The model zoo: every builder's graph passes ir::verify() and the ONNX checker, runs on the
// reference backend with the expected output shape (and every node's output shape as the builder
// declared it), stays small enough to commit, and the ImageNet-shaped variants have the
// architecture of their published originals (parameter counts of torchvision's models).
#include "models/zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "backends/ref/ref_backend.h"
#include "ir/text_form.h"
#include "ir/verify.h"
#include "onnx/onnx_export.h"
#include "ops/ref_test_util.h"
#include "runtime/plan.h"

using namespace qat;

namespace {

Tensor random_input(std::vector<int64_t> dims, uint32_t seed) {
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
    return t;
}

using qat::testing::ref_registry;

// Learnable parameters as torchvision counts them: conv/gemm weights and biases, BN scale and
// bias (its running statistics are buffers, not parameters).
int64_t trainable_parameters(const ir::Graph& g) {
    std::set<const ir::Value*> seen;
    int64_t n = 0;
    auto count = [&](const ir::Value* v) {
        if (v && v->is_initializer() && seen.insert(v).second) n += v->constant().numel();
    };
    for (const ir::Node* node : g.nodes()) {
        if (node->op_type() == "Conv" || node->op_type() == "Gemm") {
            count(node->input(1));
            count(node->input(2));
        } else if (node->op_type() == "BatchNormalization") {
            count(node->input(1));
            count(node->input(2));
        }
    }
    return n;
}

class ZooSmall : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ZooSmall, VerifiesChecksAndRunsOnTheReferenceBackend) {
    const std::string name = GetParam();
    models::ZooOptions o;  // 1x28x28, 10 classes
    o.seed = 3;
    auto g = models::build_zoo_model(name, o);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    const ir::Graph& graph = **g;
    EXPECT_TRUE(ir::verify(graph).ok()) << ir::verify(graph).to_string();

    // Interface: "input" [N,1,28,28] -> "logits" [N,10].
    ASSERT_EQ(graph.inputs().size(), 1u);
    EXPECT_EQ(graph.inputs()[0]->name(), "input");
    EXPECT_EQ(graph.inputs()[0]->shape(), (Shape{Dim::symbolic("N"), 1, 28, 28}));
    ASSERT_EQ(graph.outputs().size(), 1u);
    EXPECT_EQ(graph.outputs()[0]->name(), "logits");
    EXPECT_EQ(graph.outputs()[0]->shape(), (Shape{Dim::symbolic("N"), 10}));
    EXPECT_EQ(graph.info().opset(""), 13);
    EXPECT_EQ(graph.info().ir_version, 8);
    // BN is kept after convs (not folded) so that training sees it.
    size_t bn = 0;
    for (const ir::Node* n : graph.nodes()) bn += n->op_type() == "BatchNormalization";
    EXPECT_GT(bn, 5u);

    // The ONNX checker with strict shape inference, and the size budget for committed models.
    Status checked = onnx::check_model(graph);
    EXPECT_TRUE(checked.ok()) << checked.to_string();
    auto bytes = onnx::export_model_bytes(graph);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    EXPECT_LE(bytes->size(), 2u * 1024 * 1024) << name << " is " << bytes->size() << " bytes as ONNX";

    // Reference backend, batch 3: output [3,10], finite; each node's outputs have the static
    // shape the builder declared (with N = 3), which checks the builder's shape arithmetic
    // against the kernels' own.
    auto plan = runtime::Plan::compile(graph, {.registry = &ref_registry()});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    size_t checked_nodes = 0;
    auto hook = [&](const ir::Node& node, const std::vector<Tensor>& outs) -> Status {
        for (size_t i = 0; i < outs.size() && i < node.num_outputs(); ++i) {
            const Shape& declared = node.output(i)->shape();
            if (!declared.rank_known()) continue;
            std::vector<Dim> d = declared.dims();
            if (!d.empty() && d[0].symbol == "N") d[0] = Dim(3);
            Shape expect(d);
            if (expect != outs[i].shape())
                return invalid_model(node.desc(), " output ", i, " declared ", declared.to_string(), " but is ",
                                     dims_to_string(outs[i].dims()));
            ++checked_nodes;
        }
        return OkStatus();
    };
    auto out = (*plan)->run({{"input", random_input({3, 1, 28, 28}, 11)}}, hook);
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(checked_nodes, graph.num_nodes());
    const Tensor& logits = out->at("logits");
    EXPECT_EQ(logits.dims(), (std::vector<int64_t>{3, 10}));
    for (float v : logits.to_vector<float>()) ASSERT_TRUE(std::isfinite(v));
    // Different images give different logits (the network is not degenerate).
    std::vector<float> l = logits.to_vector<float>();
    EXPECT_NE(std::vector<float>(l.begin(), l.begin() + 10), std::vector<float>(l.begin() + 10, l.begin() + 20));
}

INSTANTIATE_TEST_SUITE_P(AllModels, ZooSmall, ::testing::ValuesIn(models::zoo_names()),
                         [](const auto& info) { return info.param; });

TEST(Zoo, SameSeedSameBytesOtherSeedOtherWeights) {
    models::ZooOptions o;
    o.seed = 7;
    auto a = models::build_zoo_model("mobilenet_v2", o);
    auto b = models::build_zoo_model("mobilenet_v2", o);
    o.seed = 8;
    auto c = models::build_zoo_model("mobilenet_v2", o);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    auto ba = onnx::export_model_bytes(**a), bb = onnx::export_model_bytes(**b), bc = onnx::export_model_bytes(**c);
    ASSERT_TRUE(ba.ok() && bb.ok() && bc.ok());
    EXPECT_EQ(*ba, *bb);
    EXPECT_NE(*ba, *bc);
}

TEST(Zoo, OptionsShapeTheModel) {
    models::ZooOptions o;
    o.channels = 3;
    o.height = 32;
    o.width = 40;
    o.classes = 7;
    auto g = models::build_zoo_model("resnet_v1", o);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ((*g)->inputs()[0]->shape(), (Shape{Dim::symbolic("N"), 3, 32, 40}));
    EXPECT_EQ((*g)->outputs()[0]->shape(), (Shape{Dim::symbolic("N"), 7}));

    // Halving the width roughly quarters the conv parameters.
    models::ZooOptions half;
    half.width_mult = 0.5;
    auto full_w = models::build_zoo_model("resnet_v1", models::ZooOptions{});
    auto half_w = models::build_zoo_model("resnet_v1", half);
    ASSERT_TRUE(full_w.ok() && half_w.ok());
    double ratio = static_cast<double>(models::count_parameters(**half_w)) / models::count_parameters(**full_w);
    EXPECT_GT(ratio, 0.2);
    EXPECT_LT(ratio, 0.35);
    // The small ResNet-20 has about 0.27M parameters: 3x3 convs 16->16 (x7 incl. the stem from 1
    // channel), 32 and 64 stages, two 1x1 projections, BN (4 per channel) and the 64->10 head.
    int64_t convs = 1 * 16 * 9 + 6 * 16 * 16 * 9 + (16 * 32 * 9 + 5 * 32 * 32 * 9) + (32 * 64 * 9 + 5 * 64 * 64 * 9) +
                    16 * 32 + 32 * 64;
    int64_t bns = 4 * (16 * 7 + 32 * 7 + 64 * 7);
    EXPECT_EQ(models::count_parameters(**full_w), convs + bns + 64 * 10 + 10);
}

TEST(Zoo, BadOptionsNameTheField) {
    auto msg = [](const std::string& name, models::ZooOptions o) {
        auto g = models::build_zoo_model(name, o);
        return g.ok() ? std::string("<ok>") : g.status().message();
    };
    models::ZooOptions o;
    EXPECT_NE(msg("resnet_v3", o).find("unknown zoo model 'resnet_v3' (known: resnet_v1"), std::string::npos);
    o.width_mult = 0;
    EXPECT_NE(msg("inception", o).find("width multiplier must be in (0, 8], got 0"), std::string::npos);
    o = {};
    o.classes = 0;
    EXPECT_NE(msg("inception", o).find("classes must be in [1, 100000], got 0"), std::string::npos);
    o = {};
    o.height = 4;
    EXPECT_NE(msg("resnet_v1", o).find("input size 4x28 is too small"), std::string::npos);
    o = {};
    o.variant = models::ZooVariant::kFull;  // 28x28 cannot take 32x downsampling
    EXPECT_NE(msg("resnet_v1", o).find("full variant needs at least 32x32"), std::string::npos);
    o = {};
    o.channels = 0;
    EXPECT_NE(msg("mobilenet_v2", o).find("input channels must be in [1, 4096], got 0"), std::string::npos);

    models::ZooOptions p;
    EXPECT_TRUE(models::parse_input_chw("3x224x224", &p).ok());
    EXPECT_EQ(p.channels, 3);
    EXPECT_EQ(p.height, 224);
    EXPECT_EQ(p.width, 224);
    for (const char* bad : {"3x224", "3x224x224x1", "ax1x1", "", "3x-1x4", "3x224x"})
        EXPECT_FALSE(models::parse_input_chw(bad, &p).ok()) << bad;
}

TEST(Zoo, ResNetV2IsPreActivation) {
    auto g = models::build_zoo_model("resnet_v2", models::ZooOptions{});
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    // Every BN that reads an Add is a block's pre-activation (or the final one); there are 8
    // (blocks 2..9) plus post.bn, and no Relu directly after an Add (that is v1).
    int bn_after_add = 0;
    for (const ir::Node* n : (*g)->nodes()) {
        const ir::Node* p = n->input(0) ? n->input(0)->producer() : nullptr;
        if (!p || p->op_type() != "Add") continue;
        if (n->op_type() == "BatchNormalization") ++bn_after_add;
        EXPECT_NE(n->op_type(), "Relu") << n->desc();
    }
    EXPECT_EQ(bn_after_add, 9);
}

TEST(Zoo, EfficientNetHasSqueezeExciteAndSwish) {
    auto g = models::build_zoo_model("efficientnet_b0", models::ZooOptions{});
    ASSERT_TRUE(g.ok());
    int se = 0, swish = 0;
    for (const ir::Node* n : (*g)->nodes()) {
        if (n->op_type() != "Mul") continue;
        const ir::Node* gate = n->input(1)->producer();
        ASSERT_NE(gate, nullptr);
        ASSERT_EQ(gate->op_type(), "Sigmoid");
        if (gate->input(0) == n->input(0)) {
            ++swish;  // x * sigmoid(x)
        } else {
            // SE: features * sigmoid(conv(swish(conv(GAP(features)))))
            ++se;
            const ir::Node* expand = gate->input(0)->producer();
            ASSERT_EQ(expand->op_type(), "Conv");
            const ir::Node* act = expand->input(0)->producer();
            ASSERT_EQ(act->op_type(), "Mul");
            const ir::Node* reduce = act->input(0)->producer();
            ASSERT_EQ(reduce->op_type(), "Conv");
            const ir::Node* pool = reduce->input(0)->producer();
            ASSERT_EQ(pool->op_type(), "GlobalAveragePool");
            EXPECT_EQ(pool->input(0), n->input(0));
        }
    }
    EXPECT_EQ(se, 7);  // one per MBConv block: 1 + 2 + 2 + 2
    EXPECT_GT(swish, se);
}

// ImageNet-shaped variants against the parameter counts torchvision publishes for its models
// (weights + biases + BN affine): resnet50 25,557,032; mobilenet_v2 3,504,872; efficientnet_b0
// 5,288,548. googlenet is 6,624,904 with torchvision's 3x3 in the "5x5" branch; with a true 5x5
// each module adds c5r*c5*16 weights: 16*(16*32 + 32*96 + 16*48 + 24*64 + 24*64 + 32*64 + 32*128 +
// 32*128 + 48*128) = 380,928.
TEST(Zoo, FullVariantsMatchPublishedArchitectures) {
    struct Case {
        const char* name;
        int64_t params;
    };
    const Case cases[] = {{"resnet_v1", 25557032},
                          {"mobilenet_v2", 3504872},
                          {"efficientnet_b0", 5288548},
                          {"inception", 6624904 + 380928}};
    for (const auto& c : cases) {
        models::ZooOptions o;
        o.channels = 3;
        o.height = o.width = 224;
        o.classes = 1000;
        auto g = models::build_zoo_model(c.name, o);
        ASSERT_TRUE(g.ok()) << c.name << ": " << g.status().to_string();
        EXPECT_EQ((*g)->outputs()[0]->shape(), (Shape{Dim::symbolic("N"), 1000})) << c.name;
        EXPECT_EQ(trainable_parameters(**g), c.params) << c.name;
        EXPECT_TRUE(ir::verify(**g).ok()) << c.name;
    }
    // ResNet-50 v2 has no published twin here: the ONNX checker (with strict shape inference)
    // checks its wiring, at a quarter width to keep the export small.
    models::ZooOptions o;
    o.channels = 3;
    o.height = o.width = 224;
    o.classes = 1000;
    o.width_mult = 0.25;
    auto v2 = models::build_zoo_model("resnet_v2", o);
    ASSERT_TRUE(v2.ok()) << v2.status().to_string();
    Status s = onnx::check_model(**v2);
    EXPECT_TRUE(s.ok()) << s.to_string();
}

// The text form carries a whole model: printed with every payload, parsed back, it is the same
// graph (structure, names and every weight bit).
TEST(Zoo, TextFormRoundTripsAWholeModel) {
    for (const char* name : {"inception", "efficientnet_b0"}) {
        auto g = models::build_zoo_model(name, models::ZooOptions{});
        ASSERT_TRUE(g.ok());
        ir::PrintOptions po;
        po.max_inline_elements = -1;
        std::string text = ir::print_graph(**g, po);
        auto back = ir::parse_graph(text);
        ASSERT_TRUE(back.ok()) << back.status().to_string();
        std::string diff;
        ir::CompareOptions co;
        co.names = true;
        EXPECT_TRUE(ir::same_structure(**g, **back, &diff, co)) << diff.substr(0, 2000);
        EXPECT_EQ(ir::print_graph(**back, po), text);
        EXPECT_TRUE(ir::verify(**back).ok());
    }
}
