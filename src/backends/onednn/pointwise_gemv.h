// 1x1 convolutions on a 1x1 input (N x C x 1 x 1 -> N x M x 1 x 1): matrix-vector products, as a
// plain loop for the conv kernel (onednn_conv.cpp). These are the squeeze-and-excitation reduce /
// expand convolutions of EfficientNet and MobileNetV3 (a few thousand to ~55k multiply-adds each);
// oneDNN 2.6 spends 13-17 us of dispatch per call on them here (brgconv_1x1, measured with 1 and 2
// threads alike), 32 calls per EfficientNet-B0 inference, where the products take a few us.
//
// Semantics are the reference backend's (backends/ref/fused.cpp): INT8 sums (x - x_zero_point) * w
// exactly, the real value is acc * x_scale * w_scale[m] + bias[m] in double, then the post-ops
// (ir::fused::apply_post_ops) and the ONNX output quantization; FP32 sums x * w in float (in
// another order than the reference: re-associated) plus bias, then the post-ops. No residual.
//
// The sums run input-channel-outer over weights transposed to C x M, so the inner loop is a
// vector multiply-add across output channels (the expand convolutions have C = 4..48 and M up to
// 1152: one short dot product per output costs more than the products). INT8 sums in float are
// exact while every partial sum stays below 2^24 (C <= 518 with |x - zp| <= 255, |w| <= 127);
// longer ones use an int32 dot product per output instead.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/fused_ops.h"

namespace qat::onednn {

// Where the loop beats oneDNN's dispatch on this machine: up to this many multiply-adds and output
// channels per call (the scalar epilogue costs 10-40 ns per output, oneDNN's vectorized one far
// less: EfficientNet-B0's 1152-channel expand took ~50 us here against ~15 us on oneDNN).
inline constexpr int64_t kGemvMaxMacs = 1 << 16;
inline constexpr int64_t kGemvMaxOutputs = 256;

class PointwiseGemv {
  public:
    // w: M x C row-major (ONNX [M, C, 1, 1]) and bias (M floats or null) are the node's constants,
    // kept by pointer; w is also transposed into a float copy here. `info`: the fused op's
    // attributes (scales, post-ops, output type); null for a plain Conv.
    void init_int8(const int8_t* w, int64_t m, int64_t c, const float* bias, const ir::fused::FusedOpInfo& info);
    void init_f32(const float* w, int64_t m, int64_t c, const float* bias, const ir::fused::FusedOpInfo* info);

    // x: n x C int8 (x_is_u8: uint8); y: n x M of the op's out_dtype.
    void run_int8(int64_t n, const void* x, bool x_is_u8, void* y);
    // x: n x C floats; y: n x M floats.
    void run_f32(int64_t n, const float* x, float* y);

  private:
    // acc[0, M) = row b of x times W^T (float; C x M weights).
    void accumulate(int64_t b, const float* x, float* acc) const;

    int64_t m_ = 0, c_ = 0;
    const int8_t* w8_ = nullptr;
    const float* bias_ = nullptr;
    std::optional<ir::fused::FusedOpInfo> info_;
    std::vector<float> wt_;        // C x M
    std::vector<float> xf_, acc_;  // one row of centered int8 input; its M sums (float path)
    std::vector<int16_t> xc_;
};

}  // namespace qat::onednn
