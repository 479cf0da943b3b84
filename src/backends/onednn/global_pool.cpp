#include "backends/onednn/global_pool.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "backends/onednn/avx512.h"

#if defined(__x86_64__)
#define QAT_GAP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QAT_GAP_CLONES
#endif

namespace qat::onednn {
namespace {

// acc[0, c) += sum of pixels [p0, p1) of one image (hw x c floats at x).
QAT_GAP_CLONES void sum_pixels(const float* x, int64_t c, int64_t p0, int64_t p1, float* acc) {
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) {
        const float* a = x + p * c;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) acc[k] += (a[k] + a[c + k]) + (a[2 * c + k] + a[3 * c + k]);
    }
    for (; p < p1; ++p) {
        const float* a = x + p * c;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) acc[k] += a[k];
    }
}

#if defined(__x86_64__)
#define QAT_GAP_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl")))

// 32 channels (those of mask m) of one pixel as int16.
template <bool kU8>
QAT_GAP_AVX512 inline __attribute__((always_inline)) __m512i widen16(__mmask32 m, const uint8_t* p) {
    const __m256i b = _mm256_maskz_loadu_epi8(m, p);
    return kU8 ? _mm512_cvtepu8_epi16(b) : _mm512_cvtepi8_epi16(b);
}

// int32 += the 32 int16 lanes of v (two registers of 16).
QAT_GAP_AVX512 inline __attribute__((always_inline)) void add_wide(__m512i v, __m512i& lo, __m512i& hi) {
    lo = _mm512_add_epi32(lo, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(v)));
    hi = _mm512_add_epi32(hi, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(v, 1)));
}

// acc[k0, k0 + 32 R) += the bytes of pixels [p0, p1) at those channels: R registers of 32 int16
// sums over runs of 128 pixels (|sum| <= 128 x 255 fits), then widened into int32 ones. Two
// instructions per 32 channels and pixel (a widening load, an add); int32 sums directly took six
// per 32 (and an array of accumulators was kept on the stack: 14 cycles per pixel).
template <bool kU8, int R>
QAT_GAP_AVX512 void sum_block(const uint8_t* x, int64_t c, int64_t k0, int64_t p0, int64_t p1, int32_t* acc) {
    constexpr int64_t kRun = 128;
    __mmask32 m[R];
    __m512i lo[R], hi[R];
    for (int r = 0; r < R; ++r) {
        const int64_t left = c - k0 - 32 * r;
        m[r] = left >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << left) - 1);
        lo[r] = hi[r] = _mm512_setzero_si512();
    }
    const uint8_t* px = x + p0 * c + k0;
    for (int64_t q0 = p0; q0 < p1; q0 += kRun) {
        const int64_t q1 = std::min(p1, q0 + kRun);
        __m512i s[R];
        for (int r = 0; r < R; ++r) s[r] = _mm512_setzero_si512();
        for (int64_t p = q0; p < q1; ++p, px += c)
#pragma GCC unroll 2
            for (int r = 0; r < R; ++r) s[r] = _mm512_add_epi16(s[r], widen16<kU8>(m[r], px + 32 * r));
        for (int r = 0; r < R; ++r) add_wide(s[r], lo[r], hi[r]);
    }
    for (int r = 0; r < R; ++r) {
        int32_t* o = acc + k0 + 32 * r;
        const __mmask16 ml = static_cast<__mmask16>(m[r]), mh = static_cast<__mmask16>(m[r] >> 16);
        _mm512_mask_storeu_epi32(o, ml, _mm512_add_epi32(_mm512_maskz_loadu_epi32(ml, o), lo[r]));
        _mm512_mask_storeu_epi32(o + 16, mh, _mm512_add_epi32(_mm512_maskz_loadu_epi32(mh, o + 16), hi[r]));
    }
}

// acc[0, c) += the bytes of pixels [p0, p1) of one image (hw x c bytes at x): 64 channels per
// pass over the pixels, 32 for the last 32 or fewer.
template <bool kU8>
QAT_GAP_AVX512 void sum_bytes(const uint8_t* x, int64_t c, int64_t p0, int64_t p1, int32_t* acc) {
    for (int64_t k0 = 0; k0 < c; k0 += 64) {
        if (c - k0 > 32)
            sum_block<kU8, 2>(x, c, k0, p0, p1, acc);
        else
            sum_block<kU8, 1>(x, c, k0, p0, p1, acc);
    }
}

void sum_bytes_any(const uint8_t* x, int64_t c, int64_t p0, int64_t p1, bool u8, int32_t* acc) {
    if (u8)
        sum_bytes<true>(x, c, p0, p1, acc);
    else
        sum_bytes<false>(x, c, p0, p1, acc);
}

// The outputs of one image from its channels' sums, 8 channels per step: the mean in double (as
// the reference's double sum), to float, divided by y_scale, rounded half to even, plus the zero
// point, clamped (a scalar loop of the same took ~3 us for 1152 channels).
QAT_GAP_AVX512 void finish_q8(const int32_t* sum, int64_t c, int64_t hw, const GapQ8& q, void* y) {
    const __m512d k = _mm512_set1_pd(static_cast<double>(q.x_scale) / static_cast<double>(hw));
    const __m512d z = _mm512_set1_pd(static_cast<double>(hw) * q.x_zero_point);
    const __m256 ys = _mm256_set1_ps(q.y_scale);
    const __m256i yz = _mm256_set1_epi32(q.y_zero_point);
    const __m256i lo = _mm256_set1_epi32(q.out == 2 ? 0 : -128), hi = _mm256_set1_epi32(q.out == 2 ? 255 : 127);
    for (int64_t i = 0; i < c; i += 8) {
        const __mmask8 m = c - i >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << (c - i)) - 1);
        const __m512d s = _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(m, sum + i));
        const __m256 mean = _mm512_cvtpd_ps(_mm512_mul_pd(k, _mm512_sub_pd(s, z)));
        if (q.out == 0) {
            _mm256_mask_storeu_ps(static_cast<float*>(y) + i, m, mean);
            continue;
        }
        // cvtps rounds half to even (the default rounding mode), as ONNX's QuantizeLinear.
        __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_div_ps(mean, ys)), yz);
        r = _mm256_min_epi32(_mm256_max_epi32(r, lo), hi);
        _mm256_mask_cvtepi32_storeu_epi8(static_cast<uint8_t*>(y) + i, m, r);
    }
}
#endif

// A page of 4-byte sums (float or int32): each thread's slice of scratch starts on one.
constexpr int64_t kPageValues = 1024;
// Float images smaller than this (floats) stay on one thread: the fork costs more than half the sum.
constexpr int64_t kSplitMin = 32 * 1024;
int64_t slice(int64_t c) { return (c + kPageValues - 1) / kPageValues * kPageValues; }

// Both pools' threading. Whole images per thread (one image on the calling thread: no fork), or,
// with fewer images than threads and images of split_min values or more, each image's pixels
// split between the threads, each thread summing into a page-aligned slice of scratch of its own
// (threads writing one shared page ran 2-3x slower on this VM), the slices then added into the
// first. sum(b, p0, p1, acc) adds pixels [p0, p1) of image b into acc (c values, zeroed here);
// finish(b, acc) writes image b's outputs from its sums.
template <class T, class Sum, class Finish>
void pool_images(int64_t n, int64_t hw, int64_t c, int threads, int64_t split_min, T* scratch, Sum sum, Finish finish) {
    const int nt = std::max(1, threads);
    const int64_t s = slice(c);
    if (n >= nt || hw * c < split_min || nt == 1) {
        const int used = static_cast<int>(std::min<int64_t>(nt, n));
#pragma omp parallel for schedule(static) num_threads(used) if (used > 1)
        for (int64_t b = 0; b < n; ++b) {
            T* acc = scratch + omp_get_thread_num() * s;
            std::fill(acc, acc + c, T{0});
            sum(b, 0, hw, acc);
            finish(b, acc);
        }
        return;
    }
    for (int64_t b = 0; b < n; ++b) {
        int used = 1;
#pragma omp parallel num_threads(nt)
        {
            const int t = omp_get_thread_num(), m = omp_get_num_threads();
            if (t == 0) used = m;
            T* acc = scratch + t * s;
            std::fill(acc, acc + c, T{0});
            sum(b, hw * t / m, hw * (t + 1) / m, acc);
        }
        for (int t = 1; t < used; ++t)
            for (int64_t k = 0; k < c; ++k) scratch[k] += scratch[t * s + k];
        finish(b, scratch);
    }
}

}  // namespace

int64_t global_avg_pool_scratch(int64_t c, int threads) { return slice(c) * std::max(1, threads); }

void global_avg_pool_nhwc(int64_t n, int64_t hw, int64_t c, const float* x, float* y, int threads, float* scratch) {
    const float inv = 1.0f / static_cast<float>(hw);
    pool_images(
        n, hw, c, threads, kSplitMin, scratch,
        [&](int64_t b, int64_t p0, int64_t p1, float* acc) { sum_pixels(x + b * hw * c, c, p0, p1, acc); },
        [&](int64_t b, const float* acc) {
            for (int64_t k = 0; k < c; ++k) y[b * c + k] = acc[k] * inv;
        });
}

bool global_avg_pool_q8_available() { return avx512bw_available(); }

void global_avg_pool_q8_nhwc(int64_t n, int64_t hw, int64_t c, const GapQ8& q, const void* x, void* y, int threads,
                             int32_t* scratch) {
#if defined(__x86_64__)
    const auto* xb = static_cast<const uint8_t*>(x);
    const int64_t out_bytes = q.out == 0 ? 4 : 1;
    // Images from 32 KB on are split, each thread summing the rows our depthwise kernel's thread
    // wrote, which its core holds in its own L2: one thread reading the other core's half cost more
    // than the fork / join (EfficientNet-B0 at batch 1, its SE pools of 33-451 KB: with 256 KB as
    // the bound 2.38 ms, with 32 KB 2.31 ms; docs/BENCHMARKS.md). Smaller ones stay on one thread.
    pool_images(
        n, hw, c, threads, 32 * 1024, scratch,
        [&](int64_t b, int64_t p0, int64_t p1, int32_t* acc) {
            sum_bytes_any(xb + b * hw * c, c, p0, p1, q.x_u8, acc);
        },
        [&](int64_t b, const int32_t* acc) { finish_q8(acc, c, hw, q, static_cast<uint8_t*>(y) + b * c * out_bytes); });
#else
    (void)n, (void)hw, (void)c, (void)q, (void)x, (void)y, (void)threads, (void)scratch;
#endif
}

}  // namespace qat::onednn
