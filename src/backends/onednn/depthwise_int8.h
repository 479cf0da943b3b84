// INT8 depthwise 3x3 and 5x5 convolutions (stride 1 or 2, half-kernel padding, ReLU / ReLU6 /
// swish / nothing after), a kernel of our own for the conv kernel (onednn_conv.cpp) on AVX-512
// VNNI machines: 1.5-2.5x faster than oneDNN 2.6's brdgmm_dw on MobileNetV2's shapes, 1.35-1.9x
// its jit_int8 with swish on EfficientNet-B0's, 32 channels and more (docs/BENCHMARKS.md); the
// depthwise convolutions were a third of MobileNetV2's INT8 time.
//
// How: vpdpbusd sums four u8 x s8 products per 32-bit lane, so a lane holds the taps of one
// channel: a column of three input rows and a fourth byte of weight 0, 64 channels each (a last
// part of up to 32: ymm), interleaved byte-wise (unpacklo / unpackhi, within 128-bit lanes;
// lane L, dword j of register k is channel 16L + 4k + j). An output sums three such columns with
// the weights of its three kernel columns ([w(0,kx) w(1,kx) w(2,kx) 0]); consecutive outputs share
// columns (stride 1: two, stride 2: one), which are carried along, so each column is loaded and
// interleaved once. (Quads of four pixels of a row, the first form, served two outputs at stride 1
// and measured ~25% slower; at stride 2 they left half of the taps unused.) A 5x5 column is two
// quads, rows 0..3 and row 4 (its byte repeated, three taps of weight 0); five columns of eight
// registers do not fit the register file, so built columns go to a ring of five on the stack. At
// stride 1, on rows of 14 outputs or more, 5x5 runs by slices of 16 channels instead, one register
// per column and its ten weight registers kept loaded (depthwise_int8.cpp's run_rows5: the ring's
// loads bound the blocks' 5x5 form).
// Pixels are read straight from the input (padding as constant vectors; s8 inputs flipped to u8 on
// load: x + 128, the 128 taken back per channel as 128 * sum of its weights; the last block's loads
// masked to its channels). The epilogue runs on the lane order above, in output units (y =
// round(acc * s + b), clamped, + zero point; the reference rounds v / y_scale, which differs only
// next to a tie: within the one int8 step every fused kernel is held to; swish, which does not
// commute with the scale, from twice the real value with swish.h's table, the output scale and
// zero point folded into it), and lane-wise packs put the bytes back in channel order.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/onednn/swish.h"
#include "core/prefetch.h"
#include "ir/fused_ops.h"

namespace qat::onednn {

// Whether a fused op fits: quantized output, post-ops none, relu, clip or swish (one), input zero point
// 0, at least 32 channels, and a machine with AVX-512 F, BW, VL and VNNI. (The geometry is the
// caller's to check: 3x3 or 5x5, group = channels, stride 1 or 2, padding kernel / 2 on every side,
// no dilation.)
bool depthwise_int8_fits(const ir::fused::FusedOpInfo& info, int64_t channels);

// n images of h x w output pixels from in_h x in_w input pixels (stride 1: the same; stride 2:
// h = (in_h - 1) / 2 + 1, w likewise; padding kernel / 2 on every side).
struct DepthwiseInt8Geometry {
    int64_t n = 1, h = 0, w = 0;
    int64_t in_h = 0, in_w = 0;
};

class DepthwiseInt8 {
  public:
    // w: C x 3 x 3 int8 (ONNX [C, 1, 3, 3]); bias: C floats in real units or null.
    // x_is_u8: how the input's bytes are stored (a u8-labelled int8 tensor holds 0..127).
    // w: C x k x k (k = kernel: 3, padding 1, or 5, padding 2); stride: 1 or 2 (both dimensions).
    void init(const int8_t* w, int64_t channels, const float* bias, const ir::fused::FusedOpInfo& info, bool x_is_u8,
              int stride = 1, int kernel = 3);

    // x: n x in_h x in_w x C bytes, y: n x h x w x C (channels-last). Runs on up to `threads`
    // OpenMP threads.
    void run(const DepthwiseInt8Geometry& g, const void* x, void* y, int threads) const;

    bool x_is_u8() const { return x_u8_; }
    size_t packed_bytes() const { return packed_.size() + packed16_.size(); }
    // Asks the caches for the first line of each of its arrays (the conv kernel's prefetch_run).
    void prefetch() const { prefetch_lines({packed_.data(), packed16_.data(), scale_.data(), bias_.data()}); }

  private:
    int64_t c_ = 0, blocks_ = 0;
    int stride_ = 1;
    int kernel_ = 3;
    bool swish_ = false;  // swish after (else relu / clip / nothing)
    float inv_y_ = 1;     // 1 / y_scale
    int64_t tail_ = 0;    // channels after blocks_ blocks of 64, in one block of 32 (else 0)
    bool x_u8_ = true;
    int32_t y_zp_ = 0;
    bool y_u8_ = false;  // uint8 output (else int8)
    // 3x3: [block][column 3][register 4][width / 4 lanes x (3 rows' taps, 0)]; 5x5:
    // [block][column 5][rows 0..3 / row 4][register 4][width / 4 lanes x 4 taps]; a tail block
    // (32 wide) after the others.
    std::vector<int8_t> packed_;
    std::vector<float> scale_;  // x_scale * w_scale[c] / y_scale, in register order per block
    std::vector<float> bias_;   // in output units, the s8 input's 128 * sum(w) taken off
    float lo_ = 0, hi_ = 0;     // the relu / clip bounds in output units (else -inf, inf)
    // 5x5 at stride 1 also by slices (run_rows5 in depthwise_int8.cpp): [slice of 16][column
    // 5][rows 0..3 / row 4][16 dwords of 4 taps], scale and bias in channel order.
    bool slices5() const { return kernel_ == 5 && stride_ == 1; }
    std::vector<int8_t> packed16_;
    std::vector<float> scale16_, bias16_;
#if defined(__x86_64__)
    SwishOutput swish_out_;  // swish's output form (swish.h)
#endif
};

}  // namespace qat::onednn
