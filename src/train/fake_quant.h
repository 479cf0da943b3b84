// Internal to src/train: the fake-quantization module of one Q/DQ pair (module_options.h says
// what the range modes mean).
//
//   FakeQuantizer q(cfg);                 // from the Q node's scale / zero point
//   at::Tensor y = q.forward(x, /*training=*/true);
//
// Semantics, matching our engine's QuantizeLinear -> DequantizeLinear:
//   activation: y = clamp(round_half_even(x / s), -128, 127) * s,      s = amax / 127
//   weight:     y = clamp(round_half_even(w / s_c), -127, 127) * s_c,  s_c = amax_c / 127
// with libtorch's fake_quantize_per_channel_affine for weights and our bit-identical, vectorized
// per-tensor pass for activations (fast_fake_quant.h: libtorch's is a scalar loop), whose backward
// is the straight-through estimator (gradient 1 where the rounded value is inside [qmin, qmax], 0
// outside). Both multiply by 1/s instead of dividing by s: a value within an ulp of a rounding tie may
// land one step away from the engine's result (docs/TRAIN.md, "Fake quantization").
//
// Ranges are kept on the host as scales (core/quant_params.h symmetric_scale of the observed |x|
// max), so the scale written back into the ONNX graph is bit for bit the one training used, and a
// fixed range is the model's own scale, not a float round trip of it.
//
// Concat groups: Q nodes whose outputs meet in one Concat with equal scales must keep one scale
// at export (quant::set_activation_scales takes the largest range). Members share a QuantGroup:
// they quantize with the largest member range, and learned members share one scale parameter.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "train/fast_fake_quant.h"
#include "train/module_options.h"

namespace qat::train::detail {

struct FakeQuantizer;

struct QuantGroup {
    std::vector<FakeQuantizer*> members;
    at::Tensor learned_scale;  // shared by learned members
};

struct FakeQuantConfig {
    std::string name;    // QuantizeLinear node name (DequantizeLinear's for int8-stored weights)
    std::string tensor;  // the quantized tensor (activation or weight initializer name)
    bool weight = false;
    int64_t axis = -1;  // per-channel axis (normalised), -1 per tensor
    int64_t channels = 1;
    int64_t qmin = -128, qmax = 127;
    int64_t zero_point = 0;  // per-tensor zero point (non-zero only in imported asymmetric models)
    RangeMode mode = RangeMode::kFixed;
    QuantizerState state = QuantizerState::kQuantize;
    float ema_momentum = 0.01f;
    // The model's scale (one value or `channels` values); empty when the model is uncalibrated.
    std::vector<float> initial_scale;
};

struct FakeQuantizer {
    explicit FakeQuantizer(FakeQuantConfig cfg);

    FakeQuantConfig cfg;
    // Current scale (1 or `channels` values), valid when initialized. Unused while learned.
    std::vector<float> scale;
    bool initialized = false;
    // learned: trainable scale, [1] or [channels]; shared within a group.
    at::Tensor learned_scale;
    std::shared_ptr<QuantGroup> group;

    // y for input x. With training, ranges of last-batch / ema / calibrating quantizers move.
    at::Tensor forward(const at::Tensor& x, bool training);

    // The scales the next eval forward uses (1 or `channels` values). Weight quantizers that
    // follow the weights compute them from `w`, the current weight.
    std::vector<float> current_scale(const at::Tensor& w = at::Tensor()) const;
    bool learned() const { return cfg.mode == RangeMode::kLearned; }
    // Keeps a learned scale positive after an optimizer step.
    void clamp_learned_scale();
    // Learned quantizers: sets the scale parameter from the current range (after calibration).
    void init_learned_from_range();

    // symmetric_scale(|x| max), per channel along cfg.axis when per-channel.
    std::vector<float> observe(const at::Tensor& x) const;

  private:
    // Scale used to quantize: own, or the group's largest.
    std::vector<float> effective_scale() const;
    at::Tensor zero_points_;  // int32 [channels] zeros (per-channel path)
    FakeQuantBuffersPtr buffers_ = c10::make_intrusive<FakeQuantBuffers>();  // reused across steps
};

}  // namespace qat::train::detail
