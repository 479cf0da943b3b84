// Pooling on the reference backend against a naive formula written here over an explicitly
// padded input (NaN marks padding), for ceil_mode, pads, dilations and count_include_pad.
#include <gtest/gtest.h>

#include <limits>

#include "ref_test_util.h"

namespace qat {
namespace {

using testing::int_attr;
using testing::ints;
using testing::random_tensor;
using testing::run_node;

struct Pool2dCase {
    int64_t h, w, kh, kw;
    std::vector<int64_t> strides, dilations, pads;  // pads: top, left, bottom, right
    bool ceil_mode;
};

// Output size: floor or ceil of (padded - ek) / s + 1; with ceil, a window that starts past
// the input plus the begin pad is dropped.
int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode) {
    const double span = static_cast<double>(in + pb + pe - ((k - 1) * d + 1)) / s;
    int64_t o = static_cast<int64_t>(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
    if (ceil_mode && (o - 1) * s >= in + pb) --o;
    return o;
}

// One plane. kind: 0 max, 1 avg excluding pad, 2 avg including pad.
std::vector<float> naive_pool(const Pool2dCase& p, const float* x, int kind, int64_t* oh, int64_t* ow) {
    const float kPad = std::numeric_limits<float>::quiet_NaN();
    const int64_t hp = p.h + p.pads[0] + p.pads[2], wp = p.w + p.pads[1] + p.pads[3];
    std::vector<float> xp(static_cast<size_t>(hp * wp), kPad);
    for (int64_t i = 0; i < p.h; ++i)
        for (int64_t j = 0; j < p.w; ++j) xp[(i + p.pads[0]) * wp + j + p.pads[1]] = x[i * p.w + j];
    *oh = out_size(p.h, p.kh, p.strides[0], p.dilations[0], p.pads[0], p.pads[2], p.ceil_mode);
    *ow = out_size(p.w, p.kw, p.strides[1], p.dilations[1], p.pads[1], p.pads[3], p.ceil_mode);
    std::vector<float> y;
    for (int64_t a = 0; a < *oh; ++a)
        for (int64_t b = 0; b < *ow; ++b) {
            float best = -std::numeric_limits<float>::infinity();
            double sum = 0;
            int64_t real = 0, in_padded = 0;
            for (int64_t i = 0; i < p.kh; ++i)
                for (int64_t j = 0; j < p.kw; ++j) {
                    const int64_t yy = a * p.strides[0] + i * p.dilations[0];
                    const int64_t xx = b * p.strides[1] + j * p.dilations[1];
                    if (yy >= hp || xx >= wp) continue;  // beyond the padded input (ceil_mode)
                    ++in_padded;
                    const float v = xp[yy * wp + xx];
                    if (std::isnan(v)) continue;
                    best = std::max(best, v);
                    sum += v;
                    ++real;
                }
            y.push_back(kind == 0 ? best : static_cast<float>(sum / (kind == 1 ? real : in_padded)));
        }
    return y;
}

void check_pool(const Pool2dCase& p, const std::string& op, int kind) {
    Tensor x = random_tensor({2, 3, p.h, p.w}, 40);
    std::map<std::string, ir::Attribute> attrs{{"kernel_shape", ints({p.kh, p.kw})},
                                               {"strides", ints(p.strides)},
                                               {"pads", ints(p.pads)},
                                               {"ceil_mode", int_attr(p.ceil_mode)}};
    if (op == "MaxPool") attrs["dilations"] = ints(p.dilations);
    if (kind == 2) attrs["count_include_pad"] = int_attr(1);
    auto got = run_node(op, {x}, attrs);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    std::vector<float> want;
    int64_t oh = 0, ow = 0;
    for (int64_t plane = 0; plane < 6; ++plane) {
        auto part = naive_pool(p, x.data<float>() + plane * p.h * p.w, kind, &oh, &ow);
        want.insert(want.end(), part.begin(), part.end());
    }
    testing::expect_near((*got)[0], {2, 3, oh, ow}, want);
}

TEST(RefPool, MaxPoolPadsStridesDilationsCeil) {
    check_pool({7, 8, 3, 2, {2, 3}, {1, 1}, {1, 0, 1, 1}, false}, "MaxPool", 0);
    check_pool({7, 8, 3, 2, {2, 3}, {1, 1}, {1, 0, 1, 1}, true}, "MaxPool", 0);
    check_pool({9, 9, 2, 3, {2, 2}, {2, 2}, {1, 1, 0, 2}, true}, "MaxPool", 0);
}

TEST(RefPool, AveragePoolCountIncludePad) {
    for (int kind : {1, 2}) {
        check_pool({6, 7, 3, 3, {2, 2}, {1, 1}, {1, 2, 2, 1}, false}, "AveragePool", kind);
        check_pool({6, 7, 3, 3, {2, 2}, {1, 1}, {1, 2, 2, 1}, true}, "AveragePool", kind);
        check_pool({5, 5, 2, 2, {2, 2}, {1, 1}, {0, 0, 0, 0}, true}, "AveragePool", kind);
    }
}

TEST(RefPool, MaxPoolIntegerTypes) {
    Tensor u8 = Tensor::from_vector<uint8_t>({1, 1, 2, 3}, {1, 200, 3, 255, 5, 0});
    auto r = run_node("MaxPool", {u8}, {{"kernel_shape", ints({2, 2})}, {"pads", ints({0, 0, 0, 1})}});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<uint8_t>(), (std::vector<uint8_t>{255, 200, 3}));
    Tensor i8 = Tensor::from_vector<int8_t>({1, 1, 4}, {-128, -100, 5, -7});
    auto s = run_node("MaxPool", {i8}, {{"kernel_shape", ints({2})}, {"strides", ints({2})}});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ((*s)[0].to_vector<int8_t>(), (std::vector<int8_t>{-100, 5}));
}

TEST(RefPool, GlobalPools) {
    Tensor x = random_tensor({2, 3, 4, 5}, 41);
    auto avg = run_node("GlobalAveragePool", {x});
    auto mx = run_node("GlobalMaxPool", {x});
    ASSERT_TRUE(avg.ok() && mx.ok());
    std::vector<float> want_avg, want_max;
    for (int64_t p = 0; p < 6; ++p) {
        double sum = 0;
        float best = -1e30f;
        for (int64_t i = 0; i < 20; ++i) {
            sum += x.data<float>()[p * 20 + i];
            best = std::max(best, x.data<float>()[p * 20 + i]);
        }
        want_avg.push_back(static_cast<float>(sum / 20));
        want_max.push_back(best);
    }
    testing::expect_near((*avg)[0], {2, 3, 1, 1}, want_avg);
    testing::expect_near((*mx)[0], {2, 3, 1, 1}, want_max);
}

TEST(RefPool, AutoPadSameUpperMatchesExplicitPads) {
    // 5 wide, kernel 2, stride 2: out 3, total pad 1 -> at the end for SAME_UPPER.
    Tensor x = random_tensor({1, 1, 5, 5}, 42);
    auto same =
        run_node("AveragePool", {x},
                 {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"auto_pad", testing::str("SAME_UPPER")}});
    auto expl = run_node("AveragePool", {x},
                         {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"pads", ints({0, 0, 1, 1})}});
    ASSERT_TRUE(same.ok() && expl.ok());
    EXPECT_TRUE((*same)[0].equals((*expl)[0]));
}

TEST(RefPool, BadInputIsRefused) {
    Tensor x = random_tensor({1, 1, 4, 4}, 43);
    auto no_kernel = run_node("MaxPool", {x});
    ASSERT_FALSE(no_kernel.ok());
    EXPECT_NE(no_kernel.status().message().find("kernel_shape"), std::string::npos);
    auto big_pad = run_node("MaxPool", {x}, {{"kernel_shape", ints({2, 2})}, {"pads", ints({2, 0, 0, 0})}});
    ASSERT_FALSE(big_pad.ok());
    EXPECT_NE(big_pad.status().message().find("smaller than the (dilated) kernel"), std::string::npos);
    auto rank = run_node("AveragePool", {random_tensor({4, 4}, 44)}, {{"kernel_shape", ints({2, 2})}});
    ASSERT_FALSE(rank.ok());
    EXPECT_NE(rank.status().message().find("[4,4]"), std::string::npos);
}

TEST(RefPool, MaxPoolIndicesOutputIsDeclinedWithReason) {
    Tensor x = random_tensor({1, 1, 4, 4}, 45);
    auto r = run_node("MaxPool", {x}, {{"kernel_shape", ints({2, 2})}}, 13, 2);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("Indices"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace qat
