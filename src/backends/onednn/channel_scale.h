// The squeeze-and-excitation scale, y[n,c,h,w] = x[n,c,h,w] * g[n,c], as a plain threaded loop
// for the binary kernel (onednn_binary.cpp): oneDNN 2.6 runs this per-channel broadcast with its
// generic "jit:uni" binary kernel, 3-4x slower than a loop over the channel-innermost layout on
// this machine (EfficientNet-B0 has 16 of them, on its largest activations).
//
// x is 4-D, NHWC (oneDNN "acdb") or NCHW; g holds N_g x C values (N_g = N, or 1 for a gate shared
// by the batch); the same float product as the Mul it replaces. Float only: a quantized version
// (QMul) written the same way, with the reference's dequantize / divide / round-half-even per
// element, measured 4x SLOWER than oneDNN's binary kernel here (no vector rounding at -O2 on
// SSE2), so QMul stays on oneDNN.
#pragma once

#include <cstdint>

namespace qat::onednn {

struct ChannelScaleShape {
    int64_t n = 0, c = 0, hw = 0;
    bool channels_last = true;    // NHWC; false: NCHW
    bool gate_per_sample = true;  // g is [N, C]; false: [1, C]
};

void channel_scale_f32(const ChannelScaleShape& s, const float* x, const float* g, float* y);

}  // namespace qat::onednn
