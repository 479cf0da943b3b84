// The epilogue of our own INT8 1x1 kernel (pointwise_int8.cpp): 16 sums of one pixel -> 16 output
// bytes in registers, with the reference's semantics
// (ir::fused::weighted_result): sum * x_scale * w_scale[m] + bias[m], the post-ops in order (add,
// relu, clip, leaky_relu, hard_swish, sigmoid, swish: swish.h's), then y =
// saturate(round_half_even(v / y_scale) + zp) with v / y_scale computed as v * (1 / y_scale): the
// same integer except next to a tie, within the one int8 step every fused kernel is held to.
//
// AVX-512 code for that kernel's translation unit only (it turns off two warnings that GCC 12's
// AVX-512 headers trip once inlined); callers check int8_epilogue_available() first.
#pragma once

#include <cstdint>

#include "backends/onednn/swish.h"
#include "ir/fused_ops.h"

#if defined(__x86_64__)
#include <immintrin.h>
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qat::onednn {

// Whether this machine runs the epilogue and the kernel (AVX-512 F, BW, VL and VNNI).
inline bool int8_epilogue_available() {
#if defined(__x86_64__)
    static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    return ok;
#else
    return false;
#endif
}

// Whether the epilogue runs the op's post-ops (all of ir/fused_ops.h's) for its output type.
inline bool int8_epilogue_fits(const ir::fused::FusedOpInfo& info) { return info.quantized_output(); }

#if defined(__x86_64__)
#define QAT_VNNI_TARGET "avx512f,avx512bw,avx512vl,avx512vnni"
#define QAT_VNNI __attribute__((target(QAT_VNNI_TARGET)))
#define QAT_VNNI_INLINE __attribute__((target(QAT_VNNI_TARGET), always_inline)) inline

// What the epilogue needs besides its pointers; fixed per run.
struct Epi {
    const float* scale = nullptr;
    const float* bias = nullptr;
    const int32_t* comp = nullptr;  // subtracted from the sums first (zero point terms); may be null
    const ir::fused::PostOp* ops = nullptr;
    int n_ops = 0;
    float clip_min = 0, clip_max = 0, alpha = 0;
    float res_scale = 1;
    int32_t res_zp = 0;
    bool res_u8 = false;
    float inv_y_scale = 1;
    int32_t y_zp = 0;
    bool y_u8 = false;

    Epi(const ir::fused::FusedOpInfo& info, const float* scale_m, const float* bias_m, const int32_t* comp_or_null,
        bool residual_is_u8)
        : scale(scale_m),
          bias(bias_m),
          comp(comp_or_null),
          ops(info.post_ops.data()),
          n_ops(static_cast<int>(info.post_ops.size())),
          clip_min(info.clip_min),
          clip_max(info.clip_max),
          alpha(info.alpha),
          res_scale(info.residual_scale),
          res_zp(info.residual_zero_point),
          res_u8(residual_is_u8),
          inv_y_scale(1.0f / info.y_scale),
          y_zp(info.y_zero_point),
          y_u8(info.out_dtype == DataType::kUint8) {}
};

QAT_VNNI_INLINE __m512 epilogue_activation(ir::fused::PostOp p, __m512 v, const Epi& e) {
    using ir::fused::PostOp;
    switch (p) {
        case PostOp::kRelu:
            return _mm512_max_ps(v, _mm512_setzero_ps());
        case PostOp::kClip:
            return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(e.clip_min)), _mm512_set1_ps(e.clip_max));
        case PostOp::kLeakyRelu: {
            const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
            return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(e.alpha));
        }
        case PostOp::kHardSwish: {
            __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
            t = _mm512_min_ps(_mm512_max_ps(t, _mm512_setzero_ps()), _mm512_set1_ps(1.0f));
            return _mm512_mul_ps(v, t);
        }
        case PostOp::kSigmoid:
            return sigmoid16(v);
        case PostOp::kSwish:
            return swish16(v);
        default:
            return v;
    }
}

// The int32 sums of output channels [oc, oc + 16) of one pixel -> 16 output bytes at y; `mask`:
// the channels that exist; res: the pixel's residual bytes at oc (null without "add").
QAT_VNNI_INLINE void epilogue_store(__m512i acc, int64_t oc, __mmask16 mask, const uint8_t* res, uint8_t* y,
                                    const Epi& e) {
    if (e.comp) acc = _mm512_sub_epi32(acc, _mm512_loadu_si512(e.comp + oc));
    __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(e.scale + oc), _mm512_loadu_ps(e.bias + oc));
    for (int i = 0; i < e.n_ops; ++i) {
        if (e.ops[i] != ir::fused::PostOp::kAdd) {
            v = epilogue_activation(e.ops[i], v, e);
            continue;
        }
        const __m128i rb = _mm_maskz_loadu_epi8(mask, res);
        __m512i r = e.res_u8 ? _mm512_cvtepu8_epi32(rb) : _mm512_cvtepi8_epi32(rb);
        r = _mm512_sub_epi32(r, _mm512_set1_epi32(e.res_zp));
        v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r), _mm512_set1_ps(e.res_scale), v);
    }
    // Rounds half to even (the default MXCSR mode), as ONNX's QuantizeLinear.
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(e.inv_y_scale)));
    q = _mm512_add_epi32(q, _mm512_set1_epi32(e.y_zp));
    const __m128i b =
        e.y_u8 ? _mm512_cvtusepi32_epi8(_mm512_max_epi32(q, _mm512_setzero_si512())) : _mm512_cvtsepi32_epi8(q);
    _mm_mask_storeu_epi8(y, mask, b);
}

#endif

}  // namespace qat::onednn
