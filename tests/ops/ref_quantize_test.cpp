// QuantizeLinear / DequantizeLinear on the reference backend: literal cases for ties,
// saturation, default zero point, per-axis with negative axis, int32 dequantization, opset 10.
#include <gtest/gtest.h>

#include "ref_test_util.h"

namespace qat {
namespace {

using testing::int_attr;
using testing::run_node;

TEST(RefQuantize, TiesRoundToEven) {
    // x / scale lands exactly on .5: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2, -2.5 -> -2.
    Tensor x = Tensor::from_vector<float>({8}, {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, -1.25f, 0.3f, -0.3f});
    Tensor s = Tensor::scalar<float>(0.5f);
    Tensor zp = Tensor::scalar<int8_t>(0);
    auto r = run_node("QuantizeLinear", {x, s, zp});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ((*r)[0].dtype(), DataType::kInt8);
    EXPECT_EQ((*r)[0].to_vector<int8_t>(), (std::vector<int8_t>{0, 2, 2, 0, -2, -2, 1, -1}));

    // With a zero point the tie is resolved before adding it: 2.5 -> 2, + 3 = 5.
    auto r2 = run_node("QuantizeLinear", {Tensor::from_vector<float>({2}, {2.5f, 3.5f}), Tensor::scalar<float>(1.0f),
                                          Tensor::scalar<uint8_t>(3)});
    ASSERT_TRUE(r2.ok()) << r2.status().to_string();
    EXPECT_EQ((*r2)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{5, 7}));
}

TEST(RefQuantize, SaturatesToTheTypeRange) {
    Tensor x = Tensor::from_vector<float>({4}, {1000.0f, -1000.0f, 127.4f, -128.6f});
    auto i8 = run_node("QuantizeLinear", {x, Tensor::scalar<float>(1.0f), Tensor::scalar<int8_t>(0)});
    ASSERT_TRUE(i8.ok()) << i8.status().to_string();
    EXPECT_EQ((*i8)[0].to_vector<int8_t>(), (std::vector<int8_t>{127, -128, 127, -128}));
    auto u8 = run_node("QuantizeLinear", {x, Tensor::scalar<float>(2.0f), Tensor::scalar<uint8_t>(10)});
    ASSERT_TRUE(u8.ok()) << u8.status().to_string();
    // 127.4 / 2 = 63.7 -> 64 + 10 = 74; -128.6 / 2 = -64.3 -> -64 + 10 = -54 -> 0.
    EXPECT_EQ((*u8)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{255, 0, 74, 0}));
}

TEST(RefQuantize, MissingZeroPointMeansUint8Zero) {
    Tensor x = Tensor::from_vector<float>({3}, {-1.0f, 0.4f, 300.0f});
    auto r = run_node("QuantizeLinear", {x, Tensor::scalar<float>(0.1f)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ((*r)[0].dtype(), DataType::kUint8);
    EXPECT_EQ((*r)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{0, 4, 255}));
    auto d = run_node("DequantizeLinear", {Tensor::from_vector<uint8_t>({2}, {0, 200}), Tensor::scalar<float>(0.5f)});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ((*d)[0].to_vector<float>(), (std::vector<float>{0.0f, 100.0f}));
}

TEST(RefQuantize, PerAxisWithNegativeAxis) {
    // x [2, 3, 2], axis -2 -> the 3 channels of dim 1.
    std::vector<float> xv = testing::random_floats(12, 30, -4.0f, 4.0f);
    Tensor x = Tensor::from_vector<float>({2, 3, 2}, xv);
    std::vector<float> scale{0.05f, 0.1f, 0.2f};
    std::vector<int8_t> zp{-3, 0, 5};
    auto q =
        run_node("QuantizeLinear", {x, Tensor::from_vector<float>({3}, scale), Tensor::from_vector<int8_t>({3}, zp)},
                 {{"axis", int_attr(-2)}});
    ASSERT_TRUE(q.ok()) << q.status().to_string();
    std::vector<int8_t> want;
    for (size_t e = 0; e < 12; ++e) {
        const size_t c = (e / 2) % 3;
        // Float division as the spec says; the data has no exact .5 ties.
        double v = std::nearbyint(xv[e] / scale[c]) + zp[c];
        want.push_back(static_cast<int8_t>(std::min(127.0, std::max(-128.0, v))));
    }
    EXPECT_EQ((*q)[0].to_vector<int8_t>(), want);

    auto dq = run_node("DequantizeLinear",
                       {(*q)[0], Tensor::from_vector<float>({3}, scale), Tensor::from_vector<int8_t>({3}, zp)},
                       {{"axis", int_attr(-2)}});
    ASSERT_TRUE(dq.ok()) << dq.status().to_string();
    for (size_t e = 0; e < 12; ++e) {
        const size_t c = (e / 2) % 3;
        EXPECT_FLOAT_EQ((*dq)[0].data<float>()[e], static_cast<float>(want[e] - zp[c]) * scale[c]);
        EXPECT_LE(std::fabs((*dq)[0].data<float>()[e] - xv[e]), scale[c] / 2 + 1e-6f) << e;
    }
}

TEST(RefQuantize, PerAxisChecksTheChannelCount) {
    Tensor x = testing::random_tensor({2, 3}, 31);
    auto r = run_node("QuantizeLinear", {x, Tensor::from_vector<float>({2}, {1.0f, 1.0f})}, {{"axis", int_attr(1)}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("3 channels on axis 1"), std::string::npos) << r.status().message();
    auto axis = run_node("QuantizeLinear", {x, Tensor::from_vector<float>({3}, {1, 1, 1})}, {{"axis", int_attr(2)}});
    ASSERT_FALSE(axis.ok());
    EXPECT_NE(axis.status().message().find("out of range"), std::string::npos) << axis.status().message();
    // Opset 10 has no per-axis form.
    auto v10 = run_node("QuantizeLinear", {x, Tensor::from_vector<float>({3}, {1, 1, 1})}, {}, 10);
    ASSERT_FALSE(v10.ok());
    EXPECT_NE(v10.status().message().find("opset >= 13"), std::string::npos) << v10.status().message();
    // A zero point whose shape differs from the scale's.
    auto zps = run_node("QuantizeLinear", {x, Tensor::scalar<float>(1.0f), Tensor::from_vector<int8_t>({1}, {0})});
    ASSERT_FALSE(zps.ok());
    EXPECT_NE(zps.status().message().find("y_zero_point has shape [1]"), std::string::npos);
}

TEST(RefQuantize, Opset10PerTensor) {
    auto r = run_node(
        "QuantizeLinear",
        {Tensor::from_vector<float>({3}, {-0.6f, 0.0f, 0.6f}), Tensor::scalar<float>(0.2f), Tensor::scalar<int8_t>(1)},
        {}, 10);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    // -0.6 / 0.2 and 0.6 / 0.2 are 3 up to float rounding; the result is +-3 either way.
    EXPECT_EQ((*r)[0].to_vector<int8_t>(), (std::vector<int8_t>{-2, 1, 4}));
}

TEST(RefDequantize, Int32InputIsScaledAndNeedsZeroPointZero) {
    Tensor x = Tensor::from_vector<int32_t>({4}, {-100000, -1, 0, 2147483647});
    auto r = run_node("DequantizeLinear", {x, Tensor::scalar<float>(0.001f)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_FLOAT_EQ((*r)[0].data<float>()[0], -100.0f);
    EXPECT_FLOAT_EQ((*r)[0].data<float>()[1], -0.001f);
    EXPECT_FLOAT_EQ((*r)[0].data<float>()[2], 0.0f);
    EXPECT_FLOAT_EQ((*r)[0].data<float>()[3], 2147483647.0f * 0.001f);
    auto zp0 = run_node("DequantizeLinear", {x, Tensor::scalar<float>(2.0f), Tensor::scalar<int32_t>(0)});
    ASSERT_TRUE(zp0.ok()) << zp0.status().to_string();
    EXPECT_FLOAT_EQ((*zp0)[0].data<float>()[1], -2.0f);
    auto bad = run_node("DequantizeLinear", {x, Tensor::scalar<float>(1.0f), Tensor::scalar<int32_t>(3)});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("zero point 0"), std::string::npos) << bad.status().message();
}

TEST(RefDequantize, ZeroPointDtypeMustMatchInput) {
    auto r = run_node("DequantizeLinear",
                      {Tensor::from_vector<int8_t>({1}, {1}), Tensor::scalar<float>(1.0f), Tensor::scalar<uint8_t>(0)});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("x_zero_point has dtype u8, x has i8"), std::string::npos)
        << r.status().message();
    auto f = run_node("DequantizeLinear", {Tensor::from_vector<float>({1}, {1}), Tensor::scalar<float>(1.0f)});
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().message().find("dtype f32"), std::string::npos) << f.status().message();
}

TEST(RefDequantize, PerAxisAxisZeroInt8) {
    Tensor x = Tensor::from_vector<int8_t>({2, 3}, {-128, 0, 127, 1, 2, 3});
    auto r = run_node("DequantizeLinear",
                      {x, Tensor::from_vector<float>({2}, {0.5f, 2.0f}), Tensor::from_vector<int8_t>({2}, {0, -1})},
                      {{"axis", int_attr(0)}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<float>(), (std::vector<float>{-64.0f, 0.0f, 63.5f, 4.0f, 6.0f, 8.0f}));
}

}  // namespace
}  // namespace qat
