// Conv / ConvTranspose on the reference backend against formulas written here: an explicitly
// zero-padded input for Conv, and "zero-upsample + flipped kernel + Conv" for ConvTranspose.
#include <gtest/gtest.h>

#include "backends/ref/ref_conv_util.h"
#include "ref_test_util.h"

namespace qat {
namespace {

using testing::int_attr;
using testing::ints;
using testing::random_tensor;
using testing::run_node;
using testing::str;

struct Conv2dCase {
    int64_t n, c, h, w, m, kh, kw, group;
    std::vector<int64_t> strides, dilations, pads;  // pads: top, left, bottom, right
};

// y[n,m,oh,ow] = b[m] + sum_{c in group(m), i, j} xpad[n, c, oh*sh + i*dh, ow*sw + j*dw] * w[m, c', i, j]
std::vector<float> naive_conv2d(const Conv2dCase& p, const Tensor& x, const Tensor& w, const Tensor* b,
                                std::vector<int64_t>* out_dims) {
    const int64_t hp = p.h + p.pads[0] + p.pads[2], wp = p.w + p.pads[1] + p.pads[3];
    std::vector<float> xpad(static_cast<size_t>(p.n * p.c * hp * wp), 0.0f);
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t c = 0; c < p.c; ++c)
            for (int64_t i = 0; i < p.h; ++i)
                for (int64_t j = 0; j < p.w; ++j)
                    xpad[((n * p.c + c) * hp + i + p.pads[0]) * wp + j + p.pads[1]] =
                        x.data<float>()[((n * p.c + c) * p.h + i) * p.w + j];
    const int64_t ekh = (p.kh - 1) * p.dilations[0] + 1, ekw = (p.kw - 1) * p.dilations[1] + 1;
    const int64_t oh = (hp - ekh) / p.strides[0] + 1, ow = (wp - ekw) / p.strides[1] + 1;
    *out_dims = {p.n, p.m, oh, ow};
    const int64_t cg = p.c / p.group, mg = p.m / p.group;
    std::vector<float> y;
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t m = 0; m < p.m; ++m)
            for (int64_t yo = 0; yo < oh; ++yo)
                for (int64_t xo = 0; xo < ow; ++xo) {
                    double acc = b ? b->data<float>()[m] : 0.0;
                    const int64_t g = m / mg;
                    for (int64_t cc = 0; cc < cg; ++cc)
                        for (int64_t i = 0; i < p.kh; ++i)
                            for (int64_t j = 0; j < p.kw; ++j) {
                                const int64_t c = g * cg + cc;
                                const int64_t yy = yo * p.strides[0] + i * p.dilations[0];
                                const int64_t xx = xo * p.strides[1] + j * p.dilations[1];
                                acc += xpad[((n * p.c + c) * hp + yy) * wp + xx] *
                                       w.data<float>()[((m * cg + cc) * p.kh + i) * p.kw + j];
                            }
                    y.push_back(static_cast<float>(acc));
                }
    return y;
}

void check_conv2d(const Conv2dCase& p, bool bias) {
    Tensor x = random_tensor({p.n, p.c, p.h, p.w}, 1);
    Tensor w = random_tensor({p.m, p.c / p.group, p.kh, p.kw}, 2);
    Tensor b = random_tensor({p.m}, 3);
    std::vector<int64_t> dims;
    auto want = naive_conv2d(p, x, w, bias ? &b : nullptr, &dims);
    auto got = run_node("Conv", {x, w, bias ? b : Tensor()},
                        {{"group", int_attr(p.group)},
                         {"strides", ints(p.strides)},
                         {"dilations", ints(p.dilations)},
                         {"pads", ints(p.pads)}});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    testing::expect_near((*got)[0], dims, want);
}

TEST(RefConv, PlainWithAsymmetricPadsStridesDilations) {
    check_conv2d({2, 3, 9, 7, 4, 3, 2, 1, {2, 1}, {1, 2}, {1, 0, 2, 1}}, true);
}

TEST(RefConv, GroupedMatchesNaiveFormula) {
    check_conv2d({1, 6, 8, 8, 4, 3, 3, 2, {1, 1}, {1, 1}, {1, 1, 1, 1}}, true);
    check_conv2d({2, 6, 7, 9, 9, 2, 3, 3, {2, 2}, {2, 1}, {0, 2, 1, 0}}, false);
}

TEST(RefConv, DepthwiseMatchesNaiveFormula) {
    check_conv2d({2, 5, 10, 10, 5, 3, 3, 5, {1, 1}, {1, 1}, {1, 1, 1, 1}}, true);
    check_conv2d({1, 4, 9, 9, 8, 3, 3, 4, {2, 2}, {1, 1}, {0, 0, 1, 1}}, false);  // depth multiplier 2
}

TEST(RefConv, AutoPadSameUpperAndLowerPutTheOddPixelOnOppositeSides) {
    // 6 wide, kernel 2, stride 1: total pad 1 -> SAME_UPPER pads the end, SAME_LOWER the start.
    Tensor x = random_tensor({1, 2, 5, 6}, 4);
    Tensor w = random_tensor({3, 2, 2, 2}, 5);
    Conv2dCase upper{1, 2, 5, 6, 3, 2, 2, 1, {1, 1}, {1, 1}, {0, 0, 1, 1}};
    Conv2dCase lower{1, 2, 5, 6, 3, 2, 2, 1, {1, 1}, {1, 1}, {1, 1, 0, 0}};
    std::vector<int64_t> dims;
    auto want_upper = naive_conv2d(upper, x, w, nullptr, &dims);
    auto got_upper = run_node("Conv", {x, w}, {{"auto_pad", str("SAME_UPPER")}});
    ASSERT_TRUE(got_upper.ok()) << got_upper.status().to_string();
    testing::expect_near((*got_upper)[0], {1, 3, 5, 6}, want_upper);
    auto want_lower = naive_conv2d(lower, x, w, nullptr, &dims);
    auto got_lower = run_node("Conv", {x, w}, {{"auto_pad", str("SAME_LOWER")}});
    ASSERT_TRUE(got_lower.ok()) << got_lower.status().to_string();
    testing::expect_near((*got_lower)[0], {1, 3, 5, 6}, want_lower);
    // VALID ignores pads.
    auto got_valid = run_node("Conv", {x, w}, {{"auto_pad", str("VALID")}, {"pads", ints({1, 1, 1, 1})}});
    ASSERT_TRUE(got_valid.ok()) << got_valid.status().to_string();
    EXPECT_EQ((*got_valid)[0].dims(), (std::vector<int64_t>{1, 3, 4, 5}));
}

TEST(RefConv, OneDimensionalEqualsTwoDimensionalWithUnitHeight) {
    Tensor x = random_tensor({2, 3, 11}, 6);
    Tensor w = random_tensor({4, 3, 3}, 7);
    auto got = run_node("Conv", {x, w}, {{"strides", ints({2})}, {"pads", ints({1, 2})}, {"dilations", ints({2})}});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    Conv2dCase p{2, 3, 1, 11, 4, 1, 3, 1, {1, 2}, {1, 2}, {0, 1, 0, 2}};
    std::vector<int64_t> dims;
    auto want = naive_conv2d(p, x.reshaped({2, 3, 1, 11}), w.reshaped({4, 3, 1, 3}), nullptr, &dims);
    testing::expect_near((*got)[0], {2, 4, dims[3]}, want);
}

TEST(RefConv, ThreeDimensionalMatchesSumOfTwoDimensionalSlices) {
    // A 3-D conv with kernel depth 2 and no depth padding = sum over kd of 2-D convs of slices.
    Tensor x = random_tensor({1, 2, 3, 5, 5}, 8);
    Tensor w = random_tensor({2, 2, 2, 3, 3}, 9);
    auto got = run_node("Conv", {x, w}, {{"pads", ints({0, 1, 1, 0, 1, 1})}});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    ASSERT_EQ((*got)[0].dims(), (std::vector<int64_t>{1, 2, 2, 5, 5}));
    Conv2dCase p{1, 2, 5, 5, 2, 3, 3, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}};
    for (int64_t od = 0; od < 2; ++od) {
        std::vector<float> sum(2 * 25, 0.0f);
        for (int64_t kd = 0; kd < 2; ++kd) {
            Tensor xs = Tensor::empty(DataType::kFloat32, {1, 2, 5, 5});
            Tensor ws = Tensor::empty(DataType::kFloat32, {2, 2, 3, 3});
            for (int64_t c = 0; c < 2; ++c)
                for (int64_t i = 0; i < 25; ++i)
                    xs.data<float>()[c * 25 + i] = x.data<float>()[(c * 3 + od + kd) * 25 + i];
            for (int64_t m = 0; m < 2; ++m)
                for (int64_t c = 0; c < 2; ++c)
                    for (int64_t i = 0; i < 9; ++i)
                        ws.data<float>()[(m * 2 + c) * 9 + i] = w.data<float>()[((m * 2 + c) * 2 + kd) * 9 + i];
            std::vector<int64_t> dims;
            auto part = naive_conv2d(p, xs, ws, nullptr, &dims);
            for (size_t i = 0; i < sum.size(); ++i) sum[i] += part[i];
        }
        for (int64_t m = 0; m < 2; ++m)
            for (int64_t i = 0; i < 25; ++i)
                EXPECT_NEAR((*got)[0].data<float>()[(m * 2 + od) * 25 + i], sum[m * 25 + i], 1e-5f);
    }
}

// ConvTranspose = Conv (stride 1) of the input upsampled with stride-1 zeros, padded by
// ek-1-pad_begin / ek-1-pad_end+output_padding, with W' [g*Mg+m, c, k] = W[g*Cg+c, m, flip(k)].
std::vector<float> naive_conv_transpose_2d(const Tensor& x, const Tensor& w, int64_t group, std::vector<int64_t> s,
                                           std::vector<int64_t> d, std::vector<int64_t> pads,
                                           std::vector<int64_t> out_pad, std::vector<int64_t>* out_dims) {
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    const int64_t mg = w.dim(1), kh = w.dim(2), kw = w.dim(3), cg = c / group, m = mg * group;
    const int64_t uh = (h - 1) * s[0] + 1, uw = (wd - 1) * s[1] + 1;
    Tensor up = Tensor::zeros(DataType::kFloat32, {n, c, uh, uw});
    for (int64_t i = 0; i < n * c; ++i)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t z = 0; z < wd; ++z)
                up.data<float>()[(i * uh + y * s[0]) * uw + z * s[1]] = x.data<float>()[(i * h + y) * wd + z];
    Tensor wf = Tensor::empty(DataType::kFloat32, {m, cg, kh, kw});
    for (int64_t g = 0; g < group; ++g)
        for (int64_t mm = 0; mm < mg; ++mm)
            for (int64_t cc = 0; cc < cg; ++cc)
                for (int64_t i = 0; i < kh; ++i)
                    for (int64_t j = 0; j < kw; ++j)
                        wf.data<float>()[(((g * mg + mm) * cg + cc) * kh + i) * kw + j] =
                            w.data<float>()[(((g * cg + cc) * mg + mm) * kh + kh - 1 - i) * kw + kw - 1 - j];
    const int64_t ekh = (kh - 1) * d[0] + 1, ekw = (kw - 1) * d[1] + 1;
    Conv2dCase p{
        n,
        c,
        uh,
        uw,
        m,
        kh,
        kw,
        group,
        {1, 1},
        d,
        {ekh - 1 - pads[0], ekw - 1 - pads[1], ekh - 1 - pads[2] + out_pad[0], ekw - 1 - pads[3] + out_pad[1]}};
    return naive_conv2d(p, up, wf, nullptr, out_dims);
}

TEST(RefConvTranspose, MatchesUpsampleAndFlippedConv) {
    Tensor x = random_tensor({2, 4, 4, 5}, 10);
    Tensor w = random_tensor({4, 3, 3, 2}, 11);  // group 2: C=4, M = 3*2 = 6
    std::vector<int64_t> dims;
    auto want = naive_conv_transpose_2d(x, w, 2, {2, 3}, {1, 2}, {1, 0, 0, 1}, {1, 2}, &dims);
    auto got = run_node("ConvTranspose", {x, w},
                        {{"group", int_attr(2)},
                         {"strides", ints({2, 3})},
                         {"dilations", ints({1, 2})},
                         {"pads", ints({1, 0, 0, 1})},
                         {"output_padding", ints({1, 2})}});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    testing::expect_near((*got)[0], dims, want);
}

TEST(RefConvTranspose, OutputShapeWinsOverPads) {
    Tensor x = random_tensor({1, 1, 3, 3}, 12);
    Tensor w = random_tensor({1, 2, 3, 3}, 13);
    // Full output 3*(3-1)+3 = 9 rows, 2*(3-1)+3 = 7 cols; ask 10 x 8: one extra zero row/col at the end.
    auto got = run_node("ConvTranspose", {x, w}, {{"strides", ints({3, 2})}, {"output_shape", ints({10, 8})}});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    std::vector<int64_t> dims;
    auto want = naive_conv_transpose_2d(x, w, 1, {3, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, &dims);
    testing::expect_near((*got)[0], dims, want);
}

TEST(RefConv, ShapeErrorsNameTheNodeAndShapes) {
    Tensor x = random_tensor({1, 3, 8, 8}, 14);
    Tensor w = random_tensor({4, 2, 3, 3}, 15);
    auto r = run_node("Conv", {x, w});
    ASSERT_FALSE(r.ok());
    const std::string m = r.status().to_string();
    EXPECT_NE(m.find("Conv 'node'"), std::string::npos) << m;
    EXPECT_NE(m.find("[1,3,8,8]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4,2,3,3]"), std::string::npos) << m;

    auto bad_group = run_node("Conv", {x, random_tensor({4, 1, 3, 3}, 16)}, {{"group", int_attr(3)}});
    ASSERT_FALSE(bad_group.ok());
    EXPECT_NE(bad_group.status().message().find("divisible"), std::string::npos) << bad_group.status().message();

    auto small = run_node("Conv", {random_tensor({1, 3, 2, 2}, 17), random_tensor({4, 3, 3, 3}, 18)});
    ASSERT_FALSE(small.ok());
    EXPECT_NE(small.status().message().find("smaller than"), std::string::npos) << small.status().message();

    auto bad_bias = run_node("Conv", {x, random_tensor({4, 3, 3, 3}, 19), random_tensor({3}, 20)});
    ASSERT_FALSE(bad_bias.ok());
    EXPECT_NE(bad_bias.status().message().find("B has shape [3]"), std::string::npos);

    auto bad_strides = run_node("Conv", {x, random_tensor({4, 3, 3, 3}, 21)}, {{"strides", ints({1})}});
    ASSERT_FALSE(bad_strides.ok());
    EXPECT_NE(bad_strides.status().message().find("strides has 1 values, expected 2"), std::string::npos);
}

TEST(RefConvUtil, WindowOutputSizeAndSamePads) {
    // floor((5 + 1 + 1 - 3) / 2) + 1 = 3
    EXPECT_EQ(ref::window_output_size(5, 3, 2, 1, 1, 1, false), 3);
    // ceil((6 - 3) / 2) + 1 = 3 (floor gives 2)
    EXPECT_EQ(ref::window_output_size(6, 3, 2, 1, 0, 0, false), 2);
    EXPECT_EQ(ref::window_output_size(6, 3, 2, 1, 0, 0, true), 3);
    // ceil mode: a last window starting in the end padding is dropped:
    // in 4, k 2, s 2, pads 1/1 -> ceil((6-2)/2)+1 = 3, third window starts at 4-1=3 (inside) -> 3;
    // in 5, k 2, s 3, pad end 1: ceil((6-2)/3)+1 = 3, third window starts at 6 >= 5 -> 2.
    EXPECT_EQ(ref::window_output_size(4, 2, 2, 1, 1, 1, true), 3);
    EXPECT_EQ(ref::window_output_size(5, 2, 3, 1, 0, 1, true), 2);
    // Dilation: effective kernel (3-1)*2+1 = 5.
    EXPECT_EQ(ref::window_output_size(7, 3, 1, 2, 0, 0, false), 3);

    int64_t b = -1, e = -1;
    ref::same_pads(7, 4, 2, 1, ref::AutoPad::kSameUpper, &b, &e);  // out 4, total 3*2+4-7 = 3
    EXPECT_EQ(b, 1);
    EXPECT_EQ(e, 2);
    ref::same_pads(7, 4, 2, 1, ref::AutoPad::kSameLower, &b, &e);
    EXPECT_EQ(b, 2);
    EXPECT_EQ(e, 1);
}

}  // namespace
}  // namespace qat
