#include "backends/onednn/pointwise_gemv.h"

#include <algorithm>

#include "core/qmath.h"

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

void PointwiseGemv::init_int8(const int8_t* w, int64_t m, int64_t c) {
    m_ = m;
    c_ = c;
    w8_ = w;
    if (c <= kExactFloatChannels) transpose_into(w, m, c, wt_);
}

void PointwiseGemv::init_f32(const float* w, int64_t m, int64_t c) {
    m_ = m;
    c_ = c;
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

void PointwiseGemv::run_int8(int64_t n, const ir::fused::FusedOpInfo& info, const void* x, bool x_is_u8,
                             const float* bias, void* y) {
    const int64_t len = n * c_;
    const int32_t zp = info.x_zero_point;
    auto centered = [&](int64_t i) {
        return (x_is_u8 ? static_cast<int32_t>(static_cast<const uint8_t*>(x)[i])
                        : static_cast<int32_t>(static_cast<const int8_t*>(x)[i])) -
               zp;
    };
    const bool float_sums = !wt_.empty();
    if (float_sums) {
        xf_.resize(static_cast<size_t>(len));
        for (int64_t i = 0; i < len; ++i) xf_[static_cast<size_t>(i)] = static_cast<float>(centered(i));
        acc_.resize(static_cast<size_t>(n * m_));
    } else {
        xc_.resize(static_cast<size_t>(len));
        for (int64_t i = 0; i < len; ++i) xc_[static_cast<size_t>(i)] = static_cast<int16_t>(centered(i));
    }
    const bool one_scale = info.w_scales.size() == 1;
    // The reference's finish(): real value in double, post-ops in float, ONNX quantization.
    auto finish = [&](int64_t b, int64_t i, double acc) {
        const double ws = info.w_scales[one_scale ? 0 : static_cast<size_t>(i)];
        double v = acc * static_cast<double>(info.x_scale) * ws;
        if (bias) v += bias[i];
        const float r = ir::fused::apply_post_ops(info, static_cast<float>(v), 0.0f);
        const int64_t o = b * m_ + i;
        switch (info.out_dtype) {
            case DataType::kInt8:
                static_cast<int8_t*>(y)[o] = qmath::quantize<int8_t>(r, info.y_scale, info.y_zero_point);
                break;
            case DataType::kUint8:
                static_cast<uint8_t*>(y)[o] = qmath::quantize<uint8_t>(r, info.y_scale, info.y_zero_point);
                break;
            default:
                static_cast<float*>(y)[o] = r;
                break;
        }
    };
    for (int64_t b = 0; b < n; ++b) {
        if (float_sums) {
            float* acc = acc_.data() + b * m_;
            accumulate(b, xf_.data(), acc);
            for (int64_t i = 0; i < m_; ++i) finish(b, i, acc[i]);
        } else {
            for (int64_t i = 0; i < m_; ++i) finish(b, i, dot_s16_s8(xc_.data() + b * c_, w8_ + i * c_, c_));
        }
    }
}

void PointwiseGemv::run_f32(int64_t n, const ir::fused::FusedOpInfo* info, const float* x, const float* bias,
                            float* y) {
    for (int64_t b = 0; b < n; ++b) {
        float* yr = y + b * m_;
        accumulate(b, x, yr);
        for (int64_t i = 0; i < m_; ++i) {
            const float v = yr[i] + (bias ? bias[i] : 0.0f);
            yr[i] = info ? ir::fused::apply_post_ops(*info, v, 0.0f) : v;
        }
    }
}

}  // namespace qat::onednn
