#include "train/fast_fake_quant.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/quant_params.h"

namespace qat::train::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Work is cut into fixed blocks, independent of the thread count, so the scale gradient's sum is
// the same on 1 or N threads (the bitwise-resume guarantee of docs/TRAIN.md).
constexpr int64_t kBlock = 16384;

// Round half to even by the 1.5 * 2^23 trick: exact for |v| <= 2^22 under the default rounding
// mode, and unlike std::nearbyint it vectorizes. Callers clamp v to +-2^22 first (anything that
// large is far outside any int8 clip range, so the clamp changes no result).
constexpr float kRoundMagic = 12582912.0f;
constexpr float kRoundLimit = 4194304.0f;

inline float round_half_even(float v) {
    v = std::min(std::max(v, -kRoundLimit), kRoundLimit);
    return (v + kRoundMagic) - kRoundMagic;
}

// The loops below are built for AVX-512, AVX2 and baseline x86-64, picked at load time (GCC's
// function multi-versioning): the passes are compute bound at SSE2 width on small tensors.
#if defined(__x86_64__) && defined(__GNUC__)
#define QAT_FQ_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QAT_FQ_CLONES
#endif

template <typename Fn>
void for_blocks(int64_t n, Fn fn) {
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) fn(b, b * kBlock, std::min(n, (b + 1) * kBlock));
    });
}

// One block of y and (when mask is non-null) the straight-through mask. lo / hi: the clip range
// minus the zero point, so clamp(r + zp, qmin, qmax) - zp == clamp(r, lo, hi) exactly (all small
// integers). Plain pointers with __restrict in a function of their own: GCC vectorizes these
// loops only when it needs not reload captured variables after every store.
QAT_FQ_CLONES void quantize_block(const float* __restrict x, float* __restrict y, bool* __restrict mask, int64_t n,
                                  float scale, float inv, float lo, float hi) {
    if (mask) {
        for (int64_t i = 0; i < n; ++i) {
            const float r = round_half_even(x[i] * inv);
            mask[i] = (r >= lo) & (r <= hi);
            y[i] = std::min(std::max(r, lo), hi) * scale;
        }
    } else {
        for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(round_half_even(x[i] * inv), lo), hi) * scale;
    }
}

// The mask as bytes (a bool tensor holds 0 / 1 bytes): GCC has no vector type for bool loads.
QAT_FQ_CLONES void mask_block(const float* __restrict g, const uint8_t* __restrict mask, float* __restrict dx,
                              int64_t n) {
    // A multiply, like libtorch's dY * mask (so an infinite gradient outside the range gives NaN there too).
    for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * static_cast<float>(mask[i]);
}

// LSQ's input gradient and the block's share of the scale gradient (before grad_factor).
QAT_FQ_CLONES double learnable_grad_block(const float* __restrict x, const float* __restrict g, float* __restrict dx,
                                          int64_t n, float scale, float inv, float lo, float hi) {
    // Eight float lanes (a fixed order, so the sum is deterministic) let GCC vectorize the sum; the
    // lanes and the blocks are then added in double.
    constexpr int64_t kLanes = 8;
    float lane[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (int64_t j = 0; j < kLanes; ++j) {
            const float xv = x[i + j], gv = g[i + j];
            const float r = round_half_even(xv * inv);
            const bool inside = (r >= lo) & (r <= hi);
            dx[i + j] = gv * static_cast<float>(inside);
            // Inside: d(round(x/s)*s)/ds with the straight-through round = round(x/s) - x/s, written
            // as (y - x) / s like libtorch; outside: the clip bound.
            const float ds = inside ? (r * scale - xv) * inv : (r < lo ? lo : hi);
            lane[j] += gv * ds;
        }
    }
    double acc = 0.0;
    for (; i < n; ++i) {
        const float r = round_half_even(x[i] * inv);
        const bool inside = (r >= lo) & (r <= hi);
        dx[i] = g[i] * static_cast<float>(inside);
        acc += static_cast<double>(g[i] * (inside ? (r * scale - x[i]) * inv : (r < lo ? lo : hi)));
    }
    for (float l : lane) acc += static_cast<double>(l);
    return acc;
}

void quantize_pass(const float* x, float* y, bool* mask, int64_t n, float scale, float lo, float hi) {
    const float inv = 1.0f / scale;
    for_blocks(n, [=](int64_t, int64_t i0, int64_t i1) {
        quantize_block(x + i0, y + i0, mask ? mask + i0 : nullptr, i1 - i0, scale, inv, lo, hi);
    });
}

// A tensor of `sizes` on the cached storage when nothing else holds it any more (the previous
// step's output, released once its backward ran), else a new one that becomes the cache. Why:
// fresh memory costs a page fault per page on first touch, slow on these machines, and the
// allocator hands out fresh pages for these large outputs step after step; a reused buffer is
// already mapped (measured in docs/BENCHMARKS.md, "Training step").
at::Tensor reuse_or_empty(at::Storage* cache, at::IntArrayRef sizes, const at::TensorOptions& opts) {
    const int64_t numel = c10::multiply_integers(sizes);
    const auto bytes = static_cast<size_t>(numel) * opts.dtype().itemsize();
    if (cache && *cache && cache->use_count() == 1 && cache->nbytes() == bytes)
        return at::empty({0}, opts).set_(*cache, 0, sizes);
    at::Tensor t = at::empty(sizes, opts);
    if (cache) *cache = t.storage();
    return t;
}

at::Tensor forward_tensor(const at::Tensor& x, float scale, float lo, float hi, at::Tensor* mask,
                          FakeQuantBuffers* buffers) {
    at::Tensor xc = x.contiguous();
    at::Tensor y = reuse_or_empty(buffers ? &buffers->output : nullptr, xc.sizes(), xc.options());
    if (mask) *mask = reuse_or_empty(buffers ? &buffers->mask : nullptr, xc.sizes(), xc.options().dtype(at::kBool));
    quantize_pass(xc.data_ptr<float>(), y.data_ptr<float>(), mask ? mask->data_ptr<bool>() : nullptr, xc.numel(), scale,
                  lo, hi);
    return y;
}

// The quantizer's buffers saved with an autograd node (held by reference count), and back.
void save_buffers(AutogradContext* ctx, const FakeQuantBuffersPtr& buffers) {
    if (buffers)
        ctx->saved_data["buffers"] = c10::IValue::make_capsule(c10::intrusive_ptr<torch::CustomClassHolder>(buffers));
}

at::Storage* saved_grad_buffer(AutogradContext* ctx) {
    auto it = ctx->saved_data.find("buffers");
    if (it == ctx->saved_data.end()) return nullptr;
    // The capsule holds the FakeQuantBuffers save_buffers() put there; the node keeps it alive.
    return &static_cast<FakeQuantBuffers*>(it->second.toCapsule().get())->grad;
}

// The straight-through gradient: dY where the mask is set, 0 elsewhere.
at::Tensor masked_gradient(const at::Tensor& grad, const at::Tensor& mask, at::Storage* cache = nullptr) {
    at::Tensor g = grad.contiguous();
    at::Tensor dx = reuse_or_empty(cache, g.sizes(), g.options());
    const float* gp = g.data_ptr<float>();
    const auto* mp = reinterpret_cast<const uint8_t*>(mask.data_ptr<bool>());
    float* dp = dx.data_ptr<float>();
    for_blocks(g.numel(), [=](int64_t, int64_t i0, int64_t i1) { mask_block(gp + i0, mp + i0, dp + i0, i1 - i0); });
    return dx;
}

struct FakeQuantFn : public torch::autograd::Function<FakeQuantFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double scale, double lo, double hi,
                              const FakeQuantBuffersPtr& buffers) {
        at::Tensor mask;
        at::Tensor y = forward_tensor(x, static_cast<float>(scale), static_cast<float>(lo), static_cast<float>(hi),
                                      &mask, buffers.get());
        ctx->save_for_backward({mask});
        save_buffers(ctx, buffers);
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        at::Tensor dx = masked_gradient(grads[0], ctx->get_saved_variables()[0], saved_grad_buffer(ctx));
        return {dx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

struct LearnableFakeQuantFn : public torch::autograd::Function<LearnableFakeQuantFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale, int64_t qmin,
                              int64_t qmax, double grad_factor, const FakeQuantBuffersPtr& buffers) {
        ctx->save_for_backward({x, scale});
        save_buffers(ctx, buffers);
        ctx->saved_data["qmin"] = qmin;
        ctx->saved_data["qmax"] = qmax;
        ctx->saved_data["grad_factor"] = grad_factor;
        return forward_tensor(x, scale.item<float>(), static_cast<float>(qmin), static_cast<float>(qmax), nullptr,
                              buffers.get());
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        variable_list saved = ctx->get_saved_variables();
        at::Tensor x = saved[0].contiguous();
        const at::Tensor& scale_t = saved[1];
        const float lo = static_cast<float>(ctx->saved_data["qmin"].toInt());
        const float hi = static_cast<float>(ctx->saved_data["qmax"].toInt());
        const double grad_factor = ctx->saved_data["grad_factor"].toDouble();
        const float s = scale_t.item<float>();
        const float inv = 1.0f / s;

        at::Tensor g = grads[0].contiguous();
        at::Tensor dx = reuse_or_empty(saved_grad_buffer(ctx), g.sizes(), g.options());
        const float* xp = x.data_ptr<float>();
        const float* gp = g.data_ptr<float>();
        float* dp = dx.data_ptr<float>();
        const int64_t n = x.numel();
        std::vector<double> partial(static_cast<size_t>((n + kBlock - 1) / kBlock), 0.0);
        double* part = partial.data();
        for_blocks(n, [=](int64_t b, int64_t i0, int64_t i1) {
            part[b] = learnable_grad_block(xp + i0, gp + i0, dp + i0, i1 - i0, s, inv, lo, hi);
        });
        double total = 0.0;
        for (double p : partial) total += p;  // in block order: deterministic
        at::Tensor dscale = at::full(scale_t.sizes(), static_cast<float>(total * grad_factor), scale_t.options());
        return {dx, dscale, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

// Weights: one channel after the other (small tensors: serial, no thread start-up to pay).
struct WeightPerChannelFn : public torch::autograd::Function<WeightPerChannelFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& w, int64_t qmin, int64_t qmax,
                              std::vector<float>* scales) {
        const int64_t channels = w.size(0), per = w.numel() / std::max<int64_t>(1, channels);
        at::Tensor y = at::empty_like(w);
        at::Tensor mask = at::empty(w.sizes(), w.options().dtype(at::kBool));
        const float* wp = w.data_ptr<float>();
        float* yp = y.data_ptr<float>();
        bool* mp = mask.data_ptr<bool>();
        if (scales) scales->assign(static_cast<size_t>(channels), 0.0f);
        for (int64_t c = 0; c < channels; ++c) {
            const float* wc = wp + c * per;
            float amax = 0.0f;
            for (int64_t i = 0; i < per; ++i) amax = std::max(amax, std::abs(wc[i]));
            const float s = symmetric_scale(amax);
            if (scales) (*scales)[static_cast<size_t>(c)] = s;
            quantize_block(wc, yp + c * per, mp + c * per, per, s, 1.0f / s, static_cast<float>(qmin),
                           static_cast<float>(qmax));
        }
        ctx->save_for_backward({mask});
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        at::Tensor dx = masked_gradient(grads[0], ctx->get_saved_variables()[0]);
        return {dx, at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

// Learned per-channel weight scales (LSQ), channels along dimension 0: serial, one channel after
// the other (weights are small), each channel's scale gradient summed in a fixed order.
struct LearnableWeightPerChannelFn : public torch::autograd::Function<LearnableWeightPerChannelFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& w, const at::Tensor& scale, int64_t qmin,
                              int64_t qmax, double grad_factor) {
        ctx->save_for_backward({w, scale});
        ctx->saved_data["qmin"] = qmin;
        ctx->saved_data["qmax"] = qmax;
        ctx->saved_data["grad_factor"] = grad_factor;
        at::Tensor sc = scale.contiguous();
        const int64_t channels = w.size(0), per = w.numel() / std::max<int64_t>(1, channels);
        at::Tensor y = at::empty_like(w);
        const float* wp = w.data_ptr<float>();
        const float* sp = sc.data_ptr<float>();
        float* yp = y.data_ptr<float>();
        for (int64_t c = 0; c < channels; ++c)
            quantize_block(wp + c * per, yp + c * per, nullptr, per, sp[c], 1.0f / sp[c], static_cast<float>(qmin),
                           static_cast<float>(qmax));
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        variable_list saved = ctx->get_saved_variables();
        at::Tensor w = saved[0].contiguous();
        at::Tensor sc = saved[1].contiguous();
        const float lo = static_cast<float>(ctx->saved_data["qmin"].toInt());
        const float hi = static_cast<float>(ctx->saved_data["qmax"].toInt());
        const double grad_factor = ctx->saved_data["grad_factor"].toDouble();
        at::Tensor g = grads[0].contiguous();
        at::Tensor dx = at::empty_like(g);
        at::Tensor dscale = at::empty_like(sc);
        const int64_t channels = w.size(0), per = w.numel() / std::max<int64_t>(1, channels);
        const float* wp = w.data_ptr<float>();
        const float* gp = g.data_ptr<float>();
        const float* sp = sc.data_ptr<float>();
        float* dp = dx.data_ptr<float>();
        float* dsp = dscale.data_ptr<float>();
        for (int64_t c = 0; c < channels; ++c) {
            const double sum =
                learnable_grad_block(wp + c * per, gp + c * per, dp + c * per, per, sp[c], 1.0f / sp[c], lo, hi);
            dsp[c] = static_cast<float>(sum * grad_factor);
        }
        return {dx, dscale, at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

}  // namespace

at::Tensor fake_quant_learnable_weight_per_channel(const at::Tensor& w, const at::Tensor& scale, int64_t qmin,
                                                   int64_t qmax, double grad_factor) {
    return LearnableWeightPerChannelFn::apply(w, scale, qmin, qmax, grad_factor);
}

at::Tensor fake_quant_weight_per_channel(const at::Tensor& w, int64_t qmin, int64_t qmax, std::vector<float>* scales) {
    return WeightPerChannelFn::apply(w, qmin, qmax, scales);
}

at::Tensor fake_quant_per_tensor(const at::Tensor& x, float scale, int64_t zero_point, int64_t qmin, int64_t qmax,
                                 const FakeQuantBuffersPtr& buffers) {
    if (x.scalar_type() != at::kFloat)
        return at::fake_quantize_per_tensor_affine(x, static_cast<double>(scale), zero_point, qmin, qmax);
    const auto lo = static_cast<float>(qmin - zero_point), hi = static_cast<float>(qmax - zero_point);
    if (!(x.requires_grad() && at::GradMode::is_enabled()))
        return forward_tensor(x, scale, lo, hi, nullptr, buffers.get());
    return FakeQuantFn::apply(x, static_cast<double>(scale), static_cast<double>(lo), static_cast<double>(hi), buffers);
}

at::Tensor fake_quant_learnable_per_tensor(const at::Tensor& x, const at::Tensor& scale, int64_t qmin, int64_t qmax,
                                           double grad_factor, const FakeQuantBuffersPtr& buffers) {
    if (x.scalar_type() != at::kFloat || scale.numel() != 1) {
        at::Tensor zp = at::zeros({scale.numel()}, scale.options());
        return at::_fake_quantize_learnable_per_tensor_affine(x, scale, zp, qmin, qmax, grad_factor);
    }
    return LearnableFakeQuantFn::apply(x, scale, qmin, qmax, grad_factor, buffers);
}

}  // namespace qat::train::detail
