// QuantizeLinear of a float image in NCHW (the network input) straight into channels-last int8,
// the layout of the int8 convolutions, as a plain threaded loop for the Q/DQ kernel
// (onednn_misc.cpp). oneDNN 2.6 runs this quantizing transpose on its generic reorder (70-90 us for
// a 3x224x224 image here, up to 7% of MobileNetV2's INT8 time); this loop quantizes blocks of
// pixels of each channel with vector instructions and interleaves the bytes (~25-35 us on two
// threads), and three channels (an RGB image) on AVX-512 VBMI machines in registers with one byte
// permute (~12 us; 23 us on one thread).
//
// Semantics are ONNX's exactly (core/qmath.h): saturate(round_half_even(x / scale) + zero_point),
// NaN to 0; oneDNN multiplied by 1/scale instead, which may land one step off on ties.
#pragma once

#include <cstdint>

namespace qat::onednn {

// Channel counts above this go to oneDNN's reorder (a transpose of many channels is its job).
inline constexpr int64_t kQuantizeNhwcMaxChannels = 16;

struct QuantizeNhwcShape {
    int64_t n = 0, c = 0, hw = 0;  // hw: the product of the spatial dims
    float scale = 1;
    int32_t zero_point = 0;
    bool u8 = false;  // uint8 output (else int8)
};

// x: n x c x hw floats; y: n x hw x c bytes.
void quantize_nchw_to_nhwc(const QuantizeNhwcShape& s, const float* x, void* y);

}  // namespace qat::onednn
