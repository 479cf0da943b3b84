// ir::Builder: shapes computed by the builder against the conv/pool formulas worked out by
// hand, weight statistics against the He formula, determinism, op structure, sticky errors.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/builder.h"
#include "ir/verify.h"

using namespace qat;

namespace {

Shape nchw(int64_t c, int64_t h, int64_t w) { return Shape{Dim::symbolic("N"), c, h, w}; }

}  // namespace

TEST(Builder, ConvOutputShapes) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(3, 28, 28));
    // 28x28, k3 s1 p1 -> 28; k3 s2 p1 -> floor(27/2)+1 = 14; k5 s1 p0 -> 24; k1 s2 -> 14;
    // k3 s1 p2 d2 -> 28 + 4 - 4 - 1 + 1 = 28; k7 s2 p3 on 224 -> floor(223/2)+1 = 112.
    EXPECT_EQ(b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 1, .pad = 1}, "c1")->shape(), nchw(8, 28, 28));
    EXPECT_EQ(b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 2, .pad = 1}, "c2")->shape(), nchw(8, 14, 14));
    EXPECT_EQ(b.conv(x, {.out_channels = 4, .kernel = 5, .stride = 1, .pad = 0}, "c3")->shape(), nchw(4, 24, 24));
    EXPECT_EQ(b.conv(x, {.out_channels = 4, .kernel = 1, .stride = 2, .pad = 0}, "c4")->shape(), nchw(4, 14, 14));
    EXPECT_EQ(b.conv(x, {.out_channels = 4, .kernel = 3, .stride = 1, .pad = 2, .dilation = 2}, "c5")->shape(),
              nchw(4, 28, 28));
    ir::Value* big = b.input("big", DataType::kFloat32, nchw(3, 224, 224));
    EXPECT_EQ(b.conv(big, {.out_channels = 64, .kernel = 7, .stride = 2, .pad = 3}, "stem")->shape(),
              nchw(64, 112, 112));
    // Default pad (-1) is "same" for odd kernels.
    EXPECT_EQ(b.conv(x, {.out_channels = 4, .kernel = 5}, "c6")->shape(), nchw(4, 28, 28));
    ASSERT_TRUE(b.status().ok()) << b.status().to_string();

    const ir::Node* c2 = g.find_node("c2");
    EXPECT_EQ(c2->attr_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(c2->attr_ints("strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(c2->attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(c2->attr_int("group", 0), 1);
    EXPECT_EQ(c2->input(1)->name(), "c2.weight");
    EXPECT_EQ(c2->input(1)->constant().dims(), (std::vector<int64_t>{8, 3, 3, 3}));
    EXPECT_EQ(c2->input(2)->name(), "c2.bias");
    EXPECT_TRUE(ir::verify(g).ok());
}

TEST(Builder, DepthwiseConvWeightShape) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(32, 14, 14));
    ir::Value* y = b.conv(x, {.out_channels = 32, .kernel = 3, .stride = 2, .groups = 32, .bias = false}, "dw");
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(y->shape(), nchw(32, 7, 7));
    const ir::Node* n = y->producer();
    EXPECT_EQ(n->num_inputs(), 2u);
    EXPECT_EQ(n->input(1)->constant().dims(), (std::vector<int64_t>{32, 1, 3, 3}));
    EXPECT_EQ(n->attr_int("group", 0), 32);
}

TEST(Builder, HeNormalStatisticsAndBiasBound) {
    ir::Graph g;
    ir::Builder b(g, 42);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(64, 8, 8));
    ir::Value* y = b.conv(x, {.out_channels = 128, .kernel = 3}, "conv");
    ASSERT_NE(y, nullptr);
    std::vector<float> w = y->producer()->input(1)->constant().to_vector<float>();
    ASSERT_EQ(w.size(), 128u * 64 * 9);
    double sum = 0, sq = 0;
    for (float v : w) sum += v;
    double mean = sum / w.size();
    for (float v : w) sq += (v - mean) * (v - mean);
    double stddev = std::sqrt(sq / (w.size() - 1));
    double expected = std::sqrt(2.0 / (64 * 9));  // He: var = 2 / fan_in
    EXPECT_NEAR(stddev, expected, 0.02 * expected);
    EXPECT_LT(std::abs(mean), 4 * expected / std::sqrt(static_cast<double>(w.size())));
    // About 68.3% of a normal sample within one sigma.
    size_t within = 0;
    for (float v : w) within += std::abs(v - mean) < expected;
    EXPECT_NEAR(static_cast<double>(within) / w.size(), 0.6827, 0.01);
    float bound = 1.0f / std::sqrt(64.0f * 9.0f);
    for (float v : y->producer()->input(2)->constant().to_vector<float>()) {
        EXPECT_GE(v, -bound);
        EXPECT_LT(v, bound);
    }
}

TEST(Builder, SameSeedSameWeightsOtherSeedOtherWeights) {
    auto weights = [](uint64_t seed) {
        ir::Graph g;
        ir::Builder b(g, seed);
        ir::Value* x = b.input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 16});
        ir::Value* y = b.gemm(x, 8, "fc");
        return y->producer()->input(1)->constant().to_vector<float>();
    };
    EXPECT_EQ(weights(5), weights(5));
    EXPECT_NE(weights(5), weights(6));
}

TEST(Builder, ActivationsAndElementwise) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(4, 6, 6));
    ir::Value* r6 = b.relu6(x, "r6");
    const ir::Node* clip = r6->producer();
    EXPECT_EQ(clip->op_type(), "Clip");
    ASSERT_EQ(clip->num_inputs(), 3u);
    EXPECT_EQ(clip->input(1)->constant().data<float>()[0], 0.0f);
    EXPECT_EQ(clip->input(2)->constant().data<float>()[0], 6.0f);

    ir::Value* sw = b.swish(x, "sw");
    const ir::Node* mul = sw->producer();
    EXPECT_EQ(mul->op_type(), "Mul");
    EXPECT_EQ(mul->input(0), x);
    EXPECT_EQ(mul->input(1)->producer()->op_type(), "Sigmoid");
    EXPECT_EQ(mul->input(1)->producer()->input(0), x);

    EXPECT_EQ(g.info().opset(""), 13);
    ir::Value* hs = b.hard_swish(x, "hs");
    EXPECT_EQ(hs->producer()->op_type(), "HardSwish");
    EXPECT_EQ(g.info().opset(""), 14);  // HardSwish needs opset 14

    // Broadcasting: [N,4,6,6] * [N,4,1,1] -> [N,4,6,6].
    ir::Value* gap = b.global_avg_pool(x, "gap");
    EXPECT_EQ(gap->shape(), nchw(4, 1, 1));
    EXPECT_EQ(b.mul(x, gap, "scale")->shape(), nchw(4, 6, 6));
    EXPECT_EQ(b.add(x, r6, "add")->shape(), nchw(4, 6, 6));
    ASSERT_TRUE(b.status().ok());
    EXPECT_TRUE(ir::verify(g).ok()) << ir::verify(g).to_string();
}

TEST(Builder, PoolConcatFlattenGemmReshapeSoftmax) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(8, 28, 28));
    EXPECT_EQ(b.max_pool(x, {.kernel = 2}, "mp")->shape(), nchw(8, 14, 14));
    // k3 s2 p1 on 28: floor(27/2)+1 = 14; k3 s1 p1 keeps 28; ceil_mode k2 s2 on 27 -> 14.
    EXPECT_EQ(b.max_pool(x, {.kernel = 3, .stride = 2, .pad = 1}, "mp2")->shape(), nchw(8, 14, 14));
    EXPECT_EQ(b.avg_pool(x, {.kernel = 3, .stride = 1, .pad = 1}, "ap")->shape(), nchw(8, 28, 28));
    ir::Value* odd = b.input("odd", DataType::kFloat32, nchw(8, 27, 27));
    EXPECT_EQ(b.max_pool(odd, {.kernel = 2, .ceil_mode = true}, "mpc")->shape(), nchw(8, 14, 14));
    EXPECT_EQ(b.max_pool(odd, {.kernel = 2}, "mpf")->shape(), nchw(8, 13, 13));

    ir::Value* a = b.conv(x, {.out_channels = 4, .kernel = 1}, "a");
    ir::Value* c = b.conv(x, {.out_channels = 12, .kernel = 3}, "c");
    ir::Value* cat = b.concat({a, c, x}, 1, "cat");
    EXPECT_EQ(cat->shape(), nchw(24, 28, 28));
    ir::Value* f = b.flatten(b.global_avg_pool(cat, "gap"), 1, "flat");
    EXPECT_EQ(f->shape(), (Shape{Dim::symbolic("N"), 24}));
    ir::Value* logits = b.with_output_name("logits").gemm(f, 10, "fc");
    EXPECT_EQ(logits->name(), "logits");
    EXPECT_EQ(logits->producer()->name(), "fc");
    EXPECT_EQ(logits->shape(), (Shape{Dim::symbolic("N"), 10}));
    EXPECT_EQ(logits->producer()->attr_int("transB", 0), 1);
    EXPECT_EQ(logits->producer()->input(1)->constant().dims(), (std::vector<int64_t>{10, 24}));
    ir::Value* sm = b.softmax(logits, 1, "sm");
    EXPECT_EQ(sm->producer()->attr_int("axis", 0), 1);

    ir::Value* s = b.input("s", DataType::kFloat32, Shape{2, 3, 4});
    ir::Value* r = b.reshape(s, {0, -1}, "rs");
    EXPECT_EQ(r->shape(), (Shape{2, 12}));
    EXPECT_EQ(r->producer()->input(1)->constant().to_vector<int64_t>(), (std::vector<int64_t>{0, -1}));
    ir::Value* m = b.matmul(r, b.input("k", DataType::kFloat32, Shape{12, 5}), "mm");
    EXPECT_EQ(m->shape(), (Shape{2, 5}));
    b.output(sm);
    b.output(m);
    ASSERT_TRUE(b.status().ok()) << b.status().to_string();
    EXPECT_TRUE(ir::verify(g).ok()) << ir::verify(g).to_string();
}

TEST(Builder, BatchNormIdentityAndRandomStats) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(3, 4, 4));
    const ir::Node* bn = b.batch_norm(x, "bn")->producer();
    ASSERT_EQ(bn->num_inputs(), 5u);
    EXPECT_EQ(bn->input(1)->constant().to_vector<float>(), (std::vector<float>{1, 1, 1}));
    EXPECT_EQ(bn->input(2)->constant().to_vector<float>(), (std::vector<float>{0, 0, 0}));
    EXPECT_EQ(bn->input(3)->constant().to_vector<float>(), (std::vector<float>{0, 0, 0}));
    EXPECT_EQ(bn->input(4)->constant().to_vector<float>(), (std::vector<float>{1, 1, 1}));

    ir::Graph g2;
    ir::Builder b2(g2, ir::BuilderOptions{.seed = 1, .random_bn_stats = true});
    const ir::Node* bn2 = b2.batch_norm(b2.input("x", DataType::kFloat32, nchw(64, 4, 4)), "bn")->producer();
    for (float v : bn2->input(4)->constant().to_vector<float>()) {
        EXPECT_GE(v, 0.5f);
        EXPECT_LT(v, 1.5f);
    }
    auto mean = bn2->input(3)->constant().to_vector<float>();
    EXPECT_NE(mean, std::vector<float>(64, 0.0f));
}

TEST(Builder, ErrorsAreStickyAndNameTheOp) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, nchw(3, 4, 4));
    // A 7x7 kernel without padding does not fit a 4x4 input.
    ir::Value* y = b.conv(x, {.out_channels = 4, .kernel = 7, .pad = 0}, "too_big");
    EXPECT_EQ(y, nullptr);
    ir::Value* z = b.relu(y, "after");
    EXPECT_EQ(z, nullptr);
    ASSERT_FALSE(b.status().ok());
    EXPECT_NE(b.status().message().find("Conv 'too_big'"), std::string::npos) << b.status().message();
    EXPECT_NE(b.status().message().find("too small"), std::string::npos) << b.status().message();

    ir::Graph g2;
    ir::Builder b2(g2, 1);
    ir::Value* p = b2.input("p", DataType::kFloat32, Shape{2, 3});
    ir::Value* q = b2.input("q", DataType::kFloat32, Shape{2, 4});
    EXPECT_EQ(b2.add(p, q, "bad_add"), nullptr);
    EXPECT_NE(b2.status().message().find("cannot broadcast [2,3] with [2,4]"), std::string::npos)
        << b2.status().message();
    // Symbolic channels cannot size a weight.
    ir::Graph g3;
    ir::Builder b3(g3, 1);
    ir::Value* s = b3.input("s", DataType::kFloat32, Shape{Dim::symbolic("N"), Dim::symbolic("C"), 4, 4});
    EXPECT_EQ(b3.conv(s, {.out_channels = 4}, "c"), nullptr);
    EXPECT_NE(b3.status().message().find("must be static"), std::string::npos);
}

TEST(Builder, GenericNodeAndUniqueNames) {
    ir::Graph g;
    ir::Builder b(g, 1);
    ir::Value* x = b.input("x", DataType::kFloat32, Shape{4});
    ir::Node* n = b.node("Split", {x}, {{"axis", ir::Attribute::from_int(0)}}, "split", 2);
    ASSERT_EQ(n->num_outputs(), 2u);
    EXPECT_EQ(n->output(0)->name(), "split_out0");
    EXPECT_EQ(n->output(1)->name(), "split_out1");
    ir::Value* r1 = b.relu(n->output(0), "relu");
    ir::Value* r2 = b.relu(n->output(1), "relu");
    EXPECT_EQ(r1->producer()->name(), "relu");
    EXPECT_EQ(r2->producer()->name(), "relu_1");
    EXPECT_NE(r1->name(), r2->name());
    ir::Node* q = b.node("QRelu", {r1}, {}, "q", 1, "com.qat");
    EXPECT_EQ(q->domain(), "com.qat");
}
