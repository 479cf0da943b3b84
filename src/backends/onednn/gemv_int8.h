// INT8 Gemm (QGemm) of a few rows against large constant weights: a classifier at batch 1..4 behind
// a quantized global pool (EfficientNet-B0's and MobileNetV2's 1280 -> 1000, ResNet-50's 2048 ->
// 1000), as a loop of our own for the matmul kernel (onednn_matmul.cpp) on AVX-512 VNNI machines.
// Such a product only streams its weights once (1.3-2 MB of int8), which in a network come from
// memory: oneDNN 2.6's int8 matmul took 0.039 ms for EfficientNet-B0's on two threads here
// (~33 GB/s), this loop 0.016 ms; MobileNetV2's 0.020 -> 0.015 ms (docs/BENCHMARKS.md).
//
// Not pointwise_int8.h's 1x1 kernel (a QGemm of m rows is a 1x1 convolution over m pixels): it
// writes quantized outputs only (a classifier's are float) and splits pixels between the threads,
// so one row would run on one thread; this loop splits the outputs. The weight layout is the same
// ([K/4][64][4] per block of 64 outputs), the epilogue the 1x1 kernel's requantizing form.
//
// How: the weights packed once as [N/64][K/4][64 outputs][4 bytes] (N padded with zero weights),
// read in order; per step of 4 input bytes one broadcast dword of each row and four vpdpbusd per
// row (64 outputs), so each weight byte is loaded once for all rows. s8 inputs are read as u8 by
// flipping the sign bit (x + 128); that 128 and the input zero point are taken back exactly per
// output in int32 (zp * sum of the output's weights). Threads split the blocks of 64 outputs.
//
// Semantics are the reference's (ir::fused::weighted_result) without post-ops or residual: the real
// value acc * x_scale * w_scale[n] + bias[n] (here in float, the scale a float of the double
// product: a few 1e-7 relative), as float, or quantized as saturate(round_half_even(v / y_scale) +
// zp) computed as v * (1 / y_scale): the same integer except next to a tie, within the one int8
// step every fused kernel is held to.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/fused_ops.h"

namespace qat::onednn {

// Rows of A from which oneDNN's matmul is used instead, and the multiply-adds per row below which
// its call is cheap enough (as kGemvF32MaxRows / kGemvF32MinMacs).
inline constexpr int64_t kGemvInt8MaxRows = 4;
inline constexpr int64_t kGemvInt8MinMacs = 1 << 16;

// Whether a QGemm fits: no post-ops, no residual, K % 4 == 0 (whole dwords of input per step),
// K <= 32768 (int32 sums), on a machine with AVX-512 F, BW, VL, DQ and VNNI.
bool gemv_int8_fits(const ir::fused::FusedOpInfo& info, int64_t k);

class GemvInt8 {
  public:
    // w: the weights as the QGemm holds them (trans_b: N x K, else K x N), int8; bias: N floats in
    // real units or null. x_is_u8: how the input's bytes are stored (a u8-labelled int8 tensor
    // holds 0..127).
    void init(const int8_t* w, int64_t n, int64_t k, bool trans_b, const float* bias,
              const ir::fused::FusedOpInfo& info, bool x_is_u8);

    // x: m x K bytes (m <= kGemvInt8MaxRows), y: m x N of the op's output type. Runs on up to
    // `threads` OpenMP threads.
    void run(const void* x, int64_t m, void* y, int threads) const;

    bool ready() const { return n_ > 0; }
    bool x_is_u8() const { return x_u8_; }
    size_t packed_bytes() const { return packed_.size(); }

  private:
    int64_t n_ = 0, k_ = 0, blocks_ = 0;  // blocks_: of 64 outputs
    bool x_u8_ = true;
    bool quantized_ = false, y_u8_ = false;
    int32_t lo_ = 0, hi_ = 0;     // the output type's range (quantized)
    std::vector<int8_t> packed_;  // [block][K/4][64][4]
    std::vector<float> scale_;    // per output, padded: x_scale * w_scale (quantized: / y_scale)
    std::vector<float> bias_;     // per output, padded: real units (quantized: / y_scale + zp)
    std::vector<int32_t> comp_;   // per output, padded: the input zero point as read * sum of w
};

}  // namespace qat::onednn
