#include "backends/onednn/channel_scale.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/onednn/avx512.h"

namespace qat::onednn {
namespace {

#if defined(__x86_64__)
#define QAT_AVX512_BW __attribute__((target("avx512f,avx512bw,avx512vl")))

// 16 channels (those of mask k): y = clamp(round(x * m) + zp, lo, hi).
QAT_AVX512_BW inline __attribute__((always_inline)) void scale16(const uint8_t* x, const float* m, uint8_t* y,
                                                                 __mmask16 k, bool x_u8, __m512i zp, __m512i lo,
                                                                 __m512i hi) {
    const __m128i b = _mm_maskz_loadu_epi8(k, x);
    const __m512i xi = x_u8 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
    const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(xi), _mm512_maskz_loadu_ps(k, m));
    // cvtps rounds half to even in the default rounding mode, as ONNX's QuantizeLinear.
    const __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
    _mm512_mask_cvtepi32_storeu_epi8(y, k, _mm512_min_epi32(_mm512_max_epi32(r, lo), hi));
}

// 64 channels: y = clamp(round(x * m) + zp, lo, hi) with the sums narrowed by saturating packs
// (the type's range), the zero point added on the int16 words (saturating: a word that saturated
// lies beyond every bound either way) and the bounds applied on the bytes: 25 instructions per 64
// outputs against 9 per 16 with scale16's widening masked store (each 16 bytes loaded and widened
// in one instruction; the packs interleave the four registers' lanes, one dword permute puts them
// back).
template <bool kXU8, bool kYU8>
QAT_AVX512_BW inline __attribute__((always_inline)) void scale64(const uint8_t* x, const float* m, uint8_t* y,
                                                                 __m512i zp16, __m512i lo8, __m512i hi8,
                                                                 __m512i order) {
    __m512i r[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16 * j));
        const __m512i xi = kXU8 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
        r[j] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(xi), _mm512_loadu_ps(m + 16 * j)));
    }
    const __m512i a = _mm512_adds_epi16(_mm512_packs_epi32(r[0], r[1]), zp16);
    const __m512i b = _mm512_adds_epi16(_mm512_packs_epi32(r[2], r[3]), zp16);
    // Dword 4 L + j of the packed bytes holds register j's outputs 4 L .. 4 L + 3.
    __m512i o = _mm512_permutexvar_epi32(order, kYU8 ? _mm512_packus_epi16(a, b) : _mm512_packs_epi16(a, b));
    o = kYU8 ? _mm512_min_epu8(_mm512_max_epu8(o, lo8), hi8) : _mm512_min_epi8(_mm512_max_epi8(o, lo8), hi8);
    _mm512_storeu_si512(y, o);
}

// Pixels of C channels each: 64 channels per step, then 16 per step, the last one masked.
template <bool kXU8, bool kYU8>
QAT_AVX512_BW void scale_pixels_avx512(const uint8_t* x, const float* m, int64_t pixels, int64_t c,
                                       const ChannelScaleQ8& q, uint8_t* y) {
    const __m512i zp = _mm512_set1_epi32(q.y_zero_point), lo = _mm512_set1_epi32(q.lo), hi = _mm512_set1_epi32(q.hi);
    const __m512i lo8 = _mm512_set1_epi8(static_cast<char>(q.lo)), hi8 = _mm512_set1_epi8(static_cast<char>(q.hi));
    const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(q.y_zero_point));
    // Output dword 4 j + L (register j's outputs 4 L ..) from packed dword 4 L + j.
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const int64_t wide = c / 64 * 64, full = c / 16 * 16;
    const __mmask16 tail = static_cast<__mmask16>((1u << (c - full)) - 1);
    for (int64_t p = 0; p < pixels; ++p, x += c, y += c) {
        int64_t k = 0;
        for (; k < wide; k += 64) scale64<kXU8, kYU8>(x + k, m + k, y + k, zp16, lo8, hi8, order);
        for (; k < full; k += 16) scale16(x + k, m + k, y + k, 0xFFFF, kXU8, zp, lo, hi);
        if (tail) scale16(x + full, m + full, y + full, tail, kXU8, zp, lo, hi);
    }
}

void scale_pixels_vec(const uint8_t* x, const float* m, int64_t pixels, int64_t c, const ChannelScaleQ8& q,
                      uint8_t* y) {
    if (q.x_u8)
        return q.y_u8 ? scale_pixels_avx512<true, true>(x, m, pixels, c, q, y)
                      : scale_pixels_avx512<true, false>(x, m, pixels, c, q, y);
    return q.y_u8 ? scale_pixels_avx512<false, true>(x, m, pixels, c, q, y)
                  : scale_pixels_avx512<false, false>(x, m, pixels, c, q, y);
}
#endif

void scale_pixels_plain(const uint8_t* x, const float* m, int64_t pixels, int64_t c, const ChannelScaleQ8& q,
                        uint8_t* y) {
    for (int64_t p = 0; p < pixels; ++p, x += c, y += c)
        for (int64_t k = 0; k < c; ++k) {
            const float xv = q.x_u8 ? static_cast<float>(x[k]) : static_cast<float>(static_cast<int8_t>(x[k]));
            const int32_t r = static_cast<int32_t>(std::nearbyint(xv * m[k])) + q.y_zero_point;
            y[k] = static_cast<uint8_t>(std::min(std::max(r, q.lo), q.hi));
        }
}

}  // namespace

bool channel_scale_q8_available() { return avx512bw_available(); }

void channel_scale_q8(const ChannelScaleShape& s, const ChannelScaleQ8& q, const void* x, const void* g, void* y,
                      int threads, std::vector<float>* multipliers) {
    // One multiplier per channel and sample: the gate's real value times x_scale / y_scale.
    const int64_t gates = s.gate_per_sample ? s.n : 1;
    std::vector<float>& m = *multipliers;
    m.resize(static_cast<size_t>(gates * s.c));
    const uint8_t* gb = static_cast<const uint8_t*>(g);
    const float k = q.x_scale / q.y_scale;
    for (size_t i = 0; i < m.size(); ++i) {
        const float gv = q.g_u8 ? static_cast<float>(gb[i]) : static_cast<float>(static_cast<int8_t>(gb[i]));
        m[i] = gv * q.g_scale * k;
    }
    const int64_t pixels = s.n * s.hw;
    // Ranges of at least 16 KB: a smaller one costs more to hand to a thread than to scale.
    const int nt = static_cast<int>(std::clamp<int64_t>(pixels * s.c / (16 << 10), 1, std::max(1, threads)));
    const bool vec = channel_scale_q8_available();
    auto work = [&](int t) {
        const int64_t p0 = pixels * t / nt, p1 = pixels * (t + 1) / nt;
        // A range may cross images: each image's pixels with its own multipliers.
        for (int64_t p = p0; p < p1;) {
            const int64_t b = p / s.hw, end = std::min(p1, (b + 1) * s.hw);
            const uint8_t* xp = static_cast<const uint8_t*>(x) + p * s.c;
            uint8_t* yp = static_cast<uint8_t*>(y) + p * s.c;
            const float* mp = m.data() + (s.gate_per_sample ? b : 0) * s.c;
#if defined(__x86_64__)
            if (vec)
                scale_pixels_vec(xp, mp, end - p, s.c, q, yp);
            else
#endif
                scale_pixels_plain(xp, mp, end - p, s.c, q, yp);
            p = end;
        }
    };

    if (nt == 1) {
        work(0);
    } else {
#pragma omp parallel num_threads(nt)
        work(omp_get_thread_num());
    }
}

void channel_scale_f32(const ChannelScaleShape& s, const float* x, const float* g, float* y) {
    if (s.channels_last) {
        const int64_t pixels = s.n * s.hw;
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < pixels; ++p) {
            const float* gr = g + (s.gate_per_sample ? p / s.hw : 0) * s.c;
            const float* xp = x + p * s.c;
            float* yp = y + p * s.c;
#pragma omp simd
            for (int64_t k = 0; k < s.c; ++k) yp[k] = xp[k] * gr[k];
        }
    } else {
        const int64_t runs = s.n * s.c;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < runs; ++r) {
            const float gv = g[(s.gate_per_sample ? r / s.c : 0) * s.c + r % s.c];
            const float* xp = x + r * s.hw;
            float* yp = y + r * s.hw;
#pragma omp simd
            for (int64_t k = 0; k < s.hw; ++k) yp[k] = xp[k] * gv;
        }
    }
}

}  // namespace qat::onednn
