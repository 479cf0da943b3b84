#include "backends/onednn/pointwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "backends/onednn/avx512.h"
#include "backends/onednn/swish.h"

namespace qat::onednn {
namespace {

constexpr int64_t kBlock = 64;  // output channels per packed block (4 registers of 16)
constexpr int kRows = 6;        // pixels per tile: 6 x 4 accumulators + 4 weights + 1 broadcast
// The requantizing path's pixels per tile for nr columns: up to 24 accumulators, more pixels for
// narrow blocks (the 32-channel last block of 96 outputs: 12 pixels rather than 6).
constexpr int requant_rows(int nr) { return nr <= 2 ? 12 : nr == 3 ? 8 : 6; }
// A multiple of every tile's pixels (6, 8, 12): the pixel chunks and the threads' shares are cut
// at such counts, so that only a range's last tile is partial.
constexpr int64_t kWholeTiles = 24;
// Whether the requantizing path's blocks of nr columns are packed (PointwiseInt8::init, tile_q).
constexpr bool packed_block(int nr) { return nr >= 2; }
constexpr int kMaxRows = 12;
constexpr int64_t kMaxChannels = 32768;
constexpr int64_t kSerialMacs = 128 * 1024;  // below: one thread (run())
// The requantizing path from this many output channels: below, its blocks of 16 or 32 channels
// lose to brgconv_1x1 or tie (MobileNetV2's 32 -> 16 projection at 112x112: 0.63-0.67x, 96 -> 24
// at 56x56 as 32 channels: 0.99x; docs/BENCHMARKS.md), and in the whole model it measured no
// faster. 17-24 outputs take it with a half column (half_column).
constexpr int64_t kRequantMinChannels = 64;
// From 32 outputs (a 32-channel packed block) the requantizing path takes a swish or sigmoid alone
// (112x112x28 -> 32 with swish: 100 -> 85 us on two threads against the general epilogue) and,
// over gathered rows, any of its chains (see pointwise_int8_fits; docs/BENCHMARKS.md).
constexpr int64_t kActRequantMinChannels = 32;
constexpr int64_t kChannelSplitWeightBytes = 256 * 1024;  // run(): the requantizing path's thread split

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
// Whether the requantizing path ends m outputs in a half column (accumulate): a last block of up to
// 24 channels that is not whole registers. brgconv_1x1 computes 24 outputs as 32 (56x56x144 -> 16 /
// 24 / 32: 35 / 69 / 69 us on one thread), ours with the half column in 56 (1.20-1.24x brgconv,
// with or without residual); a last block of 40 measured no faster than the packed 48 (its
// unpacked epilogue costs what the half column saves), so 40 and 56 stay whole registers.
bool half_column(int64_t m) { return m % 16 != 0 && m % 16 <= 8 && m % kBlock < 32; }

#if defined(__x86_64__)
#define QAT_VNNI_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"
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
            return swish16_quantized(v);
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

// The int32 sums of MR pixels x NR columns of 16 output channels. x[r]: the pixel's K input
// bytes; wp: the block's packed weights ([K/4][width][4], width NR * 16, or NR * 16 - 8 with
// kHalf). kFlip: s8 input, read as u8. kHalf: the last column is 8 channels wide, summed in a
// 256-bit register of its own and zero-extended at the end: on Zen 4 a 512-bit vpdpbusd costs two
// 256-bit ones, so a block of 24 outputs no longer pays for 32 (half_column).
template <int MR, int NR, bool kFlip, bool kHalf = false>
QAT_VNNI_INLINE void accumulate(int64_t k4, const uint8_t* const* x, const int8_t* wp, __m512i (&acc)[MR][NR]) {
    constexpr int64_t kStride = (NR * 16 - (kHalf ? 8 : 0)) * 4;  // weight bytes per input dword
    constexpr int kFull = kHalf ? NR - 1 : NR;
    __m256i half[MR];  // the half column's sums (kHalf)
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
        for (int j = 0; j < kFull; ++j) acc[r][j] = _mm512_setzero_si512();
        if constexpr (kHalf) half[r] = _mm256_setzero_si256();
    }
    const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
    for (int64_t k = 0; k < k4; ++k) {
        __m512i w[NR];
        __m256i wh = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int j = 0; j < kFull; ++j) w[j] = _mm512_loadu_si512(wp + k * kStride + j * 64);
        if constexpr (kHalf) wh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + k * kStride + kFull * 64));
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            int32_t xv;
            std::memcpy(&xv, x[r] + 4 * k, 4);
            __m512i b = _mm512_set1_epi32(xv);
            if (kFlip) b = _mm512_xor_si512(b, flip);
#pragma GCC unroll 4
            for (int j = 0; j < kFull; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], b, w[j]);
            if constexpr (kHalf) half[r] = _mm256_dpbusd_epi32(half[r], _mm512_castsi512_si256(b), wh);
        }
    }
    if constexpr (kHalf) {
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) acc[r][NR - 1] = _mm512_zextsi256_si512(half[r]);
    }
}

// MR pixels x NR columns of 16 output channels through the general epilogue. y[r] / res[r]: the
// pixel's output / residual at channel oc0; m: the output channel count (the last column may be
// partial).
template <int MR, int NR, bool kFlip>
QAT_VNNI void tile(int64_t k4, const uint8_t* const* x, const int8_t* wp, int64_t oc0, int64_t m, uint8_t* const* y,
                   const uint8_t* const* res, const Epi& e) {
    // The epilogue's rows are one cache line per pixel, M bytes apart: too sparse for the hardware
    // prefetcher, so ask for them while the sums run.
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        if (res) _mm_prefetch(reinterpret_cast<const char*>(res[r]), _MM_HINT_T0);
        if (!res || res[r] != y[r]) _mm_prefetch(reinterpret_cast<const char*>(y[r]), _MM_HINT_ET0);
    }
    __m512i acc[MR][NR];
    accumulate<MR, NR, kFlip>(k4, x, wp, acc);
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

// The requantizing epilogue (PointwiseInt8's `requant_` path), by value: our byte stores may alias
// anything, and fields read through a pointer would be reloaded after each one.
struct Requant {
    const float* scale;   // in output units: x_scale * w_scale[m] / y_scale
    const float* bias;    // in output units, the output zero point in: bias[m] / y_scale + y_zp
    const int32_t* comp;  // subtracted from the sums first (the input zero point's term, exact); may be null
    int32_t lo, hi;       // the relu / clip bounds in output units, within the output type's range
    bool y_u8;
    float res_scale;  // residual_scale / y_scale (its zero point's term is in the bias)
    bool res_u8;
    float inv_y, zp;           // swish / sigmoid (scale and bias then in real units): 1 / y_scale, y_zp
    const SwishOutput* swish;  // swish: its output form (swish.h)
};

// What follows the sums on the requantizing path: nothing more (relu / clip as bounds), a residual
// added, or a swish / sigmoid (in real units, then the output scale and zero point).
enum Mode : int { kPlain = 0, kResidual = 1, kSwishAct = 2, kSigmoidAct = 3 };

// The real value f of 16 outputs to output units, rounded (kMode's activation first).
template <int kMode>
QAT_VNNI_INLINE __m512i to_output(__m512 f, const Requant& q) {
    if constexpr (kMode == kSwishAct) {
        // f is twice the real value here (scale and bias doubled at init: swish.h's form).
        f = swish16_to_output(f, *q.swish);
    } else if constexpr (kMode == kSigmoidAct) {
        f = _mm512_fmadd_ps(sigmoid16(f), _mm512_set1_ps(q.inv_y), _mm512_set1_ps(q.zp));
    }
    return _mm512_cvtps_epi32(f);
}

// 64 (NR 4), 48 (NR 3) or 32 (NR 2) residual bytes of a pixel in the packed channel order of
// tile_q's registers, as floats: register j, dword 4 L + i holds byte 4 NR L + 4 j + i. A byte
// shuffle within the lanes picks them (two or three registers: each lane's bytes moved to its lane
// first), zero-extended for u8, sign-extended for s8 (placed in the top byte, shifted down).
template <int NR>
QAT_VNNI_INLINE void residual_packed(const uint8_t* r, __mmask64 mask, bool u8, __m512 (&out)[NR]) {
    alignas(64) static const auto kCtrl = [] {
        std::array<std::array<std::array<int8_t, 64>, 4>, 2> t{};  // [s8?][register][byte]
        for (int sgn = 0; sgn < 2; ++sgn)
            for (int j = 0; j < 4; ++j)
                for (int b = 0; b < 64; ++b) {
                    const int i = (b % 16) / 4, pos = b % 4;
                    t[sgn][j][b] = static_cast<int8_t>(pos == (sgn ? 3 : 0) ? 4 * j + i : 0x80);
                }
        return t;
    }();
    __m512i v = _mm512_maskz_loadu_epi8(mask, r);
    if constexpr (NR == 2) v = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3), v);
    if constexpr (NR == 3)
        v = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 1, 2, 0, 3, 4, 5, 0, 6, 7, 8, 0, 9, 10, 11, 0), v);
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) {
        __m512i d = _mm512_shuffle_epi8(v, _mm512_load_si512(kCtrl[u8 ? 0 : 1][j].data()));
        if (!u8) d = _mm512_srai_epi32(d, 24);
        out[j] = _mm512_cvtepi32_ps(d);
    }
}

// MR pixels x NR columns through the requantizing epilogue. kPacked (NR 2 to 4): the block's
// channels are in the order of the lane-wise packs (PointwiseInt8::init), so that its registers of
// int32 become bytes in channel order with two packing steps (and a qword or dword permute for two
// or three registers), one store per pixel. Otherwise (NR 1) in channel order, 16 channels per
// register, stored with masks. `left`: the channels from the block's first that exist.
template <int MR, int NR, bool kFlip, bool kPacked, int kMode, bool kHalf = false>
QAT_VNNI __attribute__((noinline)) void tile_q(int64_t k4, const uint8_t* const* x, const int8_t* wp, int64_t left,
                                               uint8_t* const* y, const uint8_t* const* res, const Requant q) {
    static_assert(!kPacked || (packed_block(NR) && !kHalf), "packed blocks are 32, 48 or 64 channels");
    constexpr bool kRes = kMode == kResidual;
    __m512i acc[MR][NR];
    accumulate<MR, NR, kFlip, kHalf>(k4, x, wp, acc);
    if constexpr (kPacked) {
        const __m512i lo8 = _mm512_set1_epi8(static_cast<char>(q.lo)), hi8 = _mm512_set1_epi8(static_cast<char>(q.hi));
        constexpr int64_t kWidth = 16 * NR;
        const int64_t bytes = std::min(left, kWidth);
        const __mmask64 mask = bytes >= 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1;
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            __m512 rv[NR];
            if constexpr (kRes) residual_packed<NR>(res[r], mask, q.res_u8, rv);
            __m512i v[NR];
#pragma GCC unroll 4
            for (int j = 0; j < NR; ++j) {
                const __m512i a = q.comp ? _mm512_sub_epi32(acc[r][j], _mm512_loadu_si512(q.comp + 16 * j)) : acc[r][j];
                __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), _mm512_loadu_ps(q.scale + 16 * j),
                                           _mm512_loadu_ps(q.bias + 16 * j));
                if constexpr (kRes) f = _mm512_fmadd_ps(rv[j], _mm512_set1_ps(q.res_scale), f);
                v[j] = to_output<kMode>(f, q);
            }
            // Saturating packs, then the bounds (which lie within the type's range) on the bytes;
            // a swish or sigmoid has none (the packs' saturation is the type's range).
            const __m512i a = _mm512_packs_epi32(v[0], v[1]);
            const __m512i b = NR == 4 ? _mm512_packs_epi32(v[2], v[3]) : NR == 3 ? _mm512_packs_epi32(v[2], v[2]) : a;
            __m512i out = q.y_u8 ? _mm512_packus_epi16(a, b) : _mm512_packs_epi16(a, b);
            if constexpr (kMode == kPlain || kMode == kResidual)
                out = q.y_u8 ? _mm512_min_epu8(_mm512_max_epu8(out, lo8), hi8)
                             : _mm512_min_epi8(_mm512_max_epi8(out, lo8), hi8);
            // Two registers: each lane holds its 8 bytes twice; the even qwords are the 32.
            if constexpr (NR == 2) out = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), out);
            // Three: each lane's last dword repeats its third; the first three of each are the 48.
            if constexpr (NR == 3)
                out = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0, 0, 0, 0),
                                               out);
            if (left >= kWidth && NR == 4)
                _mm512_storeu_si512(y[r], out);
            else
                _mm512_mask_storeu_epi8(y[r], mask, out);
        }
    } else {
        const __m512i lo = _mm512_set1_epi32(q.lo), hi = _mm512_set1_epi32(q.hi);
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j) {
            const int64_t l = left - 16 * j;
            const __mmask16 mask = l >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << l) - 1);
            const __m512 s = _mm512_loadu_ps(q.scale + 16 * j), b = _mm512_loadu_ps(q.bias + 16 * j);
            const __m512i c = q.comp ? _mm512_loadu_si512(q.comp + 16 * j) : _mm512_setzero_si512();
#pragma GCC unroll 12
            for (int r = 0; r < MR; ++r) {
                __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], c)), s, b);
                if constexpr (kRes) {
                    const __m128i rb = _mm_maskz_loadu_epi8(mask, res[r] + 16 * j);
                    const __m512i ri = q.res_u8 ? _mm512_cvtepu8_epi32(rb) : _mm512_cvtepi8_epi32(rb);
                    f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ri), _mm512_set1_ps(q.res_scale), f);
                }
                __m512i v = to_output<kMode>(f, q);
                v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
                _mm_mask_storeu_epi8(y[r] + 16 * j, mask, _mm512_cvtepi32_epi8(v));
            }
        }
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

// The requantizing tile for `rows` (1..requant_rows(nr)) pixels and `nr` (1..4) columns, packed
// for 2 to 4; kMode: what follows the sums (Mode; res: the residual's bytes of the pixels at the
// block's first channel, for kResidual).
template <bool kFlip, int kMode, bool kHalf>
QAT_VNNI void tile_q_any(int rows, int nr, int64_t k4, const uint8_t* const* x, const int8_t* wp, int64_t left,
                         uint8_t* const* y, const uint8_t* const* res, const Requant& q) {
    using Fn = void (*)(int64_t, const uint8_t* const*, const int8_t*, int64_t, uint8_t* const*, const uint8_t* const*,
                        const Requant);
    static constexpr auto kTiles = []<int... I>(std::integer_sequence<int, I...>) {
        // Entry (r, j): r + 1 pixels of j + 1 columns, where that many fit the registers.
        auto entry = []<int R, int J>() -> Fn {
            if constexpr (R + 1 <= requant_rows(J + 1)) {
                constexpr bool kPacked = packed_block(J + 1) && !kHalf;
                return tile_q<R + 1, J + 1, kFlip, kPacked, kMode, kHalf>;
            } else {
                return nullptr;
            }
        };
        return std::array<std::array<Fn, 4>, sizeof...(I)>{
            {{entry.template operator()<I, 0>(), entry.template operator()<I, 1>(), entry.template operator()<I, 2>(),
              entry.template operator()<I, 3>()}...}};
    }
    (std::make_integer_sequence<int, kMaxRows>{});
    kTiles[rows - 1][nr - 1](k4, x, wp, left, y, res, q);
}

// `n` consecutive pixels (a channels-last input of K bytes per pixel, read with stride 1) of one
// block of `NR` columns, in whole tiles and then the rest: the row pointers follow from the first.
// One call per block and chunk rather than per tile (the per-tile set-up cost ~15% of the kernel).
// The residual, if any, is laid out as y (it may be y).
template <int NR, bool kFlip, int kMode, bool kHalf>
QAT_VNNI void span_q(int64_t k4, const uint8_t* x, int64_t k, const int8_t* wp, int64_t left, uint8_t* y,
                     const uint8_t* res, int64_t m, int64_t n, const Requant q) {
    constexpr int kR = requant_rows(NR);
    constexpr bool kPacked = packed_block(NR) && !kHalf;
    constexpr bool kRes = kMode == kResidual;
    const uint8_t* xr[kR];
    uint8_t* yr[kR];
    const uint8_t* rr[kR] = {};
    auto rows = [&](int64_t p, int64_t count) {
#pragma GCC unroll 12
        for (int r = 0; r < kR; ++r) {
            if (r >= count) break;
            xr[r] = x + (p + r) * k;
            yr[r] = y + (p + r) * m;
            if constexpr (kRes) rr[r] = res + (p + r) * m;
        }
    };
    int64_t p = 0;
    for (; p + kR <= n; p += kR) {
        rows(p, kR);
        tile_q<kR, NR, kFlip, kPacked, kMode, kHalf>(k4, xr, wp, left, yr, rr, q);
    }
    if (p == n) return;
    rows(p, n - p);
    tile_q_any<kFlip, kMode, kHalf>(static_cast<int>(n - p), NR, k4, xr, wp, left, yr, rr, q);
}

template <bool kFlip, int kMode, bool kHalf>
QAT_VNNI void span_q_any(int nr, int64_t k4, const uint8_t* x, int64_t k, const int8_t* wp, int64_t left, uint8_t* y,
                         const uint8_t* res, int64_t m, int64_t n, const Requant& q) {
    using Fn = void (*)(int64_t, const uint8_t*, int64_t, const int8_t*, int64_t, uint8_t*, const uint8_t*, int64_t,
                        int64_t, const Requant);
    static constexpr Fn kSpans[4] = {span_q<1, kFlip, kMode, kHalf>, span_q<2, kFlip, kMode, kHalf>,
                                     span_q<3, kFlip, kMode, kHalf>, span_q<4, kFlip, kMode, kHalf>};
    kSpans[nr - 1](k4, x, k, wp, left, y, res, m, n, q);
}

// The span and tile functions of one input kind and Mode, picked once per run; [1]: for a block
// whose last column is a half one.
struct QFns {
    decltype(&span_q_any<false, kPlain, false>) span[2];
    decltype(&tile_q_any<false, kPlain, false>) tile[2];
};
template <bool kFlip, int kMode>
constexpr QFns q_fns() {
    return {{span_q_any<kFlip, kMode, false>, span_q_any<kFlip, kMode, true>},
            {tile_q_any<kFlip, kMode, false>, tile_q_any<kFlip, kMode, true>}};
}
const QFns& q_fns_for(bool s8, int mode) {
    static constexpr QFns kFns[2][4] = {
        {q_fns<false, kPlain>(), q_fns<false, kResidual>(), q_fns<false, kSwishAct>(), q_fns<false, kSigmoidAct>()},
        {q_fns<true, kPlain>(), q_fns<true, kResidual>(), q_fns<true, kSwishAct>(), q_fns<true, kSigmoidAct>()}};
    return kFns[s8][mode];
}

#endif

}  // namespace

bool pointwise_int8_available() {
#if defined(__x86_64__)
    static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                           __builtin_cpu_supports("avx512vnni");
    return ok;
#else
    return false;
#endif
}

bool pointwise_int8_requantizes(const ir::fused::FusedOpInfo& info) {
    using ir::fused::PostOp;
    const auto& ops = info.post_ops;
    // An optional residual add first, then at most one relu or clip.
    const size_t a = !ops.empty() && ops[0] == PostOp::kAdd ? 1 : 0;
    return info.quantized_output() &&
           (ops.size() == a || (ops.size() == a + 1 && (ops[a] == PostOp::kRelu || ops[a] == PostOp::kClip)));
}

namespace {

// A swish or a sigmoid alone after the sums: the requantizing path's activation modes.
int activation_mode(const ir::fused::FusedOpInfo& info) {
    using ir::fused::PostOp;
    const auto& ops = info.post_ops;
    if (!info.quantized_output() || ops.size() != 1) return kPlain;
    return ops[0] == PostOp::kSwish ? kSwishAct : ops[0] == PostOp::kSigmoid ? kSigmoidAct : kPlain;
}

}  // namespace

bool pointwise_int8_fits(const ir::fused::FusedOpInfo& info, int64_t in_channels, int64_t out_channels, bool gathered) {
    const auto& ops = info.post_ops;
    // int32 sums of up to 255 * 127 per input channel (and the zero point term) stay far from
    // overflow up to kMaxChannels.
    if (!info.quantized_output() || in_channels % 4 != 0 || in_channels > kMaxChannels) return false;
    if (pointwise_int8_requantizes(info))
        return out_channels >= (gathered ? kActRequantMinChannels : kRequantMinChannels) ||
               (out_channels > 16 && half_column(out_channels));
    return std::find(ops.begin(), ops.end(), ir::fused::PostOp::kSwish) != ops.end() ||
           std::find(ops.begin(), ops.end(), ir::fused::PostOp::kSigmoid) != ops.end();
}

void PointwiseInt8::init(const int8_t* w, int64_t m, int64_t k, const float* bias, const ir::fused::FusedOpInfo& info,
                         bool x_is_u8) {
    m_ = m;
    k_ = k;
    x_u8_ = x_is_u8;
    info_ = info;
    // A swish or sigmoid alone takes the requantizing path too from 32 outputs (its activation in
    // real units before the output scale); other chains with them the general epilogue.
    act_ = m >= kActRequantMinChannels ? activation_mode(info) : kPlain;
    requant_ = pointwise_int8_requantizes(info) || act_ != kPlain;
    // On the requantizing path a last block of 48 channels is packed as three registers (the
    // unpacked 3-register tile ran 14x14x672 -> 112 at 0.70x brgconv_1x1, the block computed as 64
    // at 0.88-0.95x, the packed three at 1.0x; docs/BENCHMARKS.md), and one of 17-24 (or 1-8)
    // channels ends in a half column: 24 outputs are packed as 24 channels, not 32 (half_column).
    mp_ = requant_ && half_column(m) ? round_up(m, 8) : round_up(m, 16);
    const int64_t mp = mp_, blocks = (mp + kBlock - 1) / kBlock;
    // Column o of a block holds channel b * 64 + channel_of(o): in order, except in the blocks of
    // 2, 3 or 4 registers of the requantizing path, in the order its lane-wise packs give back
    // (tile_q): register j, dword d (o = 16 j + d) ends up as byte 4 NR (d / 4) + 4 j + d % 4.
    auto width_of = [&](int64_t b) { return std::min(kBlock, mp - b * kBlock); };
    auto channel_of = [&](int64_t b, int64_t o) {
        const int64_t width = width_of(b), nr = width / 16;
        const bool packed = requant_ && width % 16 == 0 && packed_block(static_cast<int>(nr));
        return b * kBlock + (packed ? 4 * nr * ((o % 16) / 4) + 4 * (o / 16) + o % 4 : o);
    };
    packed_.assign(static_cast<size_t>(blocks * kBlock * k), 0);
    for (int64_t b = 0; b < blocks; ++b) {
        const int64_t width = width_of(b);
        int8_t* dst = packed_.data() + b * kBlock * k;
        for (int64_t o = 0; o < width; ++o) {
            const int64_t ch = channel_of(b, o);
            if (ch >= m) continue;
            for (int64_t c = 0; c < k; ++c) dst[(c / 4) * width * 4 + o * 4 + c % 4] = w[ch * k + c];
        }
    }
    // The input as the kernel reads it is x (+ 128 for s8); its zero point moves likewise.
    const int32_t zp = info.x_zero_point + (x_is_u8 ? 0 : 128);
    auto weight_sum = [&](int64_t c) {
        int32_t sum = 0;
        for (int64_t i = 0; i < k; ++i) sum += w[c * k + i];
        return sum;
    };
    scale_.assign(static_cast<size_t>(blocks * kBlock), 0.0f);
    bias_.assign(static_cast<size_t>(blocks * kBlock), 0.0f);
    comp_.assign(zp != 0 ? static_cast<size_t>(blocks * kBlock) : 0, 0);
    const float inv_y = 1.0f / info.y_scale;
    for (int64_t b = 0; b < blocks; ++b)
        for (int64_t o = 0; o < width_of(b); ++o) {
            const int64_t c = channel_of(b, o);
            if (c >= m) continue;
            const size_t i = static_cast<size_t>(b * kBlock + o);
            const float ws = info.w_scales.size() == 1 ? info.w_scales[0] : info.w_scales[static_cast<size_t>(c)];
            const float sc = static_cast<float>(static_cast<double>(info.x_scale) * ws);
            const float bc = bias ? bias[c] : 0.0f;
            const int32_t comp = zp != 0 ? zp * weight_sum(c) : 0;
            if (requant_ && act_ == kPlain) {
                // In output units: relu and clip commute with the positive output scale.
                scale_[i] = sc * inv_y;
                bias_[i] = bc * inv_y + static_cast<float>(info.y_zero_point);
            } else if (act_ == kSwishAct) {  // twice the real value: swish16_to_output's input
                scale_[i] = 2 * sc;
                bias_[i] = 2 * bc;
            } else {  // real units: the general epilogue, or a sigmoid first
                scale_[i] = sc;
                bias_[i] = bc;
            }
            if (!comp_.empty()) comp_[i] = comp;
        }
    // The requantizing path's bounds in output units (rounding is monotonic, so clamping the
    // rounded value equals rounding the clamped one), within the output type's range.
    const bool y_u8 = info.out_dtype == DataType::kUint8;
    const int32_t type_lo = y_u8 ? 0 : -128, type_hi = y_u8 ? 255 : 127;
    auto bound = [&](float real) {
        const float v = std::nearbyint(real * inv_y) + static_cast<float>(info.y_zero_point);
        return static_cast<int32_t>(std::min<float>(std::max<float>(v, type_lo), type_hi));
    };
    rq_lo_ = type_lo;
    rq_hi_ = type_hi;
    const ir::fused::PostOp act = info.post_ops.empty() ? ir::fused::PostOp::kAdd : info.post_ops.back();
    if (act == ir::fused::PostOp::kRelu) rq_lo_ = bound(0.0f);
    if (act == ir::fused::PostOp::kClip) {
        rq_lo_ = bound(info.clip_min);
        rq_hi_ = bound(info.clip_max);
    }
    // On the requantizing path the zero point's term goes into the bias where the sums convert to
    // float exactly (|sum| <= K x 255 x 128 <= 2^24): one integer subtraction less per 16 outputs
    // (of ~20 with swish). The folded term's float rounding is a constant offset per channel of
    // ~1e-7 of it, ~1e-4 of an output step at most on EfficientNet-B0's layers.
    if (requant_ && !comp_.empty() && k * 255 * 128 <= (int64_t{1} << 24)) {
        for (size_t i = 0; i < comp_.size(); ++i)
            bias_[i] = static_cast<float>(static_cast<double>(bias_[i]) -
                                          static_cast<double>(comp_[i]) * static_cast<double>(scale_[i]));
        comp_.clear();
    }
    // The residual in output units: r * (r_scale / y_scale), its zero point's term in the bias.
    rq_res_scale_ = info.residual_scale * inv_y;
#if defined(__x86_64__)
    if (act_ == kSwishAct) swish_out_ = SwishOutput(info.y_scale, static_cast<float>(info.y_zero_point));
#endif
    if (requant_ && info.has_residual())
        for (float& b : bias_) b -= static_cast<float>(info.residual_zero_point) * rq_res_scale_;
}

void PointwiseInt8::run(const PointwiseInt8Geometry& g, const void* x, const void* residual, bool residual_is_u8,
                        void* y, int threads) const {
#if defined(__x86_64__)
    const Epi e(info_, scale_.data(), bias_.data(), comp_.empty() ? nullptr : comp_.data(), residual_is_u8);
    const bool y_u8 = info_.out_dtype == DataType::kUint8;

    const int64_t pixels = g.n * g.h * g.w, k4 = k_ / 4;
    const int64_t mp = mp_, blocks = (mp + kBlock - 1) / kBlock;
    const auto* xb = static_cast<const uint8_t*>(x);
    const auto* rb = static_cast<const uint8_t*>(residual);
    auto* yb = static_cast<uint8_t*>(y);
    const bool contiguous = g.stride_h == 1 && g.stride_w == 1 && g.in_h == g.h && g.in_w == g.w;
    auto x_row = [&](int64_t p) {
        if (contiguous) return xb + p * k_;
        const int64_t img = p / (g.h * g.w), oh = (p / g.w) % g.h, ow = p % g.w;
        return xb + ((img * g.in_h + oh * g.stride_h) * g.in_w + ow * g.stride_w) * k_;
    };
    // Threads split the pixels: each thread then writes the rows that it (or our depthwise kernel,
    // which splits rows the same way) reads next, in its own core's cache. They split the output
    // channels instead where the weights outweigh the input (each keeps its share of them in
    // cache): always for swish / sigmoid convolutions, and for requantizing ones with weights of
    // 256 KB or more (ResNet-50's 512 -> 2048 at 7x7: 0.94x brgconv_1x1 split by pixels, 1.00x by
    // channels; docs/BENCHMARKS.md) or too few pixels to share.
    const int64_t tiles = (pixels + kRows - 1) / kRows;
    const bool weights_first = m_ >= pixels && (!requant_ || m_ * k_ >= kChannelSplitWeightBytes);
    const bool split_channels =
        blocks >= threads && (weights_first || (requant_ && tiles < 4 * static_cast<int64_t>(threads)));
    // Pixels per chunk: about 16 KB of input rows, which stay in L1 across the blocks (whole tiles).
    const int64_t chunk = std::max<int64_t>(kWholeTiles, (16384 / k_) / kWholeTiles * kWholeTiles);
    const bool has_res = rb != nullptr;
    const QFns& fns = q_fns_for(!x_u8_, has_res ? kResidual : act_);
    // The requantizing epilogue's values; each block takes its slice of the per-channel arrays.
    const Requant q0{scale_.data(),
                     bias_.data(),
                     comp_.empty() ? nullptr : comp_.data(),
                     rq_lo_,
                     rq_hi_,
                     y_u8,
                     rq_res_scale_,
                     residual_is_u8,
                     1.0f / info_.y_scale,
                     static_cast<float>(info_.y_zero_point),
                     &swish_out_};
    auto work = [&](int64_t b0, int64_t b1, int64_t p0, int64_t p1) {
        const uint8_t* xr[kMaxRows];
        uint8_t* yr[kMaxRows];
        const uint8_t* rr[kMaxRows];
        for (int64_t c0 = p0; c0 < p1; c0 += chunk) {
            const int64_t c1 = std::min(p1, c0 + chunk);
            for (int64_t b = b0; b < b1; ++b) {
                const int64_t oc0 = b * kBlock;
                const int64_t width = std::min(kBlock, mp - oc0);
                const int nr = static_cast<int>((width + 15) / 16);
                const bool half = width % 16 != 0;  // only on the requantizing path (init)
                const int8_t* wp = packed_.data() + oc0 * k_;
                Requant q = q0;
                q.scale += oc0;
                q.bias += oc0;
                if (q.comp) q.comp += oc0;
                if (requant_ && contiguous) {
                    const uint8_t* xs = xb + c0 * k_;
                    uint8_t* ys = yb + c0 * m_ + oc0;
                    const uint8_t* rs = has_res ? rb + c0 * m_ + oc0 : nullptr;
                    fns.span[half](nr, k4, xs, k_, wp, m_ - oc0, ys, rs, m_, c1 - c0, q);
                    continue;
                }
                const int64_t step = requant_ ? requant_rows(nr) : kRows;
                for (int64_t p = c0; p < c1; p += step) {
                    const int rows = static_cast<int>(std::min<int64_t>(step, c1 - p));
                    for (int r = 0; r < rows; ++r) {
                        xr[r] = x_row(p + r);
                        yr[r] = yb + (p + r) * m_ + oc0;
                        rr[r] = has_res ? rb + (p + r) * m_ + oc0 : nullptr;
                    }
                    if (requant_) {
                        fns.tile[half](rows, nr, k4, xr, wp, m_ - oc0, yr, rr, q);
                    } else if (x_u8_) {
                        tile_any<false>(rows, nr, k4, xr, wp, oc0, m_, yr, has_res ? rr : nullptr, e);
                    } else {
                        tile_any<true>(rows, nr, k4, xr, wp, oc0, m_, yr, has_res ? rr : nullptr, e);
                    }
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
            // Even shares of the blocks' pixels: a share may begin or end inside a block (after
            // whole tiles), so an odd block count does not give one thread a whole block more
            // (7x7x1152 -> 320, five blocks: 3 : 2 before; docs/BENCHMARKS.md).
            auto at = [&](int64_t share) {
                const int64_t u = blocks * pixels * share / nt;
                return std::pair<int64_t, int64_t>{u / pixels, u % pixels / kWholeTiles * kWholeTiles};
            };
            auto [b0, p0] = at(t);
            const auto [b1, p1] = at(t + 1);
            if (b0 == b1) {
                if (p1 > p0) work(b0, b0 + 1, p0, p1);
            } else {
                if (p0 > 0) {
                    work(b0, b0 + 1, p0, pixels);
                    ++b0;
                }
                if (b1 > b0) work(b0, b1, 0, pixels);
                if (p1 > 0) work(b1, b1 + 1, 0, p1);
            }
        } else {
            work(0, blocks, std::min(pixels, tiles * t / nt * kRows), std::min(pixels, tiles * (t + 1) / nt * kRows));
        }
    }
#else
    (void)g, (void)x, (void)residual, (void)residual_is_u8, (void)y, (void)threads;
#endif
}

}  // namespace qat::onednn
