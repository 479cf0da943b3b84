// The squeeze-and-excitation scale, y[n,c,h,w] = x[n,c,h,w] * g[n,c], as a plain threaded loop
// for the binary kernel (onednn_binary.cpp): oneDNN 2.6 runs this per-channel broadcast with its
// generic "jit:uni" binary kernel, 3-4x slower than a loop over the channel-innermost layout on
// this machine (EfficientNet-B0 has 16 of them, on its largest activations).
//
// x is 4-D, NHWC (oneDNN "acdb") or NCHW; g holds N_g x C values (N_g = N, or 1 for a gate shared
// by the batch); the same float product as the Mul it replaces.
//
// The quantized one (QMul: int8 / uint8 activation and gate, zero points 0, int8 / uint8 output)
// on NHWC in AVX-512 registers: 16 channels widened to float, times one multiplier per channel
// and sample (x_scale * g * g_scale / y_scale), rounded half to even, plus the output zero point,
// clamped, narrowed; 64 channels per step where a pixel has them (narrowed by saturating packs,
// the bounds on the bytes: EfficientNet-B0's 16 SE scales at batch 16 1.85-2.09 -> 1.61 ms). The
// reference rounds (x * x_scale) * (g * g_scale) / y_scale: the same value but for float
// rounding, so the two differ only next to a tie (within the one int8 step every fused kernel is
// held to). oneDNN's binary kernel took 0.12 ms for 112x112x32 bytes at batch 1
// (docs/BENCHMARKS.md). A plain C++ loop of the same (the first attempt, SSE2 at -O2, no vector
// rounding) was 4x slower than oneDNN, hence the intrinsics.
#pragma once

#include <cstdint>
#include <vector>

namespace qat::onednn {

struct ChannelScaleShape {
    int64_t n = 0, c = 0, hw = 0;
    bool channels_last = true;    // NHWC; false: NCHW
    bool gate_per_sample = true;  // g is [N, C]; false: [1, C]
};

void channel_scale_f32(const ChannelScaleShape& s, const float* x, const float* g, float* y);

struct ChannelScaleQ8 {
    bool x_u8 = false, g_u8 = false, y_u8 = false;  // byte storage of x, g, y (else int8)
    float x_scale = 1, g_scale = 1, y_scale = 1;
    int32_t y_zero_point = 0;
    int32_t lo = -128, hi = 127;  // output bounds (a fused ReLU raises lo to the zero point)
};

// Whether channel_scale_q8 has its vector path on this machine (AVX-512 F and BW).
bool channel_scale_q8_available();

// NHWC only (s.channels_last); runs on up to `threads` OpenMP threads, each on a contiguous range
// of pixels. x and y may be the same buffer when both have the same storage type. multipliers:
// the caller's scratch (kept between runs), resized to a float per gate value.
void channel_scale_q8(const ChannelScaleShape& s, const ChannelScaleQ8& q, const void* x, const void* g, void* y,
                      int threads, std::vector<float>* multipliers);

}  // namespace qat::onednn
