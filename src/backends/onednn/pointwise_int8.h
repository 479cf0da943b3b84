// INT8 1x1 convolutions as a matrix product of our own with the whole epilogue (scales, bias,
// post-ops, requantization) applied while the sums are still in registers: for the conv kernel
// (onednn_conv.cpp) on AVX-512 VNNI machines. Two kinds of convolution take it:
//
// - Those whose post-ops include swish or sigmoid. oneDNN 2.6 evaluates a swish (or sigmoid)
//   post-op at ~20 cycles per 16 outputs; on EfficientNet-B0's 1x1 expand convolutions that was most
//   of their time (blocks2.0.expand at batch 16: 5.4 ms with swish, 2.0 ms with a ReLU in its
//   place). This kernel's (swish.h's) costs about half. The squeeze-and-excitation convolutions (a
//   1x1 input) take it too.
// - The requantizing path: a quantized output, an optional residual add first, then at most one
//   relu or clip, 64 output channels or more or 17-24, also a swish or a sigmoid alone from 32
//   outputs (in real units, then the output scale and zero point, before the packs). A last block
//   of 17-24 channels ends in a half column, its last 8 summed in a 256-bit register (half the cost
//   of a 512-bit one on Zen 4): 24 outputs are not computed as 32 (1.2x brgconv_1x1 on
//   MobileNetV2's and EfficientNet-B0's 24-output projections). The sums go to output units with
//   one multiply-add (scale and bias divided by the output scale, its zero point in the
//   bias; the residual with a second one), and four registers of int32 become 64 output bytes with
//   two lane-wise packs, the bounds of the relu / clip applied on the bytes; the weights' columns
//   are packed in the order those packs give back, so no permute is needed (the residual's bytes
//   are shuffled into it).
//   Per layer it runs at 0.94-1.20x brgconv_1x1 on MobileNetV2's and ResNet-50's shapes, and it
//   splits the pixels between the threads as our depthwise kernel splits the rows, so each core
//   reads what it wrote (docs/BENCHMARKS.md).
//
// The product: pixels x input channels (u8 or s8, one row of K bytes per pixel, channels-last)
// times weights packed once as [K/4][64 output channels][4] per block of 64 output channels, 6
// pixels x 64 channels of int32 sums per tile (24 registers) with vpdpbusd. s8 inputs are read as
// u8 by flipping the sign bit (x + 128); that 128 and the input zero point are taken back exactly
// per output channel in int32 (zp * sum of the channel's weights). Then the epilogue, in float, as
// the reference (ir::fused::weighted_result): acc * x_scale * w_scale[m] + bias[m], the post-ops in
// order (add, relu, clip, leaky_relu, hard_swish, sigmoid, swish: swish.h's), and y =
// saturate(round_half_even(v / y_scale) + zp) with v / y_scale computed as v * (1 / y_scale) (or,
// on the requantizing path, acc * (scale / y_scale) + (bias / y_scale + zp)): the same integer
// except next to a tie, within the one int8 step every fused kernel is held to.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/onednn/swish.h"
#include "core/prefetch.h"
#include "ir/fused_ops.h"

namespace qat::onednn {

// Whether this machine runs the kernel (AVX-512 F, BW, VL and VNNI).
bool pointwise_int8_available();

// Whether a fused op takes the requantizing path: a quantized output, an optional residual add
// first, then at most one relu or clip.
bool pointwise_int8_requantizes(const ir::fused::FusedOpInfo& info);

// Whether a fused op fits: quantized output, K % 4 == 0 (whole dwords of input per broadcast),
// K <= 32768 (int32 sums), and either a swish or sigmoid among its post-ops or the requantizing
// path with 64 output channels or more (or 17-24); 32 or more over `gathered` rows (im2col_int8.h: a stem,
// whose K of ~28 leaves brgconv's 3x3 kernel no better than our 32-channel tiles: MobileNetV2's
// 32-output ReLU6 stem 1.2 -> 0.9-1.1 ms at batch 16, docs/BENCHMARKS.md).
bool pointwise_int8_fits(const ir::fused::FusedOpInfo& info, int64_t in_channels, int64_t out_channels,
                         bool gathered = false);

// Where the pixels are: n images of h x w outputs, read from an in_h x in_w input with strides.
struct PointwiseInt8Geometry {
    int64_t n = 1, h = 0, w = 0;
    int64_t in_h = 0, in_w = 0;
    int64_t stride_h = 1, stride_w = 1;
};

class PointwiseInt8 {
  public:
    // w: M x K row-major int8 (ONNX [M, K, 1, 1]); bias: M floats in real units or null.
    // x_is_u8: how the input's bytes are stored (a u8-labelled int8 tensor holds 0..127).
    void init(const int8_t* w, int64_t m, int64_t k, const float* bias, const ir::fused::FusedOpInfo& info,
              bool x_is_u8);

    // x: n x in_h x in_w x K bytes; residual (null without "add") and y: n x h x w x M bytes.
    // y may be the residual's own buffer. Runs on up to `threads` OpenMP threads.
    void run(const PointwiseInt8Geometry& g, const void* x, const void* residual, bool residual_is_u8, void* y,
             int threads) const;

    bool x_is_u8() const { return x_u8_; }
    int64_t k() const { return k_; }
    size_t packed_bytes() const { return packed_.size(); }
    // Asks the caches for the first line of each of its arrays (the conv kernel's prefetch_run).
    void prefetch() const { prefetch_lines({packed_.data(), scale_.data(), bias_.data()}); }

  private:
    int64_t m_ = 0, k_ = 0;
    int64_t mp_ = 0;  // output channels as packed: m rounded up to 16 (to 8 for a half column)
    bool x_u8_ = true;
    ir::fused::FusedOpInfo info_;
    std::vector<int8_t> packed_;     // per 64-channel block [K/4][width][4], M padded to mp_
    std::vector<float> scale_;       // x_scale * w_scale[m], padded to whole blocks with zeros
    std::vector<float> bias_;        // real units, padded
    std::vector<int32_t> comp_;      // input zero point as read (x_zp, + 128 for s8) * sum of w[m][:]
    bool requant_ = false;           // the requantizing path (relu / clip chains; a swish or sigmoid alone): see fits
    int act_ = 0;                    // its activation: 0 none, else a swish or a sigmoid (Mode in pointwise_int8.cpp)
    int32_t rq_lo_ = 0, rq_hi_ = 0;  // its relu / clip bounds in output units
    float rq_res_scale_ = 0;         // its residual_scale / y_scale
#if defined(__x86_64__)
    SwishOutput swish_out_;  // its swish's output form (swish.h)
#endif
};

}  // namespace qat::onednn
