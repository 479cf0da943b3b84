// Fake quantization against values computed here: forward = clamp(round_half_even(x / s)) * s,
// the straight-through gradient (1 inside the clip range, 0 outside), weights per channel in the
// narrow range, the moving ranges (last-batch, ema) and the learned (LSQ) scale's gradient.
#include "train/fake_quant.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using qat::train::QuantizerState;
using qat::train::RangeMode;
using qat::train::detail::FakeQuantConfig;
using qat::train::detail::FakeQuantizer;

namespace {

at::Tensor leaf(const std::vector<float>& v, std::vector<int64_t> dims) {
    at::Tensor t = at::empty(dims, at::TensorOptions().dtype(at::kFloat));
    std::copy(v.begin(), v.end(), t.data_ptr<float>());
    t.set_requires_grad(true);
    return t;
}

std::vector<float> values(const at::Tensor& t) {
    at::Tensor c = t.detach().contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The engine's QuantizeLinear -> DequantizeLinear, in double.
float qdq(float x, float s, int qmin, int qmax) {
    double q = std::nearbyint(static_cast<double>(x) / s);  // FE_TONEAREST: ties to even
    q = std::min<double>(qmax, std::max<double>(qmin, q));
    return static_cast<float>(q * s);
}

FakeQuantConfig activation(float scale, RangeMode mode) {
    FakeQuantConfig c;
    c.name = "q";
    c.tensor = "x";
    c.mode = mode;
    c.initial_scale = {scale};
    return c;
}

}  // namespace

TEST(FakeQuant, ActivationForwardRoundsHalfToEvenAndClips) {
    // Scale 0.5: every x / s below is exact, so the ties are real ties.
    FakeQuantizer q(activation(0.5f, RangeMode::kFixed));
    std::vector<float> x = {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 3.1f, 63.5f, 63.75f, 100.0f, -64.0f, -64.25f, -90.0f};
    at::Tensor y = q.forward(leaf(x, {static_cast<int64_t>(x.size())}), /*training=*/true);
    std::vector<float> got = values(y);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(got[i], qdq(x[i], 0.5f, -128, 127)) << "x = " << x[i];
    // The ties: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
    EXPECT_EQ(got[0], 0.0f);
    EXPECT_EQ(got[1], 1.0f);
    EXPECT_EQ(got[2], 1.0f);
}

TEST(FakeQuant, StraightThroughGradientIsOneInsideTheClipRangeAndZeroOutside) {
    const float s = 0.1f;  // range [-12.8, 12.7]
    FakeQuantizer q(activation(s, RangeMode::kFixed));
    std::vector<float> x;
    for (int i = -200; i <= 200; ++i) x.push_back(static_cast<float>(i) * 0.1f + 0.013f);
    at::Tensor xt = leaf(x, {static_cast<int64_t>(x.size())});
    at::Tensor y = q.forward(xt, /*training=*/true);
    // d(sum(y * c)) / dx = c where x passes, 0 where clipped: c makes a wrong index visible.
    at::Tensor c = at::arange(1, static_cast<int64_t>(x.size()) + 1, at::TensorOptions().dtype(at::kFloat));
    (y * c).sum().backward();
    std::vector<float> g = values(xt.grad());
    int inside = 0, outside = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double r = std::nearbyint(static_cast<double>(x[i]) / s);
        const bool in = r >= -128 && r <= 127;
        inside += in;
        outside += !in;
        EXPECT_EQ(g[i], in ? static_cast<float>(i + 1) : 0.0f) << "x = " << x[i];
    }
    EXPECT_GT(inside, 200);
    EXPECT_GT(outside, 100);
}

TEST(FakeQuant, WeightsPerChannelNarrowRangeFollowTheWeights) {
    FakeQuantConfig c;
    c.name = "w_q";
    c.tensor = "w";
    c.weight = true;
    c.axis = 0;
    c.channels = 3;
    c.qmin = -127;
    c.qmax = 127;
    c.initial_scale = {1.0f, 1.0f, 1.0f};  // stale: weight ranges follow the current weights
    FakeQuantizer q(c);
    std::vector<float> w = {0.3f, -1.27f, 0.011f, 0.5f, 2.0f, -0.7f, 0.04f, -0.0101f, 0.002f, 0.0f, 5.0f, -4.99f};
    at::Tensor wt = leaf(w, {3, 4});
    at::Tensor y = q.forward(wt, /*training=*/true);
    std::vector<float> got = values(y);
    for (int ch = 0; ch < 3; ++ch) {
        float amax = 0;
        for (int k = 0; k < 4; ++k) amax = std::max(amax, std::fabs(w[ch * 4 + k]));
        const float s = amax / 127.0f;
        for (int k = 0; k < 4; ++k) {
            const float want = qdq(w[ch * 4 + k], s, -127, 127);
            // libtorch multiplies by 1/s: allow one float ulp of the result.
            EXPECT_NEAR(got[ch * 4 + k], want, std::fabs(want) * 2e-7f + 1e-12f) << "channel " << ch << " k " << k;
        }
    }
    // The range is the weights' own max: nothing clips, the gradient is the identity.
    y.sum().backward();
    for (float g : values(wt.grad())) EXPECT_EQ(g, 1.0f);
    std::vector<float> scales = q.current_scale(wt.detach());
    ASSERT_EQ(scales.size(), 3u);
    EXPECT_FLOAT_EQ(scales[1], 2.0f / 127.0f);
}

TEST(FakeQuant, LastBatchAndEmaRangesMove) {
    std::vector<float> x = {0.5f, -6.35f, 2.0f};
    FakeQuantizer last(activation(0.01f, RangeMode::kLastBatch));
    last.forward(leaf(x, {3}), /*training=*/true);
    ASSERT_EQ(last.scale.size(), 1u);
    EXPECT_FLOAT_EQ(last.scale[0], 6.35f / 127.0f);

    FakeQuantConfig ec = activation(0.01f, RangeMode::kEma);
    ec.ema_momentum = 0.25f;
    FakeQuantizer ema(ec);
    ema.forward(leaf(x, {3}), /*training=*/true);
    EXPECT_FLOAT_EQ(ema.scale[0], 0.01f + 0.25f * (6.35f / 127.0f - 0.01f));
    // Evaluation does not move ranges.
    ema.forward(leaf({100.0f}, {1}), /*training=*/false);
    EXPECT_FLOAT_EQ(ema.scale[0], 0.01f + 0.25f * (6.35f / 127.0f - 0.01f));

    FakeQuantizer fixed(activation(0.01f, RangeMode::kFixed));
    fixed.forward(leaf(x, {3}), /*training=*/true);
    EXPECT_EQ(fixed.scale[0], 0.01f);
}

TEST(FakeQuant, CalibrateAndDisabledPassThrough) {
    FakeQuantizer q(activation(0.01f, RangeMode::kFixed));
    q.cfg.state = QuantizerState::kCalibrate;
    std::vector<float> x = {0.123f, -3.0f, 7.77f};
    EXPECT_EQ(values(q.forward(leaf(x, {3}), false)), x);
    EXPECT_FLOAT_EQ(q.scale[0], 7.77f / 127.0f);
    q.cfg.state = QuantizerState::kDisabled;
    EXPECT_EQ(values(q.forward(leaf(x, {3}), true)), x);
}

TEST(FakeQuant, LearnedScaleGetsAGradientThatWidensAClippingRange) {
    // Most of x lies far outside [-128 s, 127 s]: the squared error falls as s grows, so its
    // gradient with respect to s is negative, and x's own gradient is still the STE mask.
    FakeQuantizer q(activation(0.01f, RangeMode::kLearned));
    ASSERT_TRUE(q.learned_scale.defined());
    ASSERT_TRUE(q.learned_scale.requires_grad());
    EXPECT_FLOAT_EQ(values(q.learned_scale)[0], 0.01f);
    std::vector<float> x;
    for (int i = 0; i < 64; ++i) x.push_back(std::sin(static_cast<float>(i)) * 4.0f);
    at::Tensor xt = leaf(x, {64});
    at::Tensor y = q.forward(xt, /*training=*/true);
    (y - xt.detach()).pow(2).sum().backward();
    ASSERT_TRUE(q.learned_scale.grad().defined());
    const float gs = values(q.learned_scale.grad())[0];
    EXPECT_TRUE(std::isfinite(gs));
    EXPECT_LT(gs, 0.0f) << "a wider range must lower the clipping error";
    std::vector<float> gx = values(xt.grad());
    for (size_t i = 0; i < x.size(); ++i) {
        const double r = std::nearbyint(static_cast<double>(x[i]) / 0.01);
        if (r < -128 || r > 127) {
            EXPECT_EQ(gx[i], 0.0f) << "x = " << x[i];
        }
    }
}

TEST(FakeQuant, LearnedPerChannelScalesEachGetAGradient) {
    FakeQuantConfig c;
    c.name = "w_q";
    c.tensor = "w";
    c.weight = true;
    c.axis = 0;
    c.channels = 2;
    c.qmin = -127;
    c.qmax = 127;
    c.mode = RangeMode::kLearned;
    c.initial_scale = {0.001f, 0.002f};
    FakeQuantizer q(c);
    at::Tensor w = leaf({0.5f, -0.3f, 0.77f, 0.9f, -1.1f, 0.05f}, {2, 3});
    (q.forward(w, true) - w.detach()).pow(2).sum().backward();
    std::vector<float> g = values(q.learned_scale.grad());
    ASSERT_EQ(g.size(), 2u);
    for (float v : g) {
        EXPECT_TRUE(std::isfinite(v));
        EXPECT_NE(v, 0.0f);
    }
}
