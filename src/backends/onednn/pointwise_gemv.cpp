#include "backends/onednn/pointwise_gemv.h"

#include <algorithm>

namespace qat::onednn {
namespace {

// Largest C for which float sums of (x - zp) * w products are exact integers (< 2^24).
constexpr int64_t kExactFloatChannels = (int64_t{1} << 24) / (255 * 127);

int32_t dot_s16_s8(const int16_t* x, const int8_t* w, int64_t c) {
    int32_t acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t k = 0; k < c; ++k) acc += static_cast<int32_t>(x[k]) * static_cast<int32_t>(w[k]);
    return acc;
}

template <typename T>
void transpose_into(const T* w, int64_t m, int64_t c, std::vector<float>& wt) {
    wt.resize(static_cast<size_t>(m * c));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t k = 0; k < c; ++k) wt[static_cast<size_t>(k * m + i)] = static_cast<float>(w[i * c + k]);
}

}  // namespace

void PointwiseGemv::init_int8(const int8_t* w, int64_t m, int64_t c, const float* bias,
                              const ir::fused::FusedOpInfo& info) {
    m_ = m;
    c_ = c;
    w8_ = w;
    bias_ = bias;
    info_ = info;
    if (c <= kExactFloatChannels) transpose_into(w, m, c, wt_);
}

void PointwiseGemv::init_f32(const float* w, int64_t m, int64_t c, const float* bias,
                             const ir::fused::FusedOpInfo* info) {
    m_ = m;
    c_ = c;
    bias_ = bias;
    if (info) info_ = *info;
    transpose_into(w, m, c, wt_);
}

void PointwiseGemv::accumulate(int64_t b, const float* x, float* acc) const {
    std::fill(acc, acc + m_, 0.0f);
    for (int64_t k = 0; k < c_; ++k) {
        const float xv = x[b * c_ + k];
        if (xv == 0.0f) continue;  // ReLU'd inputs are often zero
        const float* wr = wt_.data() + k * m_;
#pragma omp simd
        for (int64_t i = 0; i < m_; ++i) acc[i] += xv * wr[i];
    }
}

void PointwiseGemv::run_int8(int64_t n, const void* x, bool x_is_u8, void* y) {
    const ir::fused::FusedOpInfo& info = *info_;
    auto centered = [&](int64_t i) {
        return (x_is_u8 ? static_cast<int32_t>(static_cast<const uint8_t*>(x)[i])
                        : static_cast<int32_t>(static_cast<const int8_t*>(x)[i])) -
               info.x_zero_point;
    };
    // The reference's formula for each output (ir::fused::weighted_result, store_result).
    auto finish = [&](int64_t b, int64_t i, int64_t acc) {
        ir::fused::store_result(info, ir::fused::weighted_result(info, acc, i, bias_, 0.0f), y, b * m_ + i);
    };
    if (!wt_.empty()) {
        // Float sums of integer products, exact below 2^24 (kExactFloatChannels).
        xf_.resize(static_cast<size_t>(c_));
        acc_.resize(static_cast<size_t>(m_));
        for (int64_t b = 0; b < n; ++b) {
            for (int64_t k = 0; k < c_; ++k) xf_[static_cast<size_t>(k)] = static_cast<float>(centered(b * c_ + k));
            accumulate(0, xf_.data(), acc_.data());
            for (int64_t i = 0; i < m_; ++i) finish(b, i, static_cast<int64_t>(acc_[static_cast<size_t>(i)]));
        }
    } else {
        xc_.resize(static_cast<size_t>(c_));
        for (int64_t b = 0; b < n; ++b) {
            for (int64_t k = 0; k < c_; ++k) xc_[static_cast<size_t>(k)] = static_cast<int16_t>(centered(b * c_ + k));
            for (int64_t i = 0; i < m_; ++i) finish(b, i, dot_s16_s8(xc_.data(), w8_ + i * c_, c_));
        }
    }
}

void PointwiseGemv::run_f32(int64_t n, const float* x, float* y) {
    for (int64_t b = 0; b < n; ++b) {
        float* yr = y + b * m_;
        accumulate(b, x, yr);
        for (int64_t i = 0; i < m_; ++i) {
            const float v = yr[i] + (bias_ ? bias_[i] : 0.0f);
            yr[i] = info_ ? ir::fused::apply_post_ops(*info_, v, 0.0f) : v;
        }
    }
}

}  // namespace qat::onednn
