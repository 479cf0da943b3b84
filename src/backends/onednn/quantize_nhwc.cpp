#include "backends/onednn/quantize_nhwc.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own undefined-vector helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// The vector paths below are x86 ones; elsewhere the same loops compile as plain C++.
#define QAT_QUANTIZE_X86 1
#define QAT_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QAT_VECTOR_CLONES
#endif

#include <algorithm>
#include <array>
#include <cmath>

namespace qat::onednn {
namespace {

// Pixels per block and thread step: 512 rather than 64 quantizes a 224x224 image in ~0.03 ms
// instead of ~0.05 (fewer calls through the clone dispatch; docs/BENCHMARKS.md).
constexpr int64_t kPixels = 512;

// out[i] = saturate(round_half_even(x[i] / scale) + zero_point), NaN -> 0, as int32 within the
// output type's range [lo, hi]. The build targets baseline x86-64 (SSE2), which has no vector
// rounding: the AVX2 / AVX-512 clones (picked at load time) vectorize it, and nearbyint rounds
// half to even in the default rounding mode, as ONNX asks. (Writing bytes here instead of int32
// made GCC fall back to 16-byte vectors, 4x slower.)
QAT_VECTOR_CLONES void quantize_run(const float* x, int64_t len, float scale, float zp, float lo, float hi,
                                    int32_t* out) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) {
        float v = std::nearbyint(x[i] / scale) + zp;
        v = v != v ? 0.0f : v;  // NaN -> 0, like qmath::saturate_float
        v = std::min(std::max(v, lo), hi);
        out[i] = static_cast<int32_t>(v);
    }
}

#ifdef QAT_QUANTIZE_X86
// 16 in-range integers to 16 bytes with saturating packs (exact for values already in range).
__attribute__((target("ssse3"))) inline __m128i pack16(const int32_t* v, bool u8) {
    const __m128i* p = reinterpret_cast<const __m128i*>(v);
    const __m128i lo = _mm_packs_epi32(_mm_loadu_si128(p), _mm_loadu_si128(p + 1));
    const __m128i hi = _mm_packs_epi32(_mm_loadu_si128(p + 2), _mm_loadu_si128(p + 3));
    return u8 ? _mm_packus_epi16(lo, hi) : _mm_packs_epi16(lo, hi);
}

// Three channels of 16 pixels into 48 interleaved bytes with byte shuffles: byte j of the output
// is pixel j / 3 of channel j % 3. (One byte store per element measured ~70 us for a 224x224 image,
// more than the whole oneDNN reorder.)
__attribute__((target("ssse3"))) void interleave3_ssse3(const int32_t (*q)[kPixels], int64_t len, bool u8,
                                                        uint8_t* out) {
    alignas(16) static const auto masks = [] {
        struct M {
            int8_t m[3][3][16];  // [output vector][channel][byte]
        } t{};
        for (int v = 0; v < 3; ++v)
            for (int i = 0; i < 16; ++i) {
                const int j = 16 * v + i;
                for (int k = 0; k < 3; ++k) t.m[v][k][i] = static_cast<int8_t>(j % 3 == k ? j / 3 : 0x80);
            }
        return t;
    }();
    int64_t p = 0;
    for (; p + 16 <= len; p += 16) {
        __m128i ch[3];
        for (int k = 0; k < 3; ++k) ch[k] = pack16(q[k] + p, u8);
        for (int v = 0; v < 3; ++v) {
            __m128i o = _mm_setzero_si128();
            for (int k = 0; k < 3; ++k)
                o = _mm_or_si128(
                    o, _mm_shuffle_epi8(ch[k], _mm_load_si128(reinterpret_cast<const __m128i*>(masks.m[v][k]))));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 3 * p + 16 * v), o);
        }
    }
    for (; p < len; ++p)
        for (int k = 0; k < 3; ++k) out[3 * p + k] = static_cast<uint8_t>(q[k][p]);
}

// Three channels straight to interleaved bytes with AVX-512: 16 pixels of each channel quantized
// in registers (the same division, round-half-even, NaN and clamping as quantize_run), narrowed to
// 16 bytes, the three put side by side and interleaved with one byte permute (VBMI). About 3x the
// two passes above on a 224x224 image (docs/BENCHMARKS.md).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) void quantize3_avx512(const float* const* x,
                                                                                      int64_t len, float scale,
                                                                                      float zp, float lo, float hi,
                                                                                      uint8_t* out) {
    alignas(64) static const auto kIndex = [] {
        std::array<uint8_t, 64> t{};
        for (int j = 0; j < 48; ++j) t[j] = static_cast<uint8_t>(16 * (j % 3) + j / 3);  // pixel j / 3, channel j % 3
        return t;
    }();
    const __m512i index = _mm512_load_si512(kIndex.data());
    const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps(zp), l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
    for (int64_t p = 0; p < len; p += 16) {
        const int64_t n = std::min<int64_t>(16, len - p);
        const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
        __m128i b[3];
        for (int k = 0; k < 3; ++k) {
            __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x[k] + p), s);
            const __mmask16 number = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
            v = _mm512_maskz_mov_ps(number, _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT), z));
            b[k] = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(v, l), h)));
        }
        const __m512i all = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(b[0]), b[1], 1), b[2], 2);
        const __mmask64 bytes = n == 16 ? (__mmask64{1} << 48) - 1 : (__mmask64{1} << (3 * n)) - 1;
        _mm512_mask_storeu_epi8(out + 3 * p, bytes, _mm512_permutexvar_epi8(index, all));
    }
}

#endif  // QAT_QUANTIZE_X86

// Bytes of in-range integers: the two's complement byte is the int8 value, the low byte the uint8.
void interleave(const int32_t (*q)[kPixels], int64_t c, int64_t len, bool u8, uint8_t* out) {
    // SSSE3 is on every CPU oneDNN 2.6 runs on (it needs SSE4.1); checked all the same.
#ifdef QAT_QUANTIZE_X86
    static const bool ssse3 = __builtin_cpu_supports("ssse3");
    if (c == 3 && ssse3) return interleave3_ssse3(q, len, u8, out);
#endif
    for (int64_t p = 0; p < len; ++p)
        for (int64_t k = 0; k < c; ++k) out[p * c + k] = static_cast<uint8_t>(q[k][p]);
}

}  // namespace

void quantize_nchw_to_nhwc(const QuantizeNhwcShape& s, const float* x, void* y) {
    const float lo = s.u8 ? 0.0f : -128.0f, hi = s.u8 ? 255.0f : 127.0f;
    const float zp = static_cast<float>(s.zero_point);
    const int64_t blocks = (s.hw + kPixels - 1) / kPixels;
#ifdef QAT_QUANTIZE_X86
    static const bool vbmi = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi");
#endif
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < s.n * blocks; ++j) {
        const int64_t b = j / blocks, p0 = (j % blocks) * kPixels, len = std::min(kPixels, s.hw - p0);
        uint8_t* out = static_cast<uint8_t*>(y) + (b * s.hw + p0) * s.c;
#ifdef QAT_QUANTIZE_X86
        if (s.c == 3 && vbmi) {
            const float* x3[3] = {x + (b * 3) * s.hw + p0, x + (b * 3 + 1) * s.hw + p0, x + (b * 3 + 2) * s.hw + p0};
            quantize3_avx512(x3, len, s.scale, zp, lo, hi, out);
            continue;
        }
#endif
        alignas(64) int32_t q[kQuantizeNhwcMaxChannels][kPixels];
        for (int64_t k = 0; k < s.c; ++k) quantize_run(x + (b * s.c + k) * s.hw + p0, len, s.scale, zp, lo, hi, q[k]);
        interleave(q, s.c, len, s.u8, out);
    }
}

}  // namespace qat::onednn
