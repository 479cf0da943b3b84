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

#include "backends/onednn/avx512.h"

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
// falls to 1.8e-6 at a = 16, so one quartic per half-unit interval of [0, 16) (32 intervals, each
// coefficient picked with one two-register permute) is within 4e-7 of it (float rounding aside);
// the last interval is 0, 2.9e-6 off at |v| = 15.5 and less beyond. The caller hands in v2 = 2 v
// (its scale and bias doubled, exact): u = min(|v2|, 32) is then the interval's index and its
// fraction in two instructions (DQ's vrange / vreduce). As the epilogue's output, swish(v) /
// y_scale + zp is max(v2, 0) * (0.5 / y_scale) + zp - h / y_scale: 17 instructions from the sums
// instead of 23 with the exp-based swish16 (4.9 -> 3.9 ns per 16 outputs alone,
// docs/BENCHMARKS.md), and an output step moved no more often (tests/ops/onednn_swish_check.cpp).
// Cubics (9e-6) were cheaper still, but moved EfficientNet-B0 from 40.5 to 28.5 dB against ONNX
// Runtime: the int8 network amplifies each flipped step.
struct SwishTable {
    static constexpr int kDegree = 4;
    alignas(64) float c[kDegree + 1][32];  // c[k][j]: the t^k coefficient on u in [j, j + 1), t = u - j
};
extern const SwishTable kSwishTable;

// The quartic of 16 values' intervals from v2 = 2 v, its coefficients from coef(k, j) (the t^k
// ones of intervals j): kSwishTable's (h), or a copy scaled for one output (SwishOutput).
template <class Coef>
__attribute__((target("avx512f,avx512dq"), always_inline)) inline __m512 swish_quartic_of_2v(__m512 v2, Coef coef) {
    // vrange imm 0x0A: the smaller magnitude, sign cleared: min(|v2|, 31.999).
    const __m512 u = _mm512_range_ps(v2, _mm512_set1_ps(31.999f), 0x0A);
    const __m512i j = _mm512_cvttps_epi32(u);
    const __m512 t = _mm512_reduce_ps(u, _MM_FROUND_TO_NEG_INF);  // u - floor(u)
    __m512 h = coef(SwishTable::kDegree, j);
#pragma GCC unroll 8
    for (int k = SwishTable::kDegree - 1; k >= 0; --k) h = _mm512_fmadd_ps(h, t, coef(k, j));
    return h;
}

// h(|v|) of 16 values from v2 = 2 v.
__attribute__((target("avx512f,avx512dq"), always_inline)) inline __m512 swish_h_of_2v(__m512 v2) {
    return swish_quartic_of_2v(
        // (A capture: a capture-less lambda's function-pointer conversion lacks the target.)
        v2, [&tab = kSwishTable](int k, __m512i j) __attribute__((always_inline, target("avx512f"))) {
            return _mm512_permutex2var_ps(_mm512_load_ps(tab.c[k]), j, _mm512_load_ps(tab.c[k] + 16));
        });
}

// swish(v) of 16 values (the general epilogue, where other post-ops may follow).
__attribute__((target("avx512f,avx512dq"), always_inline)) inline __m512 swish16_quantized(__m512 v) {
    return _mm512_sub_ps(_mm512_max_ps(v, _mm512_setzero_ps()), swish_h_of_2v(_mm512_add_ps(v, v)));
}

// The epilogues' output form: the output scale and zero point in a copy of the table, for one
// convolution: kSwishTable's coefficients times -1 / y_scale, the zero point in the constant
// ones, so the polynomial gives zp - h(|v|) / y_scale and the output is one multiply-add from it
// (16 instructions from the sums instead of 17 with the unscaled table; on Zen 4 multiply-adds and
// two-table permutes together issue at one per cycle, the scarcest slot here). Our depthwise
// kernel keeps the table in registers (SwishOutputRegs: 2.5-5% faster on EfficientNet-B0's 3x3
// layers, from memory 3-6% slower); our 1x1 kernel, whose 24 sums leave no registers for its ten,
// reads it from memory (1-2% faster than the unscaled table there; docs/BENCHMARKS.md).
struct SwishOutput {
    alignas(64) float c[SwishTable::kDegree + 1][32] = {};
    float half_inv_y = 0;  // 0.5 / y_scale: max(v2, 0) to output units

    SwishOutput() = default;
    SwishOutput(float y_scale, float zero_point);
};

// Its coefficients in registers (two per coefficient), loaded once per call of a kernel.
struct SwishOutputRegs {
    __m512 lo[SwishTable::kDegree + 1], hi[SwishTable::kDegree + 1];
    __m512 half_inv_y;
};

__attribute__((target("avx512f"), always_inline)) inline SwishOutputRegs swish_output_regs(const SwishOutput& t) {
    SwishOutputRegs r;
    for (int k = 0; k <= SwishTable::kDegree; ++k) {
        r.lo[k] = _mm512_load_ps(t.c[k]);
        r.hi[k] = _mm512_load_ps(t.c[k] + 16);
    }
    r.half_inv_y = _mm512_set1_ps(t.half_inv_y);
    return r;
}

// The same from the table in memory (each coefficient pair loaded where it is used): for kernels
// whose sums leave no registers for the ten (our 1x1 kernel's 24).
__attribute__((target("avx512f,avx512dq"), always_inline)) inline __m512 swish16_to_output(__m512 v2,
                                                                                           const SwishOutput& t) {
    const __m512 h = swish_quartic_of_2v(
        v2, [&t](int k, __m512i j) __attribute__((always_inline, target("avx512f"))) {
            return _mm512_permutex2var_ps(_mm512_load_ps(t.c[k]), j, _mm512_load_ps(t.c[k] + 16));
        });
    return _mm512_fmadd_ps(_mm512_max_ps(v2, _mm512_setzero_ps()), _mm512_set1_ps(t.half_inv_y), h);
}

// swish(v) / y_scale + zp of 16 values from v2 = 2 v, to be rounded by the caller. One register at
// a time (four in lockstep ran 1-2% slower: the scheduler then waits on each stage's latency).
__attribute__((target("avx512f,avx512dq"), always_inline)) inline __m512 swish16_to_output(__m512 v2,
                                                                                           const SwishOutputRegs& t) {
    const __m512 h = swish_quartic_of_2v(
        v2, [&t](int k, __m512i j) __attribute__((always_inline, target("avx512f"))) {
            return _mm512_permutex2var_ps(t.lo[k], j, t.hi[k]);
        });
    return _mm512_fmadd_ps(_mm512_max_ps(v2, _mm512_setzero_ps()), t.half_inv_y, h);
}
#endif

// y[i] = y[i] * sigmoid(y[i]) for i < n, on up to `threads` OpenMP threads.
void swish_inplace(float* y, int64_t n, int threads);

}  // namespace qat::onednn
