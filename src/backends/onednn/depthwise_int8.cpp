#include "backends/onednn/depthwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <limits>

#include "backends/onednn/pointwise_int8.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own undefined-vector helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define QAT_DW_TARGET "avx512f,avx512bw,avx512vl,avx512vnni"
#define QAT_VNNI __attribute__((target(QAT_DW_TARGET)))
#define QAT_VNNI_INLINE __attribute__((target(QAT_DW_TARGET), always_inline)) inline
#endif

namespace qat::onednn {
namespace {

constexpr int64_t kBlock = 64;  // channels per block: four registers of 16 lanes
// Fewer channels leave most of a block's lanes idle: oneDNN's brdgmm_dw was faster for 32 (and
// about even at 96; docs/BENCHMARKS.md).
constexpr int64_t kMinChannels = 96;

#if defined(__x86_64__)

// One pixel's 64 channels from block `b` (`mask`: the channels that exist, so that the last pixel
// of a tensor is not read past its end), or `fill` for padding; s8 inputs flipped to u8.
template <bool kFlip>
QAT_VNNI_INLINE __m512i load_pixel(const uint8_t* p, __mmask64 mask, __m512i flip) {
    const __m512i v = _mm512_maskz_loadu_epi8(mask, p);
    return kFlip ? _mm512_xor_si512(v, flip) : v;
}

// The quad of pixels px - 1 .. px + 2 of an input row (px - 1 may be the left padding, px + 1 and
// px + 2 the right), interleaved: register k, lane L, dword j holds the four pixels' bytes of
// channel 16L + 4k + j of the block. row: the row's first pixel at the block's channels, or null
// for a padding row.
template <bool kFlip>
QAT_VNNI_INLINE void load_quad(const uint8_t* row, int64_t px, int64_t w, int64_t C, __mmask64 mask, __m512i flip,
                               __m512i fill, __m512i (&q)[4]) {
    __m512i t[4];
    if (!row) {
        q[0] = q[1] = q[2] = q[3] = fill;  // four equal bytes interleave to themselves
        return;
    }
    if (px >= 1 && px + 2 < w) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) t[j] = load_pixel<kFlip>(row + (px - 1 + j) * C, mask, flip);
    } else {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
            const int64_t i = px - 1 + j;
            t[j] = i >= 0 && i < w ? load_pixel<kFlip>(row + i * C, mask, flip) : fill;
        }
    }
    const __m512i lo01 = _mm512_unpacklo_epi8(t[0], t[1]), hi01 = _mm512_unpackhi_epi8(t[0], t[1]);
    const __m512i lo23 = _mm512_unpacklo_epi8(t[2], t[3]), hi23 = _mm512_unpackhi_epi8(t[2], t[3]);
    q[0] = _mm512_unpacklo_epi16(lo01, lo23);
    q[1] = _mm512_unpackhi_epi16(lo01, lo23);
    q[2] = _mm512_unpacklo_epi16(hi01, hi23);
    q[3] = _mm512_unpackhi_epi16(hi01, hi23);
}

// The epilogue, for the chains that commute with the output scale (none, relu, clip): y =
// round(acc * s + b) clamped to [lo, hi] + zp, with s, b and the bounds in output units. Passed by
// value: our stores are bytes, which may alias anything, and would make the compiler reload every
// field of a struct in memory after each.
struct Requant {
    const float* scale;
    const float* bias;
    float lo, hi;
    int32_t zp;
};

// Requant's bounds and zero point as registers, made once per run_rows.
struct RequantRegs {
    __m512 lo, hi;
    __m512i zp;
};

QAT_VNNI_INLINE __m512i requant(__m512i acc, int64_t oc, const Requant& f, const RequantRegs& r) {
    const __m512 v =
        _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(f.scale + oc), _mm512_loadu_ps(f.bias + oc));
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, r.lo), r.hi)), r.zp);
}

// The four registers of sums of one output pixel (lane order, see depthwise_int8.h) -> its 64
// output bytes at y (`mask`: the channels that exist).
QAT_VNNI_INLINE void store_pixel(const __m512i (&acc)[4], int64_t oc, __mmask64 mask, uint8_t* y, const Requant& f,
                                 const RequantRegs& r, bool y_u8) {
    __m512i v[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) v[k] = requant(acc[k], oc + 16 * k, f, r);
    // Lane-wise packs: lane L gets registers 0..3's dwords of lane L in order, i.e. channels
    // 16L .. 16L + 15, saturated to the output type.
    const __m512i z = y_u8 ? _mm512_packus_epi16(_mm512_packus_epi32(v[0], v[1]), _mm512_packus_epi32(v[2], v[3]))
                           : _mm512_packs_epi16(_mm512_packs_epi32(v[0], v[1]), _mm512_packs_epi32(v[2], v[3]));
    _mm512_mask_storeu_epi8(y, mask, z);
}

// Output rows [r0, r1) of the flattened (image, row) range. kFlip: an s8 input.
template <bool kFlip>
QAT_VNNI void run_rows(const DepthwiseInt8Geometry g, const int64_t C, const int64_t blocks, const uint8_t* x,
                       uint8_t* y, const int64_t r0, const int64_t r1, const int8_t* packed, const Requant f,
                       const bool y_u8) {
    const RequantRegs regs{_mm512_set1_ps(f.lo), _mm512_set1_ps(f.hi), _mm512_set1_epi32(f.zp)};
    // An s8 input is read as x + 128 (its sign bit flipped), its padding as 128.
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(kFlip ? 0x80 : 0));
    const __m512i fill = flip;
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / g.h, oh = r % g.h;
        const uint8_t* rows[3];
        for (int k = 0; k < 3; ++k) {
            const int64_t ih = oh - 1 + k;
            rows[k] = ih >= 0 && ih < g.h ? x + ((img * g.h + ih) * g.w) * C : nullptr;
        }
        uint8_t* yr = y + r * g.w * C;
        for (int64_t b = 0; b < blocks; ++b) {
            const int8_t* wb = packed + b * 3 * 2 * 4 * kBlock;
            const int64_t width = std::min(kBlock, C - b * kBlock);
            const __mmask64 mask = width == kBlock ? ~0ULL : (~0ULL >> (64 - width));
            const uint8_t* rb[3];
            for (int k = 0; k < 3; ++k) rb[k] = rows[k] ? rows[k] + b * kBlock : nullptr;
            // Outputs ow and ow + 1 from the quad of input pixels ow - 1 .. ow + 2.
            for (int64_t ow = 0; ow < g.w; ow += 2) {
                __m512i a0[4], a1[4];
#pragma GCC unroll 4
                for (int k = 0; k < 4; ++k) a0[k] = a1[k] = _mm512_setzero_si512();
#pragma GCC unroll 3
                for (int kh = 0; kh < 3; ++kh) {
                    __m512i q[4];
                    load_quad<kFlip>(rb[kh], ow, g.w, C, mask, flip, fill, q);
                    const int8_t* w0 = wb + (kh * 2) * 4 * kBlock;
#pragma GCC unroll 4
                    for (int k = 0; k < 4; ++k) {
                        a0[k] = _mm512_dpbusd_epi32(a0[k], q[k], _mm512_loadu_si512(w0 + k * kBlock));
                        a1[k] = _mm512_dpbusd_epi32(a1[k], q[k], _mm512_loadu_si512(w0 + (4 + k) * kBlock));
                    }
                }
                store_pixel(a0, b * kBlock, mask, yr + ow * C + b * kBlock, f, regs, y_u8);
                if (ow + 1 < g.w) store_pixel(a1, b * kBlock, mask, yr + (ow + 1) * C + b * kBlock, f, regs, y_u8);
            }
        }
    }
}

#endif

}  // namespace

bool depthwise_int8_fits(const ir::fused::FusedOpInfo& info, int64_t channels) {
    using ir::fused::PostOp;
    const auto& ops = info.post_ops;
    const bool chain = ops.empty() || (ops.size() == 1 && (ops[0] == PostOp::kRelu || ops[0] == PostOp::kClip));
    return chain && info.quantized_output() && info.x_zero_point == 0 && channels >= kMinChannels &&
           pointwise_int8_available();
}

void DepthwiseInt8::init(const int8_t* w, int64_t channels, const float* bias, const ir::fused::FusedOpInfo& info,
                         bool x_is_u8) {
    c_ = channels;
    blocks_ = (channels + kBlock - 1) / kBlock;
    x_u8_ = x_is_u8;
    info_ = info;
    const size_t n = static_cast<size_t>(blocks_ * kBlock);
    packed_.assign(n * 3 * 2 * 4, 0);
    scale_.assign(n, 0.0f);
    bias_.assign(n, 0.0f);
    const float inv_y = 1.0f / info.y_scale;
    for (int64_t c = 0; c < channels; ++c) {
        // Channel c's sums land in block c / 64, register k, dword 4L + j for c % 64 = 16L + 4k + j.
        const int64_t b = c / kBlock, r = c % kBlock, L = r / 16, k = (r % 16) / 4, j = r % 4;
        const int64_t pos = 4 * L + j;
        int32_t sum = 0;
        for (int kh = 0; kh < 3; ++kh)
            for (int v = 0; v < 2; ++v)
                for (int t = 0; t < 4; ++t) {
                    // Output ow (v = 0) has its taps at quad bytes 0..2, output ow + 1 at 1..3.
                    const int tap = v == 0 ? t : t - 1;
                    const int8_t val = tap >= 0 && tap < 3 ? w[c * 9 + kh * 3 + tap] : 0;
                    packed_[static_cast<size_t>((((b * 3 + kh) * 2 + v) * 4 + k) * kBlock + pos * 4 + t)] = val;
                }
        for (int t = 0; t < 9; ++t) sum += w[c * 9 + t];
        const size_t i = static_cast<size_t>(b * kBlock + k * 16 + pos);
        const float ws = info.w_scales.size() == 1 ? info.w_scales[0] : info.w_scales[static_cast<size_t>(c)];
        const float s = static_cast<float>(static_cast<double>(info.x_scale) * ws);
        // In output units (relu and clip commute with the positive output scale); an s8 input is
        // read as x + 128 (its padding too): 128 * sum(w) taken back through the bias.
        scale_[i] = s * inv_y;
        bias_[i] = ((bias ? bias[c] : 0.0f) - (x_is_u8 ? 0.0f : 128.0f * static_cast<float>(sum)) * s) * inv_y;
    }
    using ir::fused::PostOp;
    const auto& ops = info.post_ops;
    lo_ = -std::numeric_limits<float>::infinity();
    hi_ = std::numeric_limits<float>::infinity();
    if (!ops.empty() && ops[0] == PostOp::kRelu) lo_ = 0.0f;
    if (!ops.empty() && ops[0] == PostOp::kClip) {
        lo_ = info.clip_min * inv_y;
        hi_ = info.clip_max * inv_y;
    }
}

void DepthwiseInt8::run(const DepthwiseInt8Geometry& g, const void* x, void* y, int threads) const {
#if defined(__x86_64__)
    const Requant f{scale_.data(), bias_.data(), lo_, hi_, info_.y_zero_point};
    const int64_t rows = g.n * g.h;
    const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, rows)));
    const auto* xb = static_cast<const uint8_t*>(x);
    auto* yb = static_cast<uint8_t*>(y);
    const bool y_u8 = info_.out_dtype == DataType::kUint8;
    auto work = [&](int t) {
        const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        if (x_u8_)
            run_rows<false>(g, c_, blocks_, xb, yb, r0, r1, packed_.data(), f, y_u8);
        else
            run_rows<true>(g, c_, blocks_, xb, yb, r0, r1, packed_.data(), f, y_u8);
    };
    if (nt == 1) return work(0);
#pragma omp parallel num_threads(nt)
    work(omp_get_thread_num());
#else
    (void)g, (void)x, (void)y, (void)threads;
#endif
}

}  // namespace qat::onednn
