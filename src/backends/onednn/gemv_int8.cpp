#include "backends/onednn/gemv_int8.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "backends/onednn/avx512.h"
#include "backends/onednn/pointwise_int8.h"

namespace qat::onednn {
namespace {

constexpr int64_t kBlock = 64;  // outputs per block: four registers of 16 int32 sums

// What a run hands the loop.
struct Args {
    const uint8_t* x;  // m rows of K bytes
    int64_t k4, n;     // dwords per row, outputs
    const int8_t* packed;
    const float *scale, *bias;
    const int32_t* comp;  // null: no zero point term
    bool flip;            // s8 input: read as u8 (x + 128)
    bool quantized, y_u8;
    int32_t lo, hi;
    void* y;
};

#if defined(__x86_64__)
#define QAT_GEMV_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

// Blocks [b0, b1) of 64 outputs for kM rows: the sums of each block in 4 x kM registers, each 64
// bytes of weights loaded once for all rows, then the epilogue per 16 outputs.
template <int kM>
QAT_GEMV_VNNI void run_blocks(const Args& a, int64_t b0, int64_t b1) {
    const __m512i flip = _mm512_set1_epi32(a.flip ? static_cast<int32_t>(0x80808080u) : 0);
    const int64_t k = a.k4 * 4;
    for (int64_t b = b0; b < b1; ++b) {
        const int8_t* w = a.packed + b * a.k4 * kBlock * 4;
        __m512i acc[kM][4];
        for (int r = 0; r < kM; ++r)
            for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_si512();
        for (int64_t i = 0; i < a.k4; ++i, w += kBlock * 4) {
            const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 64);
            const __m512i w2 = _mm512_loadu_si512(w + 128), w3 = _mm512_loadu_si512(w + 192);
            for (int r = 0; r < kM; ++r) {
                int32_t d;
                __builtin_memcpy(&d, a.x + r * k + 4 * i, 4);
                const __m512i xv = _mm512_xor_si512(_mm512_set1_epi32(d), flip);
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], xv, w0);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], xv, w1);
                acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], xv, w2);
                acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], xv, w3);
            }
        }
        for (int j = 0; j < 4; ++j) {
            const int64_t o = b * kBlock + 16 * j;
            if (o >= a.n) break;
            const __mmask16 m = a.n - o >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (a.n - o)) - 1);
            const __m512 sc = _mm512_loadu_ps(a.scale + o), bi = _mm512_loadu_ps(a.bias + o);
            const __m512i comp = a.comp ? _mm512_loadu_si512(a.comp + o) : _mm512_setzero_si512();
            for (int r = 0; r < kM; ++r) {
                const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], comp)), sc, bi);
                if (!a.quantized) {
                    _mm512_mask_storeu_ps(static_cast<float*>(a.y) + r * a.n + o, m, v);
                    continue;
                }
                // In output units with the zero point; cvtps rounds half to even (default mode).
                __m512i q = _mm512_cvtps_epi32(v);
                q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(a.lo)), _mm512_set1_epi32(a.hi));
                _mm512_mask_cvtepi32_storeu_epi8(static_cast<uint8_t*>(a.y) + r * a.n + o, m, q);
            }
        }
    }
}
#endif

}  // namespace

bool gemv_int8_fits(const ir::fused::FusedOpInfo& info, int64_t k) {
    return pointwise_int8_available() && info.post_ops.empty() && !info.has_residual() && k > 0 && k % 4 == 0 &&
           k <= 32768;
}

void GemvInt8::init(const int8_t* w, int64_t n, int64_t k, bool trans_b, const float* bias,
                    const ir::fused::FusedOpInfo& info, bool x_is_u8) {
    n_ = n;
    k_ = k;
    x_u8_ = x_is_u8;
    quantized_ = info.quantized_output();
    y_u8_ = info.out_dtype == DataType::kUint8;
    lo_ = y_u8_ ? 0 : -128;
    hi_ = y_u8_ ? 255 : 127;
    blocks_ = (n + kBlock - 1) / kBlock;
    const int64_t k4 = k / 4, padded = blocks_ * kBlock;
    auto weight = [&](int64_t o, int64_t i) { return trans_b ? w[o * k + i] : w[i * n + o]; };
    packed_.assign(static_cast<size_t>(padded * k), 0);
    for (int64_t o = 0; o < n; ++o)
        for (int64_t i = 0; i < k; ++i)
            packed_[static_cast<size_t>(((o / kBlock * k4 + i / 4) * kBlock + o % kBlock) * 4 + i % 4)] = weight(o, i);
    // The input's zero point as the loop reads it: an s8 byte is read as x + 128.
    const int32_t zp = info.x_zero_point + (x_is_u8 ? 0 : 128);
    const float inv_y = 1.0f / info.y_scale;
    scale_.assign(static_cast<size_t>(padded), 0.0f);
    bias_.assign(static_cast<size_t>(padded), 0.0f);
    comp_.assign(zp != 0 ? static_cast<size_t>(padded) : 0, 0);
    for (int64_t o = 0; o < n; ++o) {
        const float ws = info.w_scales.size() == 1 ? info.w_scales[0] : info.w_scales[static_cast<size_t>(o)];
        const float sc = static_cast<float>(static_cast<double>(info.x_scale) * ws);
        const float bc = bias ? bias[o] : 0.0f;
        scale_[static_cast<size_t>(o)] = quantized_ ? sc * inv_y : sc;
        bias_[static_cast<size_t>(o)] = quantized_ ? bc * inv_y + static_cast<float>(info.y_zero_point) : bc;
        if (!comp_.empty()) {
            int32_t sum = 0;
            for (int64_t i = 0; i < k; ++i) sum += weight(o, i);
            comp_[static_cast<size_t>(o)] = zp * sum;
        }
    }
}

void GemvInt8::run(const void* x, int64_t m, void* y, int threads) const {
#if defined(__x86_64__)
    const Args a{static_cast<const uint8_t*>(x),
                 k_ / 4,
                 n_,
                 packed_.data(),
                 scale_.data(),
                 bias_.data(),
                 comp_.empty() ? nullptr : comp_.data(),
                 !x_u8_,
                 quantized_,
                 y_u8_,
                 lo_,
                 hi_,
                 y};
    using Fn = void (*)(const Args&, int64_t, int64_t);
    static constexpr Fn kRows[kGemvInt8MaxRows] = {run_blocks<1>, run_blocks<2>, run_blocks<3>, run_blocks<4>};
    const Fn f = kRows[std::clamp<int64_t>(m, 1, kGemvInt8MaxRows) - 1];
    const int nt = static_cast<int>(std::clamp<int64_t>(threads, 1, blocks_));
    if (nt == 1) return f(a, 0, blocks_);
#pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), ts = omp_get_num_threads();
        f(a, blocks_ * t / ts, blocks_ * (t + 1) / ts);
    }
#else
    (void)x, (void)m, (void)y, (void)threads;
#endif
}

}  // namespace qat::onednn
