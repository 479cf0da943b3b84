// swish(x) = x * sigmoid(x), in place over a float buffer: the FP32 convolutions' swish epilogue.
//
// oneDNN 2.6 applies swish as an eltwise post-op at ~25 cycles per 16 floats (its exp, a divide
// and a register spill per vector); on EfficientNet-B0 that was a quarter of the FP32 network's
// time. The convolution now runs without it and this loop follows on its output: exp(-|x|) from
// 2^n times a degree-5 polynomial, 1 / (1 + e) from a reciprocal estimate and one Newton step
// (AVX-512; a plain loop elsewhere). Relative error <= 4e-6 against the exact formula (the float
// reference is itself one rounding away from it). Measured (docs/BENCHMARKS.md): the loop about 3x
// faster than oneDNN's standalone swish; convolution + loop 1.5x faster than the convolution with
// the swish post-op.
#pragma once

#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace qat::onednn {

#if defined(__x86_64__)
// sigmoid of 16 floats: the loop's core, also the INT8 epilogues' sigmoid and swish
// (pointwise_int8.cpp). A variant with a degree-3 polynomial and no Newton step (3e-4 relative) was
// tried there and dropped: its error is one-sided, and over EfficientNet-B0's 16 swish
// convolutions the engine drifted from ONNX Runtime (27.9 dB instead of 40.4).
__attribute__((target("avx512f"), always_inline)) inline __m512 sigmoid16(__m512 x) {
    // e = exp(-|x|) = 2^k * 2^f, k = round(z), f = z - k in [-0.5, 0.5], z = -|x| log2(e).
    const __m512 z =
        _mm512_mul_ps(_mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(87.0f)), _mm512_set1_ps(-1.44269504f));
    const __m512 k = _mm512_roundscale_ps(z, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(z, k);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.3333558e-3f), f, _mm512_set1_ps(9.6181291e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504109e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022651e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    const __m512 e = _mm512_scalef_ps(p, k);
    // r = 1 / (1 + e) = sigmoid(|x|); sigmoid(x) = r for x >= 0, e * r below.
    const __m512 d = _mm512_add_ps(e, _mm512_set1_ps(1.0f));
    __m512 r = _mm512_rcp14_ps(d);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(r, neg, r, e);
}

__attribute__((target("avx512f"), always_inline)) inline __m512 swish16(__m512 x) {
    return _mm512_mul_ps(x, sigmoid16(x));
}

// swish for the INT8 epilogues, whose result is quantized: it needs a small absolute error, not a
// relative one. swish(v) = max(v, 0) - h(|v|), h(a) = a / (1 + e^a): h lives in [0, 0.28] and
// falls to 1.8e-6 at a = 16, so one quintic per unit interval of [0, 16) (16 intervals, each
// coefficient picked with one permute from a 16-float table) is within 6e-7 of it (float
// rounding aside), and 0 from 16 on (within 1.8e-6, unbiased: not the table's value at 16). ~15% cheaper than swish16
// per 16 floats (3.2 vs 3.8 ns alone, docs/BENCHMARKS.md). Cubics on 32 half-unit intervals (two-register permutes)
// were 1.5x cheaper, but their 1e-5 error moved EfficientNet-B0 from 40.5 to 28.5 dB against ONNX Runtime: the int8
// network amplifies each flipped output step.
struct SwishTable {
    static constexpr int kDegree = 5;
    alignas(64) float c[kDegree + 1][16];  // c[k][j]: the t^k coefficient on [j, j + 1), t = |v| - j
};
extern const SwishTable kSwishTable;

__attribute__((target("avx512f"), always_inline)) inline __m512 swish16_quantized(__m512 v) {
    const __m512 a = _mm512_abs_ps(v);
    const __mmask16 inside = _mm512_cmp_ps_mask(a, _mm512_set1_ps(16.0f), _CMP_LT_OQ);
    const __m512 c = _mm512_min_ps(a, _mm512_set1_ps(15.999f));
    const __m512i j = _mm512_cvttps_epi32(c);
    const __m512 t = _mm512_sub_ps(c, _mm512_cvtepi32_ps(j));
    __m512 h = _mm512_permutexvar_ps(j, _mm512_load_ps(kSwishTable.c[SwishTable::kDegree]));
#pragma GCC unroll 8
    for (int k = SwishTable::kDegree - 1; k >= 0; --k)
        h = _mm512_fmadd_ps(h, t, _mm512_permutexvar_ps(j, _mm512_load_ps(kSwishTable.c[k])));
    const __m512 r = _mm512_max_ps(v, _mm512_setzero_ps());
    return _mm512_mask_sub_ps(r, inside, r, h);
}
#endif

// y[i] = y[i] * sigmoid(y[i]) for i < n, on up to `threads` OpenMP threads.
void swish_inplace(float* y, int64_t n, int threads);

}  // namespace qat::onednn
