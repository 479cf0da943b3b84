// Q/DQ placement on the block structures the presets exist for, built with ir::Builder: ResNet
// v1 bottleneck (projection and identity shortcut), ResNet v2 pre-activation, MobileNetV2
// inverted residual, EfficientNet MBConv (depthwise, SE with Sigmoid/Mul, Swish, residual) and
// an Inception block (parallel convs, MaxPool branch, Concat). Each test lists, node by node,
// which inputs carry Q/DQ, worked out by hand from the rules in docs/QUANTIZE.md.
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "quant_test_util.h"

using namespace qat;
using quant_test::dq_at;
using quant_test::expect_placement;
using quant_test::q_count_on;
using quant_test::quantize_with;

namespace {

using Table = std::map<std::string, std::set<int>>;
const std::set<int> kNone = {};
const std::set<int> kIn = {0};
const std::set<int> kInW = {0, 1};

ir::ConvSpec conv(int64_t out, int64_t k, int64_t groups = 1) {
    ir::ConvSpec s;
    s.out_channels = out;
    s.kernel = k;
    s.groups = groups;
    return s;
}

// ---- ResNet v1: stem, a bottleneck with projection shortcut, a bottleneck with identity ----
std::unique_ptr<ir::Graph> resnet_v1() {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, 1);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{1, 8, 8, 8});
    ir::Value* r0 = b.relu(b.batch_norm(b.conv(x, conv(16, 3), "conv0"), "bn0"), "relu0");
    auto bottleneck = [&](ir::Value* in, const std::string& p, bool projection) {
        ir::Value* y = b.relu(b.batch_norm(b.conv(in, conv(8, 1), p + "_conv1"), p + "_bn1"), p + "_relu1");
        y = b.relu(b.batch_norm(b.conv(y, conv(8, 3), p + "_conv2"), p + "_bn2"), p + "_relu2");
        y = b.batch_norm(b.conv(y, conv(32, 1), p + "_conv3"), p + "_bn3");
        ir::Value* sc = projection ? b.batch_norm(b.conv(in, conv(32, 1), p + "_proj"), p + "_proj_bn") : in;
        return b.relu(b.add(y, sc, p + "_add"), p + "_relu");
    };
    ir::Value* y = bottleneck(r0, "b1", true);
    y = bottleneck(y, "b2", false);
    y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flatten");
    b.output(b.gemm(y, 10, "fc"));
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

Table resnet_v1_expected() {
    Table t;
    for (const char* n :
         {"conv0", "b1_conv1", "b1_conv2", "b1_conv3", "b1_proj", "b2_conv1", "b2_conv2", "b2_conv3", "fc"})
        t[n] = kInW;
    for (const char* n : {"bn0", "relu0", "b1_bn1", "b1_relu1", "b1_bn2", "b1_relu2", "b1_bn3", "b1_proj_bn", "b1_relu",
                          "b2_bn1", "b2_relu1", "b2_bn2", "b2_relu2", "b2_bn3", "b2_relu", "flatten"})
        t[n] = kNone;
    // Both inputs of b1_add are Conv branches: the main one (b1_conv3, longer path) stays float
    // so it fuses; the projection is quantized.
    t["b1_add"] = {1};
    // Identity shortcut: the skip input (b1_relu) is quantized, the Conv branch is not.
    t["b2_add"] = {1};
    t["gap"] = kIn;
    return t;
}

}  // namespace

TEST(QuantPlacementModels, ResNetV1Bottleneck) {
    for (const char* preset : {"resnet_v1", "auto"}) {
        SCOPED_TRACE(preset);
        auto g = resnet_v1();
        quantize_with(*g, preset);
        expect_placement(*g, resnet_v1_expected());
        // One Q on the block output, shared by b2_conv1 and the identity input of b2_add.
        EXPECT_EQ(q_count_on(*g, "b1_relu"), 1);
        // Weights per output channel: Conv axis 0, Gemm with transB=1 axis 0.
        const ir::Node* dq = dq_at(*g, "b1_conv3", 1);
        ASSERT_NE(dq, nullptr);
        EXPECT_EQ(dq->attr_int("axis", -1), 0);
        EXPECT_EQ(dq->input(1)->constant().numel(), 32);
        ASSERT_NE(dq_at(*g, "fc", 1), nullptr);
        EXPECT_EQ(dq_at(*g, "fc", 1)->attr_int("axis", -1), 0);
    }
}

TEST(QuantPlacementModels, ResNetV1WithPresetNoneQuantizesOnlyTheTable) {
    auto g = resnet_v1();
    quantize_with(*g, "none");
    Table t = resnet_v1_expected();
    t["b1_add"] = kNone;
    t["b2_add"] = kNone;
    expect_placement(*g, t);
}

namespace {

// ---- ResNet v2: stem + MaxPool, pre-activation blocks (projection, identity), final BN ----
std::unique_ptr<ir::Graph> resnet_v2() {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, 2);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{1, 3, 16, 16});
    ir::Value* y = b.conv(x, conv(8, 3), "conv0");
    ir::PoolSpec ps;
    ps.kernel = 2;
    y = b.max_pool(y, ps, "pool0");
    auto block = [&](ir::Value* in, const std::string& p, bool projection) {
        ir::Value* pre = b.relu(b.batch_norm(in, p + "_bn0"), p + "_relu0");
        ir::Value* r = b.relu(b.batch_norm(b.conv(pre, conv(8, 3), p + "_conv1"), p + "_bn1"), p + "_relu1");
        r = b.conv(r, conv(8, 3), p + "_conv2");
        ir::Value* sc = projection ? b.conv(pre, conv(8, 1), p + "_sc") : in;
        return b.add(r, sc, p + "_add");
    };
    y = block(y, "b1", true);
    y = block(y, "b2", false);
    y = b.relu(b.batch_norm(y, "bn_final"), "relu_final");
    y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flatten");
    b.output(b.gemm(y, 10, "fc"));
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

Table resnet_v2_expected() {
    Table t;
    for (const char* n : {"conv0", "b1_conv1", "b1_conv2", "b1_sc", "b2_conv1", "b2_conv2", "fc"}) t[n] = kInW;
    for (const char* n : {"b1_relu0", "b1_bn1", "b1_relu1", "b2_relu0", "b2_bn1", "b2_relu1", "relu_final", "flatten"})
        t[n] = kNone;
    t["pool0"] = kIn;     // maxpool_input (every MaxPool in this preset)
    t["b1_bn0"] = kIn;    // bn_input: BN fed by the MaxPool
    t["b2_bn0"] = kIn;    // bn_input: BN fed by the residual Add
    t["bn_final"] = kIn;  // bn_input
    t["b1_add"] = {1};    // both Conv branches: b1_conv2 (longer) fuses, the projection is quantized
    t["b2_add"] = {1};    // identity: the skip input b1_add is quantized
    t["gap"] = kIn;
    return t;
}

}  // namespace

TEST(QuantPlacementModels, ResNetV2PreActivation) {
    auto g = resnet_v2();
    quantize_with(*g, "resnet_v2");
    expect_placement(*g, resnet_v2_expected());
    // b1_add feeds b2_bn0 and b2_add: one shared Q.
    EXPECT_EQ(q_count_on(*g, "b1_add"), 1);
}

TEST(QuantPlacementModels, ResNetV2WithAutoLeavesAMaxPoolThatMeetsNoBranchFloat) {
    // `auto` quantizes a MaxPool input only where the MaxPool meets a Concat/Add; here it feeds
    // a BN, so only that difference from the resnet_v2 preset is expected.
    auto g = resnet_v2();
    quantize_with(*g, "auto");
    Table t = resnet_v2_expected();
    t["pool0"] = kNone;
    expect_placement(*g, t);
}

namespace {

// ---- MobileNetV2: inverted residual with ReLU6 and a depthwise conv ----
std::unique_ptr<ir::Graph> mobilenet_v2() {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, 3);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{1, 3, 8, 8});
    ir::Value* a = b.relu6(b.batch_norm(b.conv(x, conv(8, 3), "conv0"), "bn0"), "relu6_0");
    ir::Value* y = b.relu6(b.batch_norm(b.conv(a, conv(24, 1), "expand"), "bn_e"), "relu6_e");
    y = b.relu6(b.batch_norm(b.conv(y, conv(24, 3, 24), "dw"), "bn_d"), "relu6_d");
    y = b.batch_norm(b.conv(y, conv(8, 1), "project"), "bn_p");
    y = b.add(y, a, "add");
    y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flatten");
    b.output(b.gemm(y, 10, "fc"));
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

}  // namespace

TEST(QuantPlacementModels, MobileNetV2InvertedResidual) {
    for (const char* preset : {"mobilenet", "auto"}) {
        SCOPED_TRACE(preset);
        auto g = mobilenet_v2();
        quantize_with(*g, preset);
        Table t;
        for (const char* n : {"conv0", "expand", "dw", "project", "fc"}) t[n] = kInW;
        for (const char* n : {"bn0", "relu6_0", "bn_e", "relu6_e", "bn_d", "relu6_d", "bn_p", "flatten"}) t[n] = kNone;
        t["add"] = {1};  // the block input; the linear bottleneck (project+bn_p) fuses
        t["gap"] = kIn;
        expect_placement(*g, t);
        EXPECT_EQ(q_count_on(*g, "relu6_0"), 1);
        // Depthwise: per output channel (24 scales on axis 0).
        const ir::Node* dq = dq_at(*g, "dw", 1);
        ASSERT_NE(dq, nullptr);
        EXPECT_EQ(dq->attr_int("axis", -1), 0);
        EXPECT_EQ(dq->input(1)->constant().numel(), 24);
    }
}

namespace {

// ---- EfficientNet MBConv: expansion, depthwise, SE (GAP -> conv -> Swish -> conv -> Sigmoid ->
// Mul), projection, residual; Swish = Sigmoid + Mul ----
std::unique_ptr<ir::Graph> mbconv() {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, 4);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{1, 3, 8, 8});
    ir::Value* a = b.swish(b.batch_norm(b.conv(x, conv(8, 3), "conv0"), "bn0"), "swish0");
    ir::Value* y = b.swish(b.batch_norm(b.conv(a, conv(16, 1), "expand"), "bn_e"), "swish_e");
    ir::Value* f = b.swish(b.batch_norm(b.conv(y, conv(16, 3, 16), "dw"), "bn_d"), "swish_d");
    ir::Value* s = b.global_avg_pool(f, "se_gap");
    s = b.swish(b.conv(s, conv(4, 1), "se_reduce"), "se_swish");
    s = b.sigmoid(b.conv(s, conv(16, 1), "se_expand"), "se_sigmoid");
    y = b.mul(f, s, "se_mul");
    y = b.batch_norm(b.conv(y, conv(8, 1), "project"), "bn_p");
    y = b.add(y, a, "add");
    y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flatten");
    b.output(b.gemm(y, 10, "fc"));
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

}  // namespace

TEST(QuantPlacementModels, EfficientNetMBConv) {
    for (const char* preset : {"efficientnet", "auto"}) {
        SCOPED_TRACE(preset);
        auto g = mbconv();
        quantize_with(*g, preset);
        Table t;
        for (const char* n : {"conv0", "expand", "dw", "se_reduce", "se_expand", "project", "fc"}) t[n] = kInW;
        for (const char* n :
             {"bn0", "swish0", "swish0.sigmoid", "bn_e", "swish_e", "swish_e.sigmoid", "bn_d", "swish_d",
              "swish_d.sigmoid", "se_swish", "se_swish.sigmoid", "se_sigmoid", "bn_p", "flatten"})
            t[n] = kNone;  // Swish Muls are Conv post-ops: never quantized
        t["se_gap"] = kIn;
        t["se_mul"] = {0, 1};  // squeeze-excite: features and gate
        t["add"] = {1};        // block input; project+bn_p fuses
        t["gap"] = kIn;
        expect_placement(*g, t);
        // The SE features feed the squeeze GAP and the Mul: one shared Q.
        EXPECT_EQ(q_count_on(*g, "swish_d"), 1);
    }
}

namespace {

// ---- Inception block: 1x1, 1x1->3x3, 1x1->3x3->3x3, MaxPool branches into a Concat ----
std::unique_ptr<ir::Graph> inception() {
    auto g = std::make_unique<ir::Graph>();
    ir::Builder b(*g, 5);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{1, 3, 8, 8});
    ir::Value* a = b.relu(b.conv(x, conv(8, 3), "conv0"), "relu0");
    ir::Value* b1 = b.relu(b.conv(a, conv(4, 1), "b1"), "b1_relu");
    ir::Value* b2 = b.relu(b.conv(a, conv(4, 1), "b2a"), "b2a_relu");
    b2 = b.relu(b.conv(b2, conv(6, 3), "b2b"), "b2b_relu");
    ir::Value* b3 = b.relu(b.conv(a, conv(4, 1), "b3a"), "b3a_relu");
    b3 = b.relu(b.conv(b3, conv(4, 3), "b3b"), "b3b_relu");
    b3 = b.relu(b.conv(b3, conv(4, 3), "b3c"), "b3c_relu");
    ir::PoolSpec ps;
    ps.kernel = 3;
    ps.stride = 1;
    ps.pad = 1;
    ir::Value* b4 = b.max_pool(a, ps, "pool");
    ir::Value* c = b.concat({b1, b2, b3, b4}, 1, "concat");
    ir::Value* y = b.relu(b.conv(c, conv(8, 1), "conv_out"), "relu_out");
    y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flatten");
    b.output(b.gemm(y, 10, "fc"));
    EXPECT_TRUE(b.status().ok()) << b.status().to_string();
    return g;
}

}  // namespace

TEST(QuantPlacementModels, InceptionBlock) {
    for (const char* preset : {"inception", "auto"}) {
        SCOPED_TRACE(preset);
        auto g = inception();
        // Distinct ranges per tensor, so the shared Concat scale is checked for real.
        quant::QuantizeOptions opts;
        quant::CalibTable table;
        float amax = 1.0f;
        for (const char* n : {"input", "relu0", "b1_relu", "b2a_relu", "b2b_relu", "b3a_relu", "b3b_relu", "b3c_relu",
                              "pool", "concat", "relu_out", "gap", "flatten"}) {
            table.tensors[n].amax = amax;
            amax += 0.5f;
        }
        opts.calib_table = table;
        quantize_with(*g, preset, std::move(opts));
        Table t;
        for (const char* n : {"conv0", "b1", "b2a", "b2b", "b3a", "b3b", "b3c", "conv_out", "fc"}) t[n] = kInW;
        for (const char* n :
             {"relu0", "b1_relu", "b2a_relu", "b2b_relu", "b3a_relu", "b3b_relu", "b3c_relu", "relu_out", "flatten"})
            t[n] = kNone;
        t["pool"] = kIn;
        t["concat"] = {0, 1, 2, 3};
        t["gap"] = kIn;
        expect_placement(*g, t);
        EXPECT_EQ(q_count_on(*g, "relu0"), 1);  // one Q shared by b1, b2a, b3a and the MaxPool
        // Concat inputs and its (quantized) output share one scale: the largest amax.
        const float want = table.tensors.at("concat").amax / 127.0f;
        for (int i = 0; i < 4; ++i) {
            const ir::Node* dq = dq_at(*g, "concat", i);
            ASSERT_NE(dq, nullptr);
            EXPECT_FLOAT_EQ(dq->input(1)->constant().data<float>()[0], want) << "concat input " << i;
        }
        const ir::Node* dq_out = dq_at(*g, "conv_out", 0);
        ASSERT_NE(dq_out, nullptr);
        EXPECT_FLOAT_EQ(dq_out->input(1)->constant().data<float>()[0], want);
        // Tensors outside the group keep their own range.
        EXPECT_FLOAT_EQ(dq_at(*g, "conv0", 0)->input(1)->constant().data<float>()[0], 1.0f / 127.0f);
    }
}
