// The vectorized per-tensor fake quantization (train/fast_fake_quant.h) against libtorch's own
// kernels as the oracle: the same forward values and straight-through gradient bit for bit, and
// LSQ's scale gradient to float-summation accuracy, over values that hit ties, the clip bounds and
// far outside them.
#include "train/fast_fake_quant.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <vector>

#include "core/quant_params.h"

using qat::train::detail::fake_quant_learnable_per_tensor;
using qat::train::detail::fake_quant_learnable_weight_per_channel;
using qat::train::detail::fake_quant_per_tensor;
using qat::train::detail::fake_quant_weight_per_channel;

namespace {

// Normal values at several multiples of the clip range, exact ties (k + 0.5) * s and huge values.
at::Tensor test_input(float scale, int64_t n) {
    at::manual_seed(7);
    at::Tensor x = at::randn({n}) * (scale * 100.0f);
    x.slice(0, 0, n / 4).mul_(4.0f);  // a quarter far outside the clip range
    float* p = x.data_ptr<float>();
    for (int64_t i = 0; i < 64; ++i) p[i] = (static_cast<float>(i) - 32.0f + 0.5f) * scale;
    // Far outside, but with x / s inside int64: libtorch casts round(x / s) to int64, which is
    // undefined beyond that (on x86 +1e30 comes out as the minimum), so the oracle stops there.
    p[64] = 1e7f * scale;
    p[65] = -1e7f * scale;
    p[66] = 0.0f;
    p[67] = -0.0f;
    return x;
}

void expect_bitwise(const at::Tensor& a, const at::Tensor& b, const char* what) {
    ASSERT_EQ(a.numel(), b.numel());
    at::Tensor ac = a.contiguous(), bc = b.contiguous();
    const float* pa = ac.data_ptr<float>();
    const float* pb = bc.data_ptr<float>();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < a.numel(); ++i) mismatches += pa[i] != pb[i];
    EXPECT_EQ(mismatches, 0) << what;
}

struct Case {
    float scale;
    int64_t zero_point, qmin, qmax;
};

}  // namespace

TEST(FastFakeQuant, MatchesLibtorchForwardAndStraightThroughGradient) {
    // 300k elements: several blocks, so the threaded path runs too.
    for (const Case& c : {Case{0.5f, 0, -128, 127}, Case{0.0137f, 0, -128, 127}, Case{0.02f, 0, -127, 127},
                          Case{0.031f, 3, -128, 127}, Case{1.7e-3f, -5, -128, 127}}) {
        at::Tensor x = test_input(c.scale, 300000);
        at::Tensor xa = x.clone().set_requires_grad(true);
        at::Tensor xb = x.clone().set_requires_grad(true);
        at::Tensor ya = fake_quant_per_tensor(xa, c.scale, c.zero_point, c.qmin, c.qmax);
        at::Tensor yb = at::fake_quantize_per_tensor_affine(xb, c.scale, c.zero_point, c.qmin, c.qmax);
        expect_bitwise(ya, yb, "forward");
        at::Tensor g = at::randn_like(x);
        at::Tensor ga = torch::autograd::grad({ya}, {xa}, {g})[0];
        at::Tensor gb = torch::autograd::grad({yb}, {xb}, {g})[0];
        expect_bitwise(ga, gb, "gradient");
        // Without autograd (evaluation) the same values.
        expect_bitwise(fake_quant_per_tensor(x, c.scale, c.zero_point, c.qmin, c.qmax), yb, "no-grad forward");
        // A clear share of the values is clipped, so the mask is really exercised.
        const double zero_grads = (gb == 0).sum().item<double>();
        EXPECT_GT(zero_grads, 1000.0) << "scale " << c.scale;
    }
}

TEST(FastFakeQuant, LearnableMatchesLibtorch) {
    for (const Case& c : {Case{0.05f, 0, -128, 127}, Case{0.0123f, 0, -127, 127}}) {
        at::Tensor x = test_input(c.scale, 200000);
        const double grad_factor = 1.0 / std::sqrt(200000.0 * c.qmax);
        at::Tensor xa = x.clone().set_requires_grad(true), xb = x.clone().set_requires_grad(true);
        at::Tensor sa = at::full({1}, c.scale).set_requires_grad(true);
        at::Tensor sb = at::full({1}, c.scale).set_requires_grad(true);
        at::Tensor ya = fake_quant_learnable_per_tensor(xa, sa, c.qmin, c.qmax, grad_factor);
        at::Tensor yb =
            at::_fake_quantize_learnable_per_tensor_affine(xb, sb, at::zeros({1}), c.qmin, c.qmax, grad_factor);
        expect_bitwise(ya, yb, "forward");
        at::Tensor g = at::randn_like(x);
        auto da = torch::autograd::grad({ya}, {xa, sa}, {g});
        auto db = torch::autograd::grad({yb}, {xb, sb}, {g});
        expect_bitwise(da[0], db[0], "input gradient");
        const float ds_a = da[1].item<float>(), ds_b = db[1].item<float>();
        EXPECT_NE(ds_b, 0.0f);
        // libtorch sums 200k float terms; we sum them in double: agreement to float-sum accuracy.
        EXPECT_NEAR(ds_a, ds_b, 1e-4 * std::abs(ds_b) + 1e-6) << "scale " << c.scale;
    }
}

TEST(FastFakeQuant, ScaleGradientIndependentOfThreadCount) {
    at::Tensor x = test_input(0.03f, 250000);
    at::Tensor g = at::randn_like(x);
    std::vector<float> ds;
    const int before = at::get_num_threads();
    for (int threads : {1, 2}) {
        at::set_num_threads(threads);
        at::Tensor xa = x.clone().set_requires_grad(true);
        at::Tensor s = at::full({1}, 0.03f).set_requires_grad(true);
        at::Tensor y = fake_quant_learnable_per_tensor(xa, s, -128, 127, 1e-3);
        ds.push_back(torch::autograd::grad({y}, {s}, {g})[0].item<float>());
    }
    at::set_num_threads(before);
    EXPECT_EQ(ds[0], ds[1]);
}

TEST(FastFakeQuant, HugeValuesClipToTheBoundsWithZeroGradient) {
    // Beyond libtorch's defined range: the analytic answer is the clip bound, gradient 0.
    at::Tensor x = at::tensor({1e30f, -1e30f, 3e38f, -3e38f}).set_requires_grad(true);
    at::Tensor y = fake_quant_per_tensor(x, 0.1f, 0, -128, 127);
    at::Tensor g = torch::autograd::grad({y.sum()}, {x})[0];
    EXPECT_EQ(y[0].item<float>(), 127 * 0.1f);
    EXPECT_EQ(y[1].item<float>(), -128 * 0.1f);
    EXPECT_EQ(y[2].item<float>(), 127 * 0.1f);
    EXPECT_EQ(y[3].item<float>(), -128 * 0.1f);
    EXPECT_EQ(g.abs().sum().item<float>(), 0.0f);
}

TEST(FastFakeQuant, WeightPerChannelMatchesLibtorchWithTheWeightsOwnRange) {
    at::manual_seed(3);
    at::Tensor w = at::randn({24, 8, 3, 3}) * 0.1f;
    w[5].mul_(40.0f);  // one channel with a much larger range
    w[7].zero_();      // an all-zero channel (symmetric_scale's floor)
    at::Tensor wa = w.clone().set_requires_grad(true), wb = w.clone().set_requires_grad(true);
    std::vector<float> scales;
    at::Tensor ya = fake_quant_weight_per_channel(wa, -127, 127, &scales);
    ASSERT_EQ(scales.size(), 24u);
    // The oracle: libtorch's per-channel kernel with scales from max |w_c| / 127.
    at::Tensor amax = w.reshape({24, -1}).abs().amax(1);
    std::vector<float> want(24);
    for (int64_t c = 0; c < 24; ++c) want[static_cast<size_t>(c)] = qat::symmetric_scale(amax[c].item<float>());
    for (size_t c = 0; c < 24; ++c) EXPECT_EQ(scales[c], want[c]) << "channel " << c;
    at::Tensor st = at::from_blob(want.data(), {24}, at::kFloat).clone();
    at::Tensor yb = at::fake_quantize_per_channel_affine(wb, st, at::zeros({24}, at::kInt), 0, -127, 127);
    expect_bitwise(ya, yb, "forward");
    at::Tensor g = at::randn_like(w);
    expect_bitwise(torch::autograd::grad({ya}, {wa}, {g})[0], torch::autograd::grad({yb}, {wb}, {g})[0], "gradient");
}

TEST(FastFakeQuant, LearnableWeightPerChannelMatchesLibtorch) {
    at::manual_seed(9);
    at::Tensor w = at::randn({12, 6, 3, 3}) * 0.2f;
    // Scales that clip some channels (small) and leave others with headroom (large).
    at::Tensor s0 = at::rand({12}) * 0.004f + 0.0005f;
    const double grad_factor = 1.0 / std::sqrt(54.0 * 127.0);
    at::Tensor wa = w.clone().set_requires_grad(true), wb = w.clone().set_requires_grad(true);
    at::Tensor sa = s0.clone().set_requires_grad(true), sb = s0.clone().set_requires_grad(true);
    at::Tensor ya = fake_quant_learnable_weight_per_channel(wa, sa, -127, 127, grad_factor);
    at::Tensor yb = at::_fake_quantize_learnable_per_channel_affine(wb, sb, at::zeros({12}), 0, -127, 127, grad_factor);
    expect_bitwise(ya, yb, "forward");
    at::Tensor g = at::randn_like(w);
    auto da = torch::autograd::grad({ya}, {wa, sa}, {g});
    auto db = torch::autograd::grad({yb}, {wb, sb}, {g});
    expect_bitwise(da[0], db[0], "weight gradient");
    EXPECT_GT((db[0] == 0).sum().item<int64_t>(), 0) << "no weight was clipped: the mask is not exercised";
    for (int64_t c = 0; c < 12; ++c) {
        const float a = da[1][c].item<float>(), b = db[1][c].item<float>();
        EXPECT_NEAR(a, b, 1e-4 * std::abs(b) + 1e-7) << "channel " << c;
    }
}
