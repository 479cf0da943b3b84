#include "backends/onednn/pointwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backends/onednn/swish.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own undefined-vector helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qat::onednn {
namespace {

constexpr int64_t kBlock = 64;  // output channels per packed block (4 registers of 16)
constexpr int kRows = 6;        // pixels per tile: 6 x 4 accumulators + 4 weights + 1 broadcast
constexpr int64_t kMaxChannels = 32768;
constexpr int64_t kSerialMacs = 128 * 1024;  // below: one thread (run())

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

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

// MR pixels x NR columns of 16 output channels. x[r]: the pixel's K input bytes; wp: the block's
// packed weights ([K/4][NR*16][4]); y[r] / res[r]: the pixel's output / residual at channel oc0;
// m: the output channel count (the last column may be partial). kFlip: s8 input, read as u8.
template <int MR, int NR, bool kFlip>
QAT_VNNI void tile(int64_t k4, const uint8_t* const* x, const int8_t* wp, int64_t oc0, int64_t m, uint8_t* const* y,
                   const uint8_t* const* res, const Epi& e) {
    __m512i acc[MR][NR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j) acc[r][j] = _mm512_setzero_si512();
    const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
    // The epilogue's rows are one cache line per pixel, M bytes apart: too sparse for the hardware
    // prefetcher, so ask for them while the sums run.
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        if (res) _mm_prefetch(reinterpret_cast<const char*>(res[r]), _MM_HINT_T0);
        if (!res || res[r] != y[r]) _mm_prefetch(reinterpret_cast<const char*>(y[r]), _MM_HINT_ET0);
    }
    for (int64_t k = 0; k < k4; ++k) {
        __m512i w[NR];
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j) w[j] = _mm512_loadu_si512(wp + (k * NR + j) * 64);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            int32_t xv;
            std::memcpy(&xv, x[r] + 4 * k, 4);
            __m512i b = _mm512_set1_epi32(xv);
            if (kFlip) b = _mm512_xor_si512(b, flip);
#pragma GCC unroll 4
            for (int j = 0; j < NR; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], b, w[j]);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) {
        const int64_t oc = oc0 + 16 * j;
        const int64_t left = m - oc;
        const __mmask16 mask = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r)
            epilogue_store(acc[r][j], oc, mask, res ? res[r] + 16 * j : nullptr, y[r] + 16 * j, e);
    }
}

// The tile for `rows` (1..6) pixels and `nr` (1..4) columns.
template <bool kFlip>
QAT_VNNI void tile_any(int rows, int nr, int64_t k4, const uint8_t* const* x, const int8_t* wp, int64_t oc0, int64_t m,
                       uint8_t* const* y, const uint8_t* const* res, const Epi& e) {
    using Fn = void (*)(int64_t, const uint8_t* const*, const int8_t*, int64_t, int64_t, uint8_t* const*,
                        const uint8_t* const*, const Epi&);
    static constexpr Fn kTiles[kRows][4] = {
        {tile<1, 1, kFlip>, tile<1, 2, kFlip>, tile<1, 3, kFlip>, tile<1, 4, kFlip>},
        {tile<2, 1, kFlip>, tile<2, 2, kFlip>, tile<2, 3, kFlip>, tile<2, 4, kFlip>},
        {tile<3, 1, kFlip>, tile<3, 2, kFlip>, tile<3, 3, kFlip>, tile<3, 4, kFlip>},
        {tile<4, 1, kFlip>, tile<4, 2, kFlip>, tile<4, 3, kFlip>, tile<4, 4, kFlip>},
        {tile<5, 1, kFlip>, tile<5, 2, kFlip>, tile<5, 3, kFlip>, tile<5, 4, kFlip>},
        {tile<6, 1, kFlip>, tile<6, 2, kFlip>, tile<6, 3, kFlip>, tile<6, 4, kFlip>},
    };
    kTiles[rows - 1][nr - 1](k4, x, wp, oc0, m, y, res, e);
}

#endif

}  // namespace

bool pointwise_int8_available() {
#if defined(__x86_64__)
    static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    return ok;
#else
    return false;
#endif
}

bool pointwise_int8_fits(const ir::fused::FusedOpInfo& info, int64_t in_channels) {
    const auto& ops = info.post_ops;
    // int32 sums of up to 255 * 127 per input channel (and the zero point term) stay far from
    // overflow up to kMaxChannels.
    return info.quantized_output() && in_channels % 4 == 0 && in_channels <= kMaxChannels &&
           (std::find(ops.begin(), ops.end(), ir::fused::PostOp::kSwish) != ops.end() ||
            std::find(ops.begin(), ops.end(), ir::fused::PostOp::kSigmoid) != ops.end());
}

void PointwiseInt8::init(const int8_t* w, int64_t m, int64_t k, const float* bias, const ir::fused::FusedOpInfo& info,
                         bool x_is_u8) {
    m_ = m;
    k_ = k;
    x_u8_ = x_is_u8;
    info_ = info;
    const int64_t mp = round_up(m, 16), blocks = (mp + kBlock - 1) / kBlock;
    packed_.assign(static_cast<size_t>(blocks * kBlock * k), 0);
    for (int64_t b = 0; b < blocks; ++b) {
        const int64_t width = std::min(kBlock, mp - b * kBlock);
        int8_t* dst = packed_.data() + b * kBlock * k;
        for (int64_t o = 0; o < width && b * kBlock + o < m; ++o)
            for (int64_t c = 0; c < k; ++c) dst[(c / 4) * width * 4 + o * 4 + c % 4] = w[(b * kBlock + o) * k + c];
    }
    // The input as the kernel reads it is x (+ 128 for s8); its zero point moves likewise.
    const int32_t zp = info.x_zero_point + (x_is_u8 ? 0 : 128);
    scale_.assign(static_cast<size_t>(blocks * kBlock), 0.0f);
    bias_.assign(static_cast<size_t>(blocks * kBlock), 0.0f);
    for (int64_t o = 0; o < m; ++o) {
        const size_t i = static_cast<size_t>(o);
        const float ws = info.w_scales.size() == 1 ? info.w_scales[0] : info.w_scales[i];
        scale_[i] = static_cast<float>(static_cast<double>(info.x_scale) * ws);
        bias_[i] = bias ? bias[o] : 0.0f;
    }
    comp_.assign(zp != 0 ? static_cast<size_t>(blocks * kBlock) : 0, 0);
    for (int64_t o = 0; o < m && zp != 0; ++o) {
        int32_t sum = 0;
        for (int64_t c = 0; c < k; ++c) sum += w[o * k + c];
        comp_[static_cast<size_t>(o)] = zp * sum;
    }
}

void PointwiseInt8::run(const PointwiseInt8Geometry& g, const void* x, const void* residual, bool residual_is_u8,
                        void* y, int threads) const {
#if defined(__x86_64__)
    const Epi e(info_, scale_.data(), bias_.data(), comp_.empty() ? nullptr : comp_.data(), residual_is_u8);

    const int64_t pixels = g.n * g.h * g.w, k4 = k_ / 4;
    const int64_t mp = round_up(m_, 16), blocks = (mp + kBlock - 1) / kBlock;
    const auto* xb = static_cast<const uint8_t*>(x);
    const auto* rb = static_cast<const uint8_t*>(residual);
    auto* yb = static_cast<uint8_t*>(y);
    const bool contiguous = g.stride_h == 1 && g.stride_w == 1 && g.in_h == g.h && g.in_w == g.w;
    auto x_row = [&](int64_t p) {
        if (contiguous) return xb + p * k_;
        const int64_t img = p / (g.h * g.w), oh = (p / g.w) % g.h, ow = p % g.w;
        return xb + ((img * g.in_h + oh * g.stride_h) * g.in_w + ow * g.stride_w) * k_;
    };
    // Threads split the output channels where the weights outweigh the input (each keeps its share
    // of them in cache), else the pixels.
    const bool split_channels = blocks >= threads && m_ >= pixels;
    // Pixels per chunk: about 16 KB of input rows, which stay in L1 across the blocks.
    const int64_t chunk = std::max<int64_t>(kRows, (16384 / k_) / kRows * kRows);
    auto work = [&](int64_t b0, int64_t b1, int64_t p0, int64_t p1) {
        const uint8_t* xr[kRows];
        uint8_t* yr[kRows];
        const uint8_t* rr[kRows];
        for (int64_t c0 = p0; c0 < p1; c0 += chunk) {
            const int64_t c1 = std::min(p1, c0 + chunk);
            for (int64_t b = b0; b < b1; ++b) {
                const int64_t oc0 = b * kBlock;
                const int nr = static_cast<int>(std::min(kBlock, mp - oc0) / 16);
                const int8_t* wp = packed_.data() + oc0 * k_;
                for (int64_t p = c0; p < c1; p += kRows) {
                    const int rows = static_cast<int>(std::min<int64_t>(kRows, c1 - p));
                    for (int r = 0; r < rows; ++r) {
                        xr[r] = x_row(p + r);
                        yr[r] = yb + (p + r) * m_ + oc0;
                        rr[r] = rb ? rb + (p + r) * m_ + oc0 : nullptr;
                    }
                    if (x_u8_)
                        tile_any<false>(rows, nr, k4, xr, wp, oc0, m_, yr, rb ? rr : nullptr, e);
                    else
                        tile_any<true>(rows, nr, k4, xr, wp, oc0, m_, yr, rb ? rr : nullptr, e);
                }
            }
        }
    };
    // Well under a microsecond of work (e.g. the squeeze-and-excitation convolutions of a 1x1
    // input) runs on the calling thread: an OpenMP fork / join costs 3-4 us here
    // (docs/BENCHMARKS.md).
    if (threads <= 1 || pixels * m_ * k_ < kSerialMacs) return work(0, blocks, 0, pixels);
#pragma omp parallel num_threads(threads)
    {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (split_channels) {
            work(blocks * t / nt, blocks * (t + 1) / nt, 0, pixels);
        } else {
            const int64_t tiles = (pixels + kRows - 1) / kRows;
            work(0, blocks, std::min(pixels, tiles * t / nt * kRows), std::min(pixels, tiles * (t + 1) / nt * kRows));
        }
    }
#else
    (void)g, (void)x, (void)residual, (void)residual_is_u8, (void)y, (void)threads;
#endif
}

}  // namespace qat::onednn
