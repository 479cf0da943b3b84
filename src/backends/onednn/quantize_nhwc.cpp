#include "backends/onednn/quantize_nhwc.h"

#if defined(__x86_64__)
#include <immintrin.h>
// The vector paths below are x86 ones; elsewhere the same loops compile as plain C++.
#define QAT_QUANTIZE_X86 1
#define QAT_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QAT_VECTOR_CLONES
#endif

#include <algorithm>
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
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < s.n * blocks; ++j) {
        const int64_t b = j / blocks, p0 = (j % blocks) * kPixels, len = std::min(kPixels, s.hw - p0);
        alignas(64) int32_t q[kQuantizeNhwcMaxChannels][kPixels];
        for (int64_t k = 0; k < s.c; ++k) quantize_run(x + (b * s.c + k) * s.hw + p0, len, s.scale, zp, lo, hi, q[k]);
        interleave(q, s.c, len, s.u8, static_cast<uint8_t*>(y) + (b * s.hw + p0) * s.c);
    }
}

}  // namespace qat::onednn
