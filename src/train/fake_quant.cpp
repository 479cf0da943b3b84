#include "train/fake_quant.h"

#include <algorithm>
#include <cmath>

#include "core/quant_params.h"

namespace qat::train::detail {
namespace {

at::Tensor host_tensor(const std::vector<float>& v) {
    at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::TensorOptions().dtype(at::kFloat));
    std::copy(v.begin(), v.end(), t.data_ptr<float>());
    return t;
}

}  // namespace

FakeQuantizer::FakeQuantizer(FakeQuantConfig c) : cfg(std::move(c)) {
    if (!cfg.initial_scale.empty()) {
        scale = cfg.initial_scale;
        initialized = true;
    }
    if (cfg.axis >= 0) zero_points_ = at::zeros({cfg.channels}, at::TensorOptions().dtype(at::kInt));
    if (learned()) {
        const int64_t n = cfg.axis >= 0 ? cfg.channels : 1;
        learned_scale = at::full({n}, 1.0f / 127.0f, at::TensorOptions().dtype(at::kFloat));
        if (initialized) init_learned_from_range();
        learned_scale.set_requires_grad(true);
    }
}

std::vector<float> FakeQuantizer::observe(const at::Tensor& x) const {
    at::NoGradGuard no_grad;
    if (cfg.axis < 0) {
        // One pass for min and max; |x| max = max(-min, max).
        auto mm = at::aminmax(x.detach());
        float lo = std::get<0>(mm).item<float>(), hi = std::get<1>(mm).item<float>();
        return {symmetric_scale(std::max(-lo, hi))};
    }
    at::Tensor t = x.detach().movedim(cfg.axis, 0).reshape({cfg.channels, -1}).abs().amax(1).contiguous();
    const float* p = t.data_ptr<float>();
    std::vector<float> s(static_cast<size_t>(cfg.channels));
    for (size_t i = 0; i < s.size(); ++i) s[i] = symmetric_scale(p[i]);
    return s;
}

std::vector<float> FakeQuantizer::effective_scale() const {
    if (!group) return scale;
    std::vector<float> m;
    for (const FakeQuantizer* q : group->members) {
        if (!q->initialized) continue;
        if (m.empty()) {
            m = q->scale;
        } else {
            for (size_t i = 0; i < m.size() && i < q->scale.size(); ++i) m[i] = std::max(m[i], q->scale[i]);
        }
    }
    return m.empty() ? scale : m;
}

std::vector<float> FakeQuantizer::current_scale(const at::Tensor& w) const {
    if (learned()) {
        at::Tensor s = learned_scale.detach().contiguous();
        return std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    }
    if (cfg.weight && w.defined()) return observe(w);
    return effective_scale();
}

void FakeQuantizer::clamp_learned_scale() {
    if (!learned() || !learned_scale.defined()) return;
    at::NoGradGuard no_grad;
    // Keeps 1/s finite and the scale a valid ONNX scale.
    learned_scale.clamp_min_(1e-8f);
}

void FakeQuantizer::init_learned_from_range() {
    if (!learned_scale.defined()) return;
    std::vector<float> s = effective_scale();
    if (s.empty() || static_cast<int64_t>(s.size()) != learned_scale.numel()) return;
    at::NoGradGuard no_grad;
    learned_scale.copy_(host_tensor(s).reshape(learned_scale.sizes()));
}

at::Tensor FakeQuantizer::forward(const at::Tensor& x, bool training) {
    switch (cfg.state) {
        case QuantizerState::kDisabled:
            return x;
        case QuantizerState::kCalibrate: {
            // Running max of the range; x passes through unchanged.
            std::vector<float> o = observe(x);
            if (!initialized || scale.size() != o.size()) {
                scale = o;
            } else {
                for (size_t i = 0; i < o.size(); ++i) scale[i] = std::max(scale[i], o[i]);
            }
            initialized = true;
            return x;
        }
        case QuantizerState::kQuantize:
            break;
    }
    if (learned()) {
        // LSQ's gradient scale 1 / sqrt(elements per scale * qmax).
        const int64_t per_scale = std::max<int64_t>(1, x.numel() / learned_scale.numel());
        const double grad_factor = 1.0 / std::sqrt(static_cast<double>(per_scale) * static_cast<double>(cfg.qmax));
        if (cfg.axis < 0)
            return fake_quant_learnable_per_tensor(x, learned_scale, cfg.qmin, cfg.qmax, grad_factor, buffers_);
        if (cfg.axis == 0 && x.scalar_type() == at::kFloat && x.is_contiguous() && learned_scale.numel() == x.size(0))
            return fake_quant_learnable_weight_per_channel(x, learned_scale, cfg.qmin, cfg.qmax, grad_factor);
        at::Tensor zp = at::zeros({learned_scale.numel()}, at::TensorOptions().dtype(at::kFloat));
        return at::_fake_quantize_learnable_per_channel_affine(x, learned_scale, zp, cfg.axis, cfg.qmin, cfg.qmax,
                                                               grad_factor);
    }
    std::vector<float> s;
    if (cfg.weight) {
        // Weights: the range follows the current weights, in training and evaluation alike.
        if (cfg.axis == 0 && x.scalar_type() == at::kFloat && x.is_contiguous())
            return fake_quant_weight_per_channel(x, cfg.qmin, cfg.qmax);  // range and quantization in one pass
        s = observe(x);
    } else {
        if (training && cfg.mode != RangeMode::kFixed) {
            std::vector<float> o = observe(x);
            if (cfg.mode == RangeMode::kEma && initialized && scale.size() == o.size()) {
                for (size_t i = 0; i < o.size(); ++i) scale[i] += cfg.ema_momentum * (o[i] - scale[i]);
            } else {
                scale = o;
            }
            initialized = true;
        } else if (training && !initialized) {
            scale = observe(x);  // fixed without a range: the first batch fixes it
            initialized = true;
        }
        // Evaluation before any range exists (an uncalibrated model): this batch's own range.
        s = initialized ? effective_scale() : observe(x);
    }
    if (cfg.axis >= 0)
        return at::fake_quantize_per_channel_affine(x, host_tensor(s), zero_points_, cfg.axis, cfg.qmin, cfg.qmax);
    return fake_quant_per_tensor(x, s[0], cfg.zero_point, cfg.qmin, cfg.qmax, buffers_);
}

}  // namespace qat::train::detail
