// FP32 Gemm of a few rows against large constant weights (a classifier at batch 1..4: MobileNetV2's
// 1280 -> 1000, 5 MB of weights) as a plain threaded loop for the matmul kernel
// (onednn_matmul.cpp). Such a product only streams the weights once; oneDNN 2.6's matmul read them
// at ~20 GB/s here (0.25-0.27 ms for MobileNetV2's), ONNX Runtime's at ~25 GB/s (0.21 ms). This
// loop reads each weight row once for all input rows, with vector dot products split between the
// threads by output rows.
//
// Semantics: y[i][n] = alpha * sum_k a[i][k] * w[n][k] + c[n], in float (another summation order
// than the reference's: re-associated).
#pragma once

#include <cstdint>
#include <vector>

namespace qat::onednn {

// Rows of A and multiply-adds from which the loop is used: up to 4 rows (one weight row serves
// them all from registers), from 64k multiply-adds per row (below, oneDNN's call is cheap enough).
inline constexpr int64_t kGemvF32MaxRows = 4;
inline constexpr int64_t kGemvF32MinMacs = 1 << 16;

class GemvF32 {
  public:
    // w: the weights as the Gemm holds them (trans_b: N x K, else K x N), copied to N x K; c:
    // the bias over the N outputs (null for none), already beta * C; alpha: the product's scale.
    void init(const float* w, int64_t n, int64_t k, bool trans_b, const float* c, float alpha);

    // a: m x K row-major (m <= kGemvF32MaxRows), y: m x N. Runs on up to `threads` OpenMP threads.
    void run(const float* a, int64_t m, float* y, int threads) const;

    bool ready() const { return n_ > 0; }

  private:
    int64_t n_ = 0, k_ = 0;
    float alpha_ = 1;
    std::vector<float> w_;     // N x K
    std::vector<float> bias_;  // N (zeros without C)
};

}  // namespace qat::onednn
