// BatchNormalization, Softmax, ReduceMean, Resize and Pad on the reference backend, against
// formulas written here or values worked out by hand (the comments show the arithmetic).
#include <gtest/gtest.h>

#include "ref_test_util.h"

namespace qat {
namespace {

using testing::float_attr;
using testing::int_attr;
using testing::ints;
using testing::random_tensor;
using testing::run_node;
using testing::str;

TEST(RefBatchNorm, InferenceFormula) {
    Tensor x = random_tensor({2, 3, 2, 2}, 70, -3, 3);
    Tensor scale = random_tensor({3}, 71), bias = random_tensor({3}, 72), mean = random_tensor({3}, 73);
    Tensor var = random_tensor({3}, 74, 0.1f, 2.0f);
    auto r = run_node("BatchNormalization", {x, scale, bias, mean, var}, {{"epsilon", float_attr(1e-3f)}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    std::vector<float> want;
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t c = (i / 4) % 3;
        want.push_back((x.data<float>()[i] - mean.data<float>()[c]) / std::sqrt(var.data<float>()[c] + 1e-3f) *
                           scale.data<float>()[c] +
                       bias.data<float>()[c]);
    }
    testing::expect_near((*r)[0], x.dims(), want);

    auto bad = run_node("BatchNormalization", {x, random_tensor({4}, 75), bias, mean, var});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("scale has shape [4], expected [3]"), std::string::npos)
        << bad.status().message();
    auto training = run_node("BatchNormalization", {x, scale, bias, mean, var}, {{"training_mode", int_attr(1)}});
    ASSERT_FALSE(training.ok());
    EXPECT_NE(training.status().message().find("training_mode"), std::string::npos);
}

TEST(RefSoftmax, Opset13IsOneAxisOpset11CoercesTo2D) {
    Tensor x = random_tensor({2, 3, 4}, 76, -5, 5);
    const float* xv = x.data<float>();
    auto r13 = run_node("Softmax", {x}, {{"axis", int_attr(1)}}, 13);
    auto r11 = run_node("Softmax", {x}, {{"axis", int_attr(1)}}, 11);
    ASSERT_TRUE(r13.ok() && r11.ok());
    std::vector<float> want13(24), want11(24);
    for (int b = 0; b < 2; ++b) {
        for (int k = 0; k < 4; ++k) {  // opset 13: over the 3 values of dim 1
            double s = 0;
            for (int c = 0; c < 3; ++c) s += std::exp(xv[b * 12 + c * 4 + k]);
            for (int c = 0; c < 3; ++c) want13[b * 12 + c * 4 + k] = std::exp(xv[b * 12 + c * 4 + k]) / s;
        }
        double s = 0;  // opset 11: over the 12 values of dims 1..2
        for (int i = 0; i < 12; ++i) s += std::exp(xv[b * 12 + i]);
        for (int i = 0; i < 12; ++i) want11[b * 12 + i] = std::exp(xv[b * 12 + i]) / s;
    }
    testing::expect_near((*r13)[0], {2, 3, 4}, want13);
    testing::expect_near((*r11)[0], {2, 3, 4}, want11);
    // Default axis: -1 at opset 13, 1 at opset 11 (same as above for this rank-3 input).
    auto d11 = run_node("Softmax", {x}, {}, 11);
    ASSERT_TRUE(d11.ok());
    EXPECT_TRUE((*d11)[0].equals((*r11)[0]));
    // Large inputs do not overflow.
    auto big = run_node("Softmax", {Tensor::from_vector<float>({2}, {1000.0f, 1000.0f})});
    ASSERT_TRUE(big.ok());
    EXPECT_EQ((*big)[0].to_vector<float>(), (std::vector<float>{0.5f, 0.5f}));
}

TEST(RefReduceMean, AxesAndKeepdims) {
    Tensor x = random_tensor({2, 3, 4}, 77);
    const float* xv = x.data<float>();
    auto r = run_node("ReduceMean", {x}, {{"axes", ints({-1, 0})}, {"keepdims", int_attr(0)}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    std::vector<float> want(3, 0.0f);
    for (int b = 0; b < 2; ++b)
        for (int c = 0; c < 3; ++c)
            for (int k = 0; k < 4; ++k) want[c] += xv[b * 12 + c * 4 + k] / 8.0f;
    testing::expect_near((*r)[0], {3}, want);

    auto all = run_node("ReduceMean", {x});
    ASSERT_TRUE(all.ok());
    double s = 0;
    for (int i = 0; i < 24; ++i) s += xv[i];
    testing::expect_near((*all)[0], {1, 1, 1}, {static_cast<float>(s / 24)});

    auto dup = run_node("ReduceMean", {x}, {{"axes", ints({1, -2})}});
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.status().message().find("repeat"), std::string::npos);
}

Tensor iota(std::vector<int64_t> dims) {
    std::vector<float> v(static_cast<size_t>(numel_of(dims)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    return Tensor::from_vector<float>(std::move(dims), v);
}

TEST(RefResize, NearestModesOnExactTies) {
    // asymmetric, scale 2: x_ori = o / 2 = 0, .5, 1, 1.5, 2, 2.5 (ties at every odd o).
    Tensor x = iota({3});
    Tensor scales = Tensor::from_vector<float>({1}, {2.0f});
    auto resize = [&](const char* mode) {
        return run_node("Resize", {x, Tensor(), scales},
                        {{"coordinate_transformation_mode", str("asymmetric")}, {"nearest_mode", str(mode)}});
    };
    auto f = resize("round_prefer_floor");
    auto c = resize("round_prefer_ceil");
    auto fl = resize("floor");
    auto ce = resize("ceil");
    ASSERT_TRUE(f.ok() && c.ok() && fl.ok() && ce.ok()) << f.status().to_string();
    EXPECT_EQ((*f)[0].to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 2, 2}));
    EXPECT_EQ((*c)[0].to_vector<float>(), (std::vector<float>{0, 1, 1, 2, 2, 2}));  // 2.5 -> 3 -> clamped to 2
    EXPECT_EQ((*fl)[0].to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 2, 2}));
    EXPECT_EQ((*ce)[0].to_vector<float>(), (std::vector<float>{0, 1, 1, 2, 2, 2}));
}

TEST(RefResize, LinearCoordinateModes) {
    Tensor x = Tensor::from_vector<float>({4}, {1, 2, 4, 8});
    auto lerp = [&](double xo) {
        const double f = std::floor(xo);
        auto v = [&](double i) { return x.data<float>()[static_cast<int>(std::min(3.0, std::max(0.0, i)))]; };
        return static_cast<float>(v(f) + (xo - f) * (v(f + 1) - v(f)));
    };
    Tensor sizes = Tensor::from_vector<int64_t>({1}, {6});
    // half_pixel: x_ori = (o + 0.5) / 1.5 - 0.5; align_corners: o * 3 / 5.
    auto hp = run_node("Resize", {x, Tensor(), Tensor(), sizes}, {{"mode", str("linear")}});
    auto ac = run_node("Resize", {x, Tensor(), Tensor(), sizes},
                       {{"mode", str("linear")}, {"coordinate_transformation_mode", str("align_corners")}});
    ASSERT_TRUE(hp.ok() && ac.ok()) << hp.status().to_string();
    std::vector<float> want_hp, want_ac;
    for (int o = 0; o < 6; ++o) {
        want_hp.push_back(lerp((o + 0.5) / 1.5 - 0.5));
        want_ac.push_back(lerp(o * 3.0 / 5.0));
    }
    testing::expect_near((*hp)[0], {6}, want_hp);
    testing::expect_near((*ac)[0], {6}, want_ac);
    EXPECT_EQ((*ac)[0].data<float>()[5], 8.0f);  // align_corners keeps the last corner

    // pytorch_half_pixel with one output: x_ori = -0.5 -> the first element.
    auto one = run_node("Resize", {x, Tensor(), Tensor(), Tensor::from_vector<int64_t>({1}, {1})},
                        {{"mode", str("linear")}, {"coordinate_transformation_mode", str("pytorch_half_pixel")}});
    ASSERT_TRUE(one.ok()) << one.status().to_string();
    EXPECT_EQ((*one)[0].to_vector<float>(), (std::vector<float>{1.0f}));
}

TEST(RefResize, BilinearIsSeparable) {
    Tensor x = iota({1, 1, 2, 3});
    // sizes [1,1,3,5], align_corners: rows at 0, .5, 1; cols at 0, .5, 1, 1.5, 2. For this
    // x = 3*row + col (linear in both) the result is 3*row_ori + col_ori exactly.
    auto r = run_node("Resize", {x, Tensor(), Tensor(), Tensor::from_vector<int64_t>({4}, {1, 1, 3, 5})},
                      {{"mode", str("linear")}, {"coordinate_transformation_mode", str("align_corners")}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    std::vector<float> want;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 5; ++j) want.push_back(3.0f * (i * 0.5f) + j * 0.5f);
    testing::expect_near((*r)[0], {1, 1, 3, 5}, want);
}

TEST(RefResize, Opset10TruncatesUpAndCeilsDown) {
    Tensor x = iota({5});
    // Downsample 0.6: out 3, x_ori = o / 0.6 = 0, 1.67, 3.33 -> ceil: 0, 2, 4.
    auto down = run_node("Resize", {x, Tensor::from_vector<float>({1}, {0.6f})}, {}, 10);
    ASSERT_TRUE(down.ok()) << down.status().to_string();
    EXPECT_EQ((*down)[0].to_vector<float>(), (std::vector<float>{0, 2, 4}));
    // Upsample 2.5 of 2 values: x_ori = 0, .4, .8, 1.2, 1.6 -> truncated: 0, 0, 0, 1, 1.
    auto up = run_node("Resize", {iota({2}), Tensor::from_vector<float>({1}, {2.5f})}, {}, 10);
    ASSERT_TRUE(up.ok()) << up.status().to_string();
    EXPECT_EQ((*up)[0].to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 1}));
}

TEST(RefResize, NearestKeepsIntegerDtypes) {
    Tensor x = Tensor::from_vector<uint8_t>({1, 2}, {7, 250});
    auto r = run_node("Resize", {x, Tensor(), Tensor::from_vector<float>({2}, {1.0f, 2.0f})});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{7, 7, 250, 250}));
}

TEST(RefResize, BadInputAndUnsupportedModes) {
    Tensor x = iota({1, 1, 2, 2});
    auto both = run_node("Resize", {x, Tensor(), Tensor::from_vector<float>({4}, {1, 1, 2, 2}),
                                    Tensor::from_vector<int64_t>({4}, {1, 1, 4, 4})});
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.status().message().find("exactly one of"), std::string::npos);
    auto rank = run_node("Resize", {x, Tensor(), Tensor::from_vector<float>({2}, {2, 2})});
    ASSERT_FALSE(rank.ok());
    EXPECT_NE(rank.status().message().find("scales has 2 values"), std::string::npos);
    auto cubic =
        run_node("Resize", {x, Tensor(), Tensor::from_vector<float>({4}, {1, 1, 2, 2})}, {{"mode", str("cubic")}});
    ASSERT_FALSE(cubic.ok());
    EXPECT_NE(cubic.status().message().find("cubic"), std::string::npos);
}

TEST(RefPad, ConstantReflectEdge) {
    Tensor x = Tensor::from_vector<float>({4}, {1, 2, 3, 4});
    Tensor pads = Tensor::from_vector<int64_t>({2}, {3, 3});
    auto reflect = run_node("Pad", {x, pads}, {{"mode", str("reflect")}});
    auto edge = run_node("Pad", {x, pads}, {{"mode", str("edge")}});
    auto constant = run_node("Pad", {x, pads, Tensor::scalar<float>(-1.0f)});
    ASSERT_TRUE(reflect.ok() && edge.ok() && constant.ok()) << reflect.status().to_string();
    // numpy.pad(x, 3, 'reflect') reflects without repeating the edge.
    EXPECT_EQ((*reflect)[0].to_vector<float>(), (std::vector<float>{4, 3, 2, 1, 2, 3, 4, 3, 2, 1}));
    EXPECT_EQ((*edge)[0].to_vector<float>(), (std::vector<float>{1, 1, 1, 1, 2, 3, 4, 4, 4, 4}));
    EXPECT_EQ((*constant)[0].to_vector<float>(), (std::vector<float>{-1, -1, -1, 1, 2, 3, 4, -1, -1, -1}));
}

TEST(RefPad, TwoDimsNegativePadsAndOpset2Attributes) {
    Tensor x = iota({2, 3});  // [[0,1,2],[3,4,5]]
    // Crop the first column, add one row on top and two columns at the end (edge).
    auto r = run_node("Pad", {x, Tensor::from_vector<int64_t>({4}, {1, -1, 0, 2})}, {{"mode", str("edge")}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].dims(), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ((*r)[0].to_vector<float>(), (std::vector<float>{1, 2, 2, 2, 1, 2, 2, 2, 4, 5, 5, 5}));

    auto v2 = run_node("Pad", {x}, {{"pads", ints({0, 1, 1, 0})}, {"value", float_attr(9.0f)}}, 2);
    ASSERT_TRUE(v2.ok()) << v2.status().to_string();
    EXPECT_EQ((*v2)[0].to_vector<float>(), (std::vector<float>{9, 0, 1, 2, 9, 3, 4, 5, 9, 9, 9, 9}));
}

TEST(RefPad, IntegerDataAndErrors) {
    Tensor x = Tensor::from_vector<int8_t>({3}, {-5, 0, 5});
    auto r = run_node("Pad", {x, Tensor::from_vector<int64_t>({2}, {1, 1}), Tensor::scalar<int8_t>(-128)});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<int8_t>(), (std::vector<int8_t>{-128, -5, 0, 5, -128}));

    auto count = run_node("Pad", {x, Tensor::from_vector<int64_t>({1}, {1})});
    ASSERT_FALSE(count.ok());
    EXPECT_NE(count.status().message().find("pads has 1 values, expected 2"), std::string::npos);
    auto dtype = run_node("Pad", {x, Tensor::from_vector<int64_t>({2}, {1, 1}), Tensor::scalar<float>(0.0f)});
    ASSERT_FALSE(dtype.ok());
    EXPECT_NE(dtype.status().message().find("constant_value has dtype f32"), std::string::npos);
    auto crop = run_node("Pad", {x, Tensor::from_vector<int64_t>({2}, {-2, -2})});
    ASSERT_FALSE(crop.ok());
    EXPECT_NE(crop.status().message().find("crop more than"), std::string::npos);
}

TEST(RefSizes, AbsurdOutputSizesAreErrorsNotAborts) {
    Tensor x = iota({2, 2});
    auto resize = run_node("Resize", {x, Tensor(), Tensor(), Tensor::from_vector<int64_t>({2}, {int64_t{1} << 40, 2})});
    ASSERT_FALSE(resize.ok());
    EXPECT_NE(resize.status().message().find("larger than"), std::string::npos) << resize.status().message();
    auto scales = run_node("Resize", {x, Tensor(), Tensor::from_vector<float>({2}, {1e30f, 1.0f})});
    ASSERT_FALSE(scales.ok());
    auto pad = run_node("Pad", {x, Tensor::from_vector<int64_t>({4}, {0, 0, int64_t{1} << 20, int64_t{1} << 20})});
    ASSERT_FALSE(pad.ok());
    EXPECT_NE(pad.status().message().find("larger than"), std::string::npos) << pad.status().message();
    auto ct = run_node("ConvTranspose", {random_tensor({1, 1, 2, 2}, 80), random_tensor({1, 1, 2, 2}, 81)},
                       {{"output_shape", ints({int64_t{1} << 20, int64_t{1} << 20})}});
    ASSERT_FALSE(ct.ok());
    EXPECT_NE(ct.status().message().find("larger than"), std::string::npos) << ct.status().message();
}

}  // namespace
}  // namespace qat
