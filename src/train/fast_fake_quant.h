// Internal to src/train: per-tensor fake quantization as one fused, vectorized pass with its own
// autograd node.
//
// Why not libtorch's fake_quantize_per_tensor_affine: its CPU kernel is a scalar loop around
// std::nearbyint, ~10x slower than a vectorized pass. On the small zoo models at batch 64 it cost as
// much as the convolution it feeds, forward and backward together (2.5 ms for 64x16x28x28 against
// 0.9 ms for the conv; docs/BENCHMARKS.md "Training step"). These functions compute the same values
// bit for bit (same float 1/s, same ties-to-even rounding, same clip) and the same gradients:
//
//   fake_quant_per_tensor:            y = (clamp(round(x * (1/s)) + zp, qmin, qmax) - zp) * s
//                                     dy/dx = 1 where round(x * (1/s)) + zp is in [qmin, qmax], else 0
//   fake_quant_learnable_per_tensor:  the same forward with s a [1] tensor (zero point 0) and
//                                     LSQ's scale gradient, as libtorch's
//                                     _fake_quantize_learnable_per_tensor_affine:
//                                     d/ds = (y - x) / s inside, qmin or qmax outside, times grad_factor
//
//   fake_quant_weight_per_channel:    per output channel (axis 0) with the range taken from the
//                                     weight itself, s_c = symmetric_scale(max |w_c|), in one pass
//                                     over each channel and no host round trip between range and
//                                     quantization; equal to libtorch's fake_quantize_per_channel_affine
//                                     with those scales, forward and straight-through gradient;
//                                     and its learned-scale form (LSQ per channel).
//
// Float tensors only; the callers fall back to libtorch's kernels for anything else.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <vector>

namespace qat::train::detail {

// Buffers one quantizer reuses from step to step (optional): its output and straight-through
// mask (forward) and its input gradient (backward). A buffer is reused only when no tensor refers
// to it any more, so a result still held elsewhere is never overwritten. Reference-counted: the
// autograd node keeps it alive until its backward ran, even if the quantizer is gone by then.
struct FakeQuantBuffers : public torch::CustomClassHolder {
    at::Storage output;
    at::Storage mask;
    at::Storage grad;
};
using FakeQuantBuffersPtr = c10::intrusive_ptr<FakeQuantBuffers>;

at::Tensor fake_quant_per_tensor(const at::Tensor& x, float scale, int64_t zero_point, int64_t qmin, int64_t qmax,
                                 const FakeQuantBuffersPtr& buffers = {});

at::Tensor fake_quant_learnable_per_tensor(const at::Tensor& x, const at::Tensor& scale, int64_t qmin, int64_t qmax,
                                           double grad_factor, const FakeQuantBuffersPtr& buffers = {});

// w: float, contiguous, channels along dimension 0. The per-channel scales go to *scales (when
// not null).
at::Tensor fake_quant_weight_per_channel(const at::Tensor& w, int64_t qmin, int64_t qmax,
                                         std::vector<float>* scales = nullptr);

// The same with learned scales ([channels], LSQ gradient as libtorch's
// _fake_quantize_learnable_per_channel_affine with zero points 0).
at::Tensor fake_quant_learnable_weight_per_channel(const at::Tensor& w, const at::Tensor& scale, int64_t qmin,
                                                   int64_t qmax, double grad_factor);

}  // namespace qat::train::detail
