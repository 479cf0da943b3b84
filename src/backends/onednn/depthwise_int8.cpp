#include "backends/onednn/depthwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
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

// One input row into a ring slot: a zero pixel (x = 0, read as `fill`) on the left, three on
// the right (the last quad reads two past the edge), then slack; s8 rows flipped to u8.
QAT_VNNI void load_row(const uint8_t* src, int64_t w, int64_t c, bool flip, uint8_t fill, uint8_t* dst) {
    std::memset(dst, fill, static_cast<size_t>(c));
    uint8_t* d = dst + c;
    const int64_t n = w * c;
    if (!src) {
        std::memset(d, fill, static_cast<size_t>(n));
    } else if (!flip) {
        std::memcpy(d, src, static_cast<size_t>(n));
    } else {
        const __m512i s = _mm512_set1_epi8(static_cast<char>(0x80));
        int64_t i = 0;
        for (; i + 64 <= n; i += 64) _mm512_storeu_si512(d + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), s));
        const __mmask64 m = (i < n) ? (~0ULL >> (64 - (n - i))) : 0;
        _mm512_mask_storeu_epi8(d + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), s));
    }
    std::memset(d + n, fill, static_cast<size_t>(3 * c));
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

// Output rows [r0, r1) of the flattened (image, row) range.
QAT_VNNI void run_rows(const DepthwiseInt8Geometry g, const int64_t C, const int64_t blocks, const uint8_t* x,
                       uint8_t* y, const int64_t r0, const int64_t r1, const int8_t* packed, const Requant f,
                       const bool y_u8, const bool flip, uint8_t* ring, const int64_t ring_row) {
    const uint8_t fill = flip ? 0x80 : 0;
    const RequantRegs regs{_mm512_set1_ps(f.lo), _mm512_set1_ps(f.hi), _mm512_set1_epi32(f.zp)};
    int64_t img_loaded = -1, hi_loaded = -1;  // rows of that image in the ring: up to hi_loaded
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / g.h, oh = r % g.h;
        const uint8_t* xi = x + img * g.h * g.w * C;
        int64_t from = oh - 1;
        if (img == img_loaded) from = std::max(from, hi_loaded + 1);
        for (int64_t ih = from; ih <= oh + 1; ++ih)
            load_row(ih >= 0 && ih < g.h ? xi + ih * g.w * C : nullptr, g.w, C, flip, fill,
                     ring + ((ih + 3) % 3) * ring_row);
        img_loaded = img;
        hi_loaded = oh + 1;
        const uint8_t* rows[3];
        for (int k = 0; k < 3; ++k) rows[k] = ring + ((oh + k + 2) % 3) * ring_row;
        uint8_t* yr = y + r * g.w * C;
        for (int64_t b = 0; b < blocks; ++b) {
            const int8_t* wb = packed + b * 3 * 2 * 4 * kBlock;
            const int64_t width = std::min(kBlock, C - b * kBlock);
            const __mmask64 mask = width == kBlock ? ~0ULL : (~0ULL >> (64 - width));
            // Outputs ow and ow + 1 from the quad of ring pixels ow .. ow + 3 (the ring's pixel 0
            // is the left padding).
            for (int64_t ow = 0; ow < g.w; ow += 2) {
                __m512i a0[4], a1[4];
#pragma GCC unroll 4
                for (int k = 0; k < 4; ++k) a0[k] = a1[k] = _mm512_setzero_si512();
#pragma GCC unroll 3
                for (int kh = 0; kh < 3; ++kh) {
                    const uint8_t* p = rows[kh] + ow * C + b * kBlock;
                    const __m512i t0 = _mm512_loadu_si512(p), t1 = _mm512_loadu_si512(p + C);
                    const __m512i t2 = _mm512_loadu_si512(p + 2 * C), t3 = _mm512_loadu_si512(p + 3 * C);
                    const __m512i lo01 = _mm512_unpacklo_epi8(t0, t1), hi01 = _mm512_unpackhi_epi8(t0, t1);
                    const __m512i lo23 = _mm512_unpacklo_epi8(t2, t3), hi23 = _mm512_unpackhi_epi8(t2, t3);
                    const __m512i q[4] = {_mm512_unpacklo_epi16(lo01, lo23), _mm512_unpackhi_epi16(lo01, lo23),
                                          _mm512_unpacklo_epi16(hi01, hi23), _mm512_unpackhi_epi16(hi01, hi23)};
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

void DepthwiseInt8::run(const DepthwiseInt8Geometry& g, const void* x, void* y, int threads) {
#if defined(__x86_64__)
    const Requant f{scale_.data(), bias_.data(), lo_, hi_, info_.y_zero_point};
    const int64_t rows = g.n * g.h;
    const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, rows)));
    // A ring row: the input row with a pixel of padding left, three right (the last quad reads two
    // past the edge), and a block of slack for the last block's full-width loads.
    const int64_t ring_row = (g.w + 4) * c_ + kBlock;
    const size_t per_thread = static_cast<size_t>(3 * ring_row);
    if (rings_.size() < per_thread * static_cast<size_t>(nt)) rings_.resize(per_thread * static_cast<size_t>(nt));
    const auto* xb = static_cast<const uint8_t*>(x);
    auto* yb = static_cast<uint8_t*>(y);
    const bool y_u8 = info_.out_dtype == DataType::kUint8;
    auto work = [&](int t) {
        run_rows(g, c_, blocks_, xb, yb, rows * t / nt, rows * (t + 1) / nt, packed_.data(), f, y_u8, !x_u8_,
                 rings_.data() + per_thread * static_cast<size_t>(t), ring_row);
    };
    if (nt == 1) return work(0);
#pragma omp parallel num_threads(nt)
    work(omp_get_thread_num());
#else
    (void)g, (void)x, (void)y, (void)threads;
#endif
}

}  // namespace qat::onednn
