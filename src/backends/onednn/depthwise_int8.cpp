#include "backends/onednn/depthwise_int8.h"

#include <omp.h>

#include <algorithm>
#include <limits>

#include "backends/onednn/pointwise_int8.h"
#include "backends/onednn/swish.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own undefined-vector helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define QAT_DW_TARGET "avx2,fma,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"
#define QAT_VNNI __attribute__((target(QAT_DW_TARGET)))
#define QAT_VNNI_INLINE __attribute__((target(QAT_DW_TARGET), always_inline)) inline
#endif

namespace qat::onednn {
namespace {

// Fewer channels leave most of a block's lanes idle.
constexpr int64_t kMinChannels = 32;
// 5x5 stride-1 rows of fewer outputs run on run_rows' blocks: run_rows5 builds four columns per
// row and slice before its first output, a large share of a 7-wide row (EfficientNet-B0's 7x7x1152
// layers 0.27 -> 0.33 ms at batch 16 on slices, docs/BENCHMARKS.md).
constexpr int64_t kSliceMinWidth = 14;
// Inputs of more bytes than this (the L2 of two cores) are read with software prefetch.
constexpr int64_t kPrefetchBytes = int64_t{2} << 20;

// Registers of packed weights per block of channels: 3x3, a quad per kernel column (3 x 4
// registers); 5x5, two quads per kernel column (5 x 2 x 4).
constexpr int64_t packed_registers(int kernel) { return kernel == 5 ? 5 * 2 * 4 : 3 * 4; }

#if defined(__x86_64__)

#define QAT_VOP __attribute__((target(QAT_DW_TARGET), always_inline))

// The kernel's vector operations at two widths: blocks of 64 channels in zmm registers, a last
// part of at most 32 in ymm ones (which would leave half of a 64-channel block idle). Lane L of a
// register holds 16 channels either way, so the interleave and the packs work the same.
struct Zmm {
    static constexpr int64_t kW = 64;
    using I = __m512i;
    using F = __m512;
    using M = __mmask64;
    static QAT_VOP M mask(int64_t width) { return width >= kW ? ~0ULL : (~0ULL >> (64 - width)); }
    static QAT_VOP I zero() { return _mm512_setzero_si512(); }
    static QAT_VOP I set1_8(char v) { return _mm512_set1_epi8(v); }
    static QAT_VOP I set1_32(int32_t v) { return _mm512_set1_epi32(v); }
    static QAT_VOP F set1_ps(float v) { return _mm512_set1_ps(v); }
    static QAT_VOP I load(M m, const uint8_t* p) { return _mm512_maskz_loadu_epi8(m, p); }
    static QAT_VOP I loadw(const int8_t* p) { return _mm512_loadu_si512(p); }
    static QAT_VOP F loadps(const float* p) { return _mm512_loadu_ps(p); }
    static QAT_VOP I xor_(I a, I b) { return _mm512_xor_si512(a, b); }
    static QAT_VOP I lo8(I a, I b) { return _mm512_unpacklo_epi8(a, b); }
    static QAT_VOP I hi8(I a, I b) { return _mm512_unpackhi_epi8(a, b); }
    static QAT_VOP I lo16(I a, I b) { return _mm512_unpacklo_epi16(a, b); }
    static QAT_VOP I hi16(I a, I b) { return _mm512_unpackhi_epi16(a, b); }
    static QAT_VOP I dpbusd(I acc, I a, I b) { return _mm512_dpbusd_epi32(acc, a, b); }
    static QAT_VOP I requant(I acc, F s, F b, F lo, F hi, I zp) {
        const F v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), s, b);
        return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi)), zp);
    }
    // swish((acc * s + b) / 2) / y_scale + zp, rounded, for the four registers of a pixel (s, b:
    // twice the real units, swish.h's form; the packs saturate).
    static QAT_VOP void requant_swish(const I (&acc)[4], const F (&s)[4], const F (&b)[4], const SwishOutputRegs& t,
                                      I (&v)[4]) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k)
            v[k] = _mm512_cvtps_epi32(swish16_to_output(_mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[k]), s[k], b[k]), t));
    }
    static QAT_VOP I pack(I a, I b, I c, I d, bool u8) {
        return u8 ? _mm512_packus_epi16(_mm512_packus_epi32(a, b), _mm512_packus_epi32(c, d))
                  : _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
    }
    static QAT_VOP void store(uint8_t* p, M m, I v) { _mm512_mask_storeu_epi8(p, m, v); }
};

struct Ymm {
    static constexpr int64_t kW = 32;
    using I = __m256i;
    using F = __m256;
    using M = __mmask32;
    static QAT_VOP M mask(int64_t width) { return width >= kW ? ~0U : (~0U >> (32 - width)); }
    static QAT_VOP I zero() { return _mm256_setzero_si256(); }
    static QAT_VOP I set1_8(char v) { return _mm256_set1_epi8(v); }
    static QAT_VOP I set1_32(int32_t v) { return _mm256_set1_epi32(v); }
    static QAT_VOP F set1_ps(float v) { return _mm256_set1_ps(v); }
    static QAT_VOP I load(M m, const uint8_t* p) { return _mm256_maskz_loadu_epi8(m, p); }
    static QAT_VOP I loadw(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static QAT_VOP F loadps(const float* p) { return _mm256_loadu_ps(p); }
    static QAT_VOP I xor_(I a, I b) { return _mm256_xor_si256(a, b); }
    static QAT_VOP I lo8(I a, I b) { return _mm256_unpacklo_epi8(a, b); }
    static QAT_VOP I hi8(I a, I b) { return _mm256_unpackhi_epi8(a, b); }
    static QAT_VOP I lo16(I a, I b) { return _mm256_unpacklo_epi16(a, b); }
    static QAT_VOP I hi16(I a, I b) { return _mm256_unpackhi_epi16(a, b); }
    static QAT_VOP I dpbusd(I acc, I a, I b) { return _mm256_dpbusd_epi32(acc, a, b); }
    static QAT_VOP I requant(I acc, F s, F b, F lo, F hi, I zp) {
        const F v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), s, b);
        return _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi)), zp);
    }
    // Two registers per swish16_to_output (its cost is per 16 floats).
    static QAT_VOP void requant_swish(const I (&acc)[4], const F (&s)[4], const F (&b)[4], const SwishOutputRegs& t,
                                      I (&v)[4]) {
#pragma GCC unroll 2
        for (int k = 0; k < 4; k += 2) {
            const F x0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[k]), s[k], b[k]);
            const F x1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[k + 1]), s[k + 1], b[k + 1]);
            // x0 in the low half, x1 in the high.
            const __m512 x = _mm512_shuffle_f32x4(_mm512_castps256_ps512(x0), _mm512_castps256_ps512(x1), 0x44);
            const __m512i q = _mm512_cvtps_epi32(swish16_to_output(x, t));
            v[k] = _mm512_castsi512_si256(q);
            v[k + 1] = _mm512_extracti64x4_epi64(q, 1);
        }
    }
    static QAT_VOP I pack(I a, I b, I c, I d, bool u8) {
        return u8 ? _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d))
                  : _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    }
    static QAT_VOP void store(uint8_t* p, M m, I v) { _mm256_mask_storeu_epi8(p, m, v); }
};

template <class V, bool kFlip>
QAT_VNNI_INLINE typename V::I load_pixel(const uint8_t* p, typename V::M mask, typename V::I flip) {
    const typename V::I v = V::load(mask, p);
    return kFlip ? V::xor_(v, flip) : v;
}

// The epilogue's constants in registers: the relu / clip bounds in output units and the zero
// point at the block's width; for swish its output form (16 floats at either width).
template <class V>
struct Bounds {
    typename V::F lo, hi;
    typename V::I zp;
    SwishOutputRegs swish;
};

// The four registers of sums of one output pixel (lane order) -> its bytes at y, requantized and
// packed lane-wise: lane L gets registers 0..3's dwords of lane L in order, i.e. channels 16L ..
// 16L + 15, saturated to the output type. kSwish: swish.h's form from twice the real value, then
// the output scale and zero point; else the bounds and zero point in output units.
template <class V, bool kSwish>
QAT_VNNI_INLINE void store_pixel(const typename V::I (&a)[4], const typename V::F (&s)[4], const typename V::F (&b)[4],
                                 const Bounds<V>& e, bool y_u8, typename V::M mask, uint8_t* y) {
    typename V::I v[4];
    if constexpr (kSwish) {
        V::requant_swish(a, s, b, e.swish, v);
    } else {
        const typename V::F lo = e.lo, hi = e.hi;
        const typename V::I zp = e.zp;
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) v[k] = V::requant(a[k], s[k], b[k], lo, hi, zp);
    }
    V::store(y, mask, V::pack(v[0], v[1], v[2], v[3], y_u8));
}

// The requantization, for the chains that commute with the output scale (none, relu, clip): y =
// round(acc * s + b) clamped to [lo, hi] + zp, with s, b and the bounds in output units. Passed by
// value: our stores are bytes, which may alias anything, and would make the compiler reload every
// field of a struct in memory after each.
struct Requant {
    const float* scale;
    const float* bias;
    float lo, hi;
    int32_t zp;
    bool y_u8;                 // uint8 output (else int8)
    const SwishOutput* swish;  // swish: its output form (scale and bias then in twice the real units)
};

// Four registers of one byte each per channel (a, b, c, d: 64 or 32 channels) interleaved into
// dwords [a b c d]: register k, lane L, dword j holds channel 16L + 4k + j (unpacks within lanes).
template <class V>
QAT_VNNI_INLINE void interleave4(typename V::I a, typename V::I b, typename V::I c, typename V::I d,
                                 typename V::I (&q)[4]) {
    using I = typename V::I;
    const I t0 = V::lo8(a, b), t1 = V::hi8(a, b);
    const I t2 = V::lo8(c, d), t3 = V::hi8(c, d);
    q[0] = V::lo16(t0, t2);
    q[1] = V::hi16(t0, t2);
    q[2] = V::lo16(t1, t3);
    q[3] = V::hi16(t1, t3);
}

// The pixels of column `col` of kRows input rows (null: padding; outside the image: `fill`).
// Loads are masked to the block's channels (the last pixel of a tensor is not read past its end);
// an s8 input is flipped to u8 (kFlip).
template <class V, bool kFlip, int kRows>
QAT_VNNI_INLINE void load_pixels(const uint8_t* const (&rows)[kRows], int64_t col, int64_t in_w, int64_t C,
                                 typename V::M mask, typename V::I flip, typename V::I fill,
                                 typename V::I (&p)[kRows]) {
    const bool inside = col >= 0 && col < in_w;
#pragma GCC unroll 5
    for (int r = 0; r < kRows; ++r)
        p[r] = inside && rows[r] ? load_pixel<V, kFlip>(rows[r] + col * C, mask, flip) : fill;
}

// The column `col` of three input rows as one quad, the fourth byte (weight 0) padding.
template <class V, bool kFlip>
QAT_VNNI_INLINE void load_column(const uint8_t* const (&rows)[3], int64_t col, int64_t in_w, int64_t C,
                                 typename V::M mask, typename V::I flip, typename V::I fill, typename V::I (&q)[4]) {
    typename V::I p[3];
    load_pixels<V, kFlip, 3>(rows, col, in_w, C, mask, flip, fill, p);
    interleave4<V>(p[0], p[1], p[2], fill, q);
}

// The column `col` of five input rows (5x5): rows 0..3 as a quad, row 4 with each byte repeated
// four times (its other three taps have weight 0).
template <class V, bool kFlip>
QAT_VNNI_INLINE void load_column5(const uint8_t* const (&rows)[5], int64_t col, int64_t in_w, int64_t C,
                                  typename V::M mask, typename V::I flip, typename V::I fill,
                                  typename V::I (&q)[2][4]) {
    typename V::I p[5];
    load_pixels<V, kFlip, 5>(rows, col, in_w, C, mask, flip, fill, p);
    interleave4<V>(p[0], p[1], p[2], p[3], q[0]);
    interleave4<V>(p[4], p[4], p[4], p[4], q[1]);
}

// Asks for the input lines that output `ow` of the next output row reads first (the kStride rows
// below the ones it shares with this row, kStride pixels from column kStride * ow, all channels),
// for inputs that do not fit the caches (kPrefetchBytes): EfficientNet-B0's batch-16 expand
// outputs, which the hardware prefetcher, one row at a time, kept too few lines of in flight.
template <int kK, int kStride>
QAT_VNNI_INLINE void prefetch_next_row(const uint8_t* const (&rows)[kK], int64_t ow, int64_t in_w, int64_t C) {
    const int64_t ahead = kStride * in_w * C, first = kStride * ow * C;
#pragma GCC unroll 2
    for (int k = kK - kStride; k < kK; ++k) {
        if (!rows[k]) continue;
        const uint8_t* p = rows[k] + ahead + first;
        for (int64_t o = 0; o < kStride * C; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + o), _MM_HINT_T0);
    }
}

// Output rows [r0, r1) of the flattened (image, row) range, kK x kK (3 or 5, padding kK / 2).
// Output ow sums the input columns kStride * ow - kK / 2 .. kStride * ow + kK / 2 of its input
// rows, kFlip: an s8 input.
//
// 3x3: each column's taps [w(0,kx) w(1,kx) w(2,kx) 0] in one vpdpbusd per register; columns are
// carried to the next output in registers (stride 1: two, stride 2: one), so each is loaded and
// interleaved once.
//
// 5x5: a column is two quads, rows 0..3 (weights [w(0,kx) .. w(3,kx)]) and row 4 (each byte
// repeated four times; weights [w(4,kx) 0 0 0]). Five columns of eight registers do not fit the
// register file: built columns go to a ring of five on the stack (one new column per output at
// stride 1, two at stride 2) and are read back for the products.
template <class V, bool kFlip, int kStride, bool kSwish, int kK>
QAT_VNNI void run_rows(const DepthwiseInt8Geometry g, const int64_t C, const int64_t channels, const int64_t blocks,
                       const uint8_t* x, uint8_t* y, const int64_t r0, const int64_t r1, const int8_t* packed,
                       const Requant f, const bool prefetch) {
    using I = typename V::I;
    using F = typename V::F;
    constexpr int64_t kW = V::kW, kLanes = kW / 4;  // channels per block, dwords per register
    constexpr int kPad = kK / 2;
    constexpr int64_t kBlockBytes = packed_registers(kK) * kW;  // packed weights per block
    Bounds<V> e{V::set1_ps(f.lo), V::set1_ps(f.hi), V::set1_32(f.zp), {}};
    if constexpr (kSwish) e.swish = swish_output_regs(*f.swish);
    const bool y_u8 = f.y_u8;
    // An s8 input is read as x + 128 (its sign bit flipped), its padding as 128.
    const I flip = V::set1_8(static_cast<char>(kFlip ? 0x80 : 0));
    const I fill = flip;
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / g.h, oh = r % g.h;
        const uint8_t* rows[kK];
        for (int k = 0; k < kK; ++k) {
            const int64_t ih = kStride * oh - kPad + k;
            rows[k] = ih >= 0 && ih < g.in_h ? x + ((img * g.in_h + ih) * g.in_w) * C : nullptr;
        }
        uint8_t* yr = y + r * g.w * C;
        for (int64_t b = 0; b < blocks; ++b) {
            const int8_t* wb = packed + b * kBlockBytes;
            const typename V::M mask = V::mask(channels - b * kW);
            const uint8_t* rb[kK];
            for (int k = 0; k < kK; ++k) rb[k] = rows[k] ? rows[k] + b * kW : nullptr;
            F s[4], bias[4];
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) {
                s[k] = V::loadps(f.scale + b * kW + k * kLanes);
                bias[k] = V::loadps(f.bias + b * kW + k * kLanes);
            }
            if constexpr (kK == 3) {
                I c0[4], c1[4], c2[4];
                load_column<V, kFlip>(rb, -1, g.in_w, C, mask, flip, fill, c0);
                if constexpr (kStride == 1) load_column<V, kFlip>(rb, 0, g.in_w, C, mask, flip, fill, c1);
                for (int64_t ow = 0; ow < g.w; ++ow) {
                    if (prefetch && b == 0) prefetch_next_row<3, kStride>(rows, ow, g.in_w, C);
                    if constexpr (kStride == 2) load_column<V, kFlip>(rb, 2 * ow, g.in_w, C, mask, flip, fill, c1);
                    load_column<V, kFlip>(rb, kStride * ow + 1, g.in_w, C, mask, flip, fill, c2);
                    I a[4];
#pragma GCC unroll 4
                    for (int k = 0; k < 4; ++k) {
                        a[k] = V::dpbusd(V::zero(), c0[k], V::loadw(wb + k * kW));
                        a[k] = V::dpbusd(a[k], c1[k], V::loadw(wb + (4 + k) * kW));
                        a[k] = V::dpbusd(a[k], c2[k], V::loadw(wb + (8 + k) * kW));
                        c0[k] = kStride == 1 ? c1[k] : c2[k];
                        c1[k] = c2[k];
                    }
                    store_pixel<V, kSwish>(a, s, bias, e, y_u8, mask, yr + ow * C + b * kW);
                }
            } else {
                I ring[5][2][4];  // [column mod 5][rows 0..3, row 4][register]
                // The columns output 0 shares with the ones before it (four at stride 1, three at 2).
                for (int64_t c = -2; c < (kStride == 1 ? 2 : 1); ++c)
                    load_column5<V, kFlip>(rb, c, g.in_w, C, mask, flip, fill, ring[(c + 10) % 5]);
                for (int64_t ow = 0; ow < g.w; ++ow) {
                    if (prefetch && b == 0) prefetch_next_row<5, kStride>(rows, ow, g.in_w, C);
                    const int64_t first = kStride * ow - 2;
                    if constexpr (kStride == 2)
                        load_column5<V, kFlip>(rb, first + 3, g.in_w, C, mask, flip, fill, ring[(first + 13) % 5]);
                    load_column5<V, kFlip>(rb, first + 4, g.in_w, C, mask, flip, fill, ring[(first + 14) % 5]);
                    I a[4];
#pragma GCC unroll 4
                    for (int k = 0; k < 4; ++k) a[k] = V::zero();
#pragma GCC unroll 5
                    for (int kx = 0; kx < 5; ++kx) {
                        const I(&q)[2][4] = ring[(first + kx + 10) % 5];
#pragma GCC unroll 4
                        for (int k = 0; k < 4; ++k) {
                            a[k] = V::dpbusd(a[k], q[0][k], V::loadw(wb + ((kx * 2) * 4 + k) * kW));
                            a[k] = V::dpbusd(a[k], q[1][k], V::loadw(wb + ((kx * 2 + 1) * 4 + k) * kW));
                        }
                    }
                    store_pixel<V, kSwish>(a, s, bias, e, y_u8, mask, yr + ow * C + b * kW);
                }
            }
        }
    }
}

// 5x5 at stride 1 by slices of 16 channels, one register each (run_rows' blocks of 64 reload each
// column and weight register for every product: 80 512-bit loads per 64 outputs, the bound of
// its 5x5 form). A column of a slice: rows 0..3 zero-extended to dwords and shifted into bytes
// 0..3 of each channel's dword, row 4 zero-extended alone (weights [w(4,kx) 0 0 0]). The five
// columns are carried in registers from output to output, the slice's ten weight registers stay
// loaded for all its outputs in the rows [r0, r1) of one image, and the ten products run as three
// chains (one chain waited on each vpdpbusd's latency). A cross-lane byte permute to build the
// quad instead of the shifts made it slower than run_rows: its latency sat at the head of every
// output's chain. EfficientNet-B0's 5x5 stride-1 layers of 14 and 28 outputs a row 1.04-1.23x
// run_rows (docs/BENCHMARKS.md); at stride 2 (two new columns per output) and on rows of 7
// outputs (kSliceMinWidth) run_rows stays faster. No software prefetch here (kPrefetchBytes): an
// image's later slices read its rows from the caches the first one filled.
template <bool kFlip, bool kSwish>
QAT_VNNI void run_rows5(const DepthwiseInt8Geometry g, const int64_t C, const uint8_t* x, uint8_t* y, const int64_t r0,
                        const int64_t r1, const int8_t* packed, const Requant f) {
    alignas(16) static const uint8_t kZeros[16] = {};
    const __m512i flip8 = _mm512_set1_epi8(static_cast<char>(kFlip ? 0x80 : 0));
    const __m512i flip32 = _mm512_set1_epi32(kFlip ? 0x80 : 0);
    SwishOutputRegs sw;
    if constexpr (kSwish) sw = swish_output_regs(*f.swish);
    const __m512 lo = _mm512_set1_ps(f.lo), hi = _mm512_set1_ps(f.hi);
    const __m512i zp = _mm512_set1_epi32(f.zp);
    const int64_t slices = (C + 15) / 16;
    for (int64_t c0 = r0; c0 < r1;) {
        const int64_t img = c0 / g.h, c1 = std::min(r1, (img + 1) * g.h);
        for (int64_t sl = 0; sl < slices; ++sl) {
            const bool full = C - 16 * sl >= 16;
            const __mmask16 m = full ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (C - 16 * sl)) - 1);
            const int8_t* ws = packed + sl * 10 * 64;
            __m512i w[10];
#pragma GCC unroll 10
            for (int i = 0; i < 10; ++i) w[i] = _mm512_loadu_si512(ws + 64 * i);
            const __m512 sc = _mm512_loadu_ps(f.scale + 16 * sl), bi = _mm512_loadu_ps(f.bias + 16 * sl);
            for (int64_t r = c0; r < c1; ++r) {
                const int64_t oh = r % g.h;
                const uint8_t* p[5];
                for (int k = 0; k < 5; ++k) {
                    const int64_t ih = oh - 2 + k;
                    p[k] = ih >= 0 && ih < g.in_h ? x + ((img * g.in_h + ih) * g.in_w) * C + 16 * sl : nullptr;
                }
                // Rows 0..3 of a column zero-extended to dwords and shifted into bytes 0..3 of
                // each channel's dword (a 16-byte load and a widening each: short latency, no
                // cross-lane byte permute), row 4 zero-extended alone; s8 input flipped to u8.
                auto column = [&](int64_t col, __m512i & q, __m512i & r4)
                    __attribute__((always_inline, target(QAT_DW_TARGET))) {
                    const bool inside = col >= 0 && col < g.in_w;
                    __m512i z[5];
#pragma GCC unroll 5
                    for (int k = 0; k < 5; ++k) {
                        const uint8_t* a = inside && p[k] ? p[k] + col * C : kZeros;
                        z[k] = _mm512_cvtepu8_epi32(full ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(a))
                                                         : _mm_maskz_loadu_epi8(m, a));
                    }
                    const __m512i rows012 = _mm512_ternarylogic_epi32(z[0], _mm512_slli_epi32(z[1], 8),
                                                                      _mm512_slli_epi32(z[2], 16), 0xFE);  // a | b | c
                    q = _mm512_ternarylogic_epi32(rows012, _mm512_slli_epi32(z[3], 24), flip8, 0x56);  // (a | b) ^ c
                    r4 = _mm512_xor_si512(z[4], flip32);
                };
                __m512i q0, q1, q2, q3, q4, t0, t1, t2, t3, t4;
                column(-2, q0, t0);
                column(-1, q1, t1);
                column(0, q2, t2);
                column(1, q3, t3);
                uint8_t* yr = y + r * g.w * C + 16 * sl;
                for (int64_t ow = 0; ow < g.w; ++ow) {
                    column(ow + 2, q4, t4);
                    // Three chains of vpdpbusd (one of ten waited on each one's latency).
                    __m512i a = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q0, w[0]);
                    __m512i a1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), t0, w[1]);
                    __m512i a2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q1, w[2]);
                    a = _mm512_dpbusd_epi32(a, t1, w[3]);
                    a1 = _mm512_dpbusd_epi32(a1, q2, w[4]);
                    a2 = _mm512_dpbusd_epi32(a2, t2, w[5]);
                    a = _mm512_dpbusd_epi32(a, q3, w[6]);
                    a1 = _mm512_dpbusd_epi32(a1, t3, w[7]);
                    a2 = _mm512_dpbusd_epi32(a2, q4, w[8]);
                    a = _mm512_dpbusd_epi32(a, t4, w[9]);
                    a = _mm512_add_epi32(a, _mm512_add_epi32(a1, a2));
                    const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), sc, bi);
                    __m512i o;
                    if constexpr (kSwish) {
                        o = _mm512_cvtps_epi32(swish16_to_output(v, sw));
                    } else {
                        o = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi)), zp);
                    }
                    const __m128i b = f.y_u8 ? _mm512_cvtusepi32_epi8(_mm512_max_epi32(o, _mm512_setzero_si512()))
                                             : _mm512_cvtsepi32_epi8(o);
                    _mm_mask_storeu_epi8(yr + ow * C, m, b);
                    q0 = q1, q1 = q2, q2 = q3, q3 = q4;
                    t0 = t1, t1 = t2, t2 = t3, t3 = t4;
                }
            }
        }
        c0 = c1;
    }
}

// f: scale and bias in channel order (scale16_, bias16_).
using Run5Fn = void (*)(const DepthwiseInt8Geometry, int64_t, const uint8_t*, uint8_t*, int64_t, int64_t, const int8_t*,
                        const Requant);

Run5Fn pick_run5(bool swish, bool s8) {
    static constexpr Run5Fn kRuns[2][2] = {{run_rows5<false, false>, run_rows5<true, false>},
                                           {run_rows5<false, true>, run_rows5<true, true>}};
    return kRuns[swish][s8];
}

using RunFn = void (*)(const DepthwiseInt8Geometry, int64_t, int64_t, int64_t, const uint8_t*, uint8_t*, int64_t,
                       int64_t, const int8_t*, const Requant, bool);

template <int kK, bool kSwish, int kStride>
RunFn run_of(bool ymm, bool s8) {
    static constexpr RunFn kRuns[2][2] = {
        {run_rows<Zmm, false, kStride, kSwish, kK>, run_rows<Zmm, true, kStride, kSwish, kK>},
        {run_rows<Ymm, false, kStride, kSwish, kK>, run_rows<Ymm, true, kStride, kSwish, kK>}};
    return kRuns[ymm][s8];
}

// run_rows for a kernel size, swish or not, a stride, blocks of 64 channels or the last 32, an s8
// input or u8.
RunFn pick_run(int kernel, bool swish, int stride, bool ymm, bool s8) {
    using Pick = RunFn (*)(bool, bool);
    static constexpr Pick kPick[2][2][2] = {
        {{run_of<3, false, 1>, run_of<3, false, 2>}, {run_of<3, true, 1>, run_of<3, true, 2>}},
        {{run_of<5, false, 1>, run_of<5, false, 2>}, {run_of<5, true, 1>, run_of<5, true, 2>}}};
    return kPick[kernel == 5][swish][stride == 2](ymm, s8);
}

#endif

}  // namespace

bool depthwise_int8_fits(const ir::fused::FusedOpInfo& info, int64_t channels) {
    using ir::fused::PostOp;
    const auto& ops = info.post_ops;
    const bool chain =
        ops.empty() ||
        (ops.size() == 1 && (ops[0] == PostOp::kRelu || ops[0] == PostOp::kClip || ops[0] == PostOp::kSwish));
    return chain && info.quantized_output() && info.x_zero_point == 0 && channels >= kMinChannels &&
           pointwise_int8_available();
}

void DepthwiseInt8::init(const int8_t* w, int64_t channels, const float* bias, const ir::fused::FusedOpInfo& info,
                         bool x_is_u8, int stride, int kernel) {
    c_ = channels;
    stride_ = stride;
    kernel_ = kernel;
    swish_ = info.post_ops.size() == 1 && info.post_ops[0] == ir::fused::PostOp::kSwish;
    inv_y_ = 1.0f / info.y_scale;
    // Blocks of 64 channels (all in blocks of 32, 144 channels ran 1.44x oneDNN against 1.75x;
    // docs/BENCHMARKS.md), and a last part of at most 32 channels in one block of 32: 144 as 64 +
    // 64 + 32 instead of 3 x 64, 480 as 7 x 64 + 32 (a block of 64 costs ~1.4x one of 32, not 2x);
    // 32 channels as that block alone, 96 as 64 + 32 (3 x 32 measured 10-18% slower).
    tail_ = channels % 64 != 0 && channels % 64 <= 32 ? channels % 64 : 0;
    blocks_ = tail_ ? channels / 64 : (channels + 63) / 64;
    x_u8_ = x_is_u8;
    y_zp_ = info.y_zero_point;
    y_u8_ = info.out_dtype == DataType::kUint8;
    const int64_t regs = packed_registers(kernel), main = blocks_ * 64;
    const size_t n = static_cast<size_t>(main + (tail_ ? 32 : 0));
    // run_rows' blocks, and for 5x5 at stride 1 run_rows5's slices too (rows of fewer than
    // kSliceMinWidth outputs take the blocks).
    const int64_t slices = (channels + 15) / 16;
    packed_.assign(n * static_cast<size_t>(regs), 0);
    packed16_.assign(slices5() ? static_cast<size_t>(slices * 10 * 64) : 0, 0);
    scale_.assign(n, 0.0f);
    bias_.assign(n, 0.0f);
    scale16_.assign(slices5() ? static_cast<size_t>(slices * 16) : 0, 0.0f);
    bias16_.assign(slices5() ? static_cast<size_t>(slices * 16) : 0, 0.0f);
    for (int64_t c = 0; c < channels; ++c) {
        // Channel c's sums land in its block (kBlock channels, its weights from byte `base`, its
        // scale and bias from `first`), register k, dword 4L + j for c - first = 16L + 4k + j.
        const bool in_tail = c >= main;
        const int64_t kBlock = in_tail ? 32 : 64, b = in_tail ? blocks_ : c / 64;
        const int64_t first = in_tail ? main : b * 64, base = first * regs;
        const int64_t r = c - first, L = r / 16, k = (r % 16) / 4, j = r % 4;
        const int64_t pos = 4 * L + j;
        const int K = kernel_;
        if (K == 3) {
            // Per column kx, the taps of rows 0..2 and a 0 (run_rows).
            for (int kx = 0; kx < 3; ++kx)
                for (int t = 0; t < 3; ++t)
                    packed_[static_cast<size_t>(base + (kx * 4 + k) * kBlock + pos * 4 + t)] = w[c * 9 + t * 3 + kx];
        } else {
            // Per column kx, the taps of rows 0..3, then row 4's and three 0s (run_rows).
            for (int kx = 0; kx < 5; ++kx) {
                for (int t = 0; t < 4; ++t)
                    packed_[static_cast<size_t>(base + ((kx * 2) * 4 + k) * kBlock + pos * 4 + t)] =
                        w[c * 25 + t * 5 + kx];
                packed_[static_cast<size_t>(base + ((kx * 2 + 1) * 4 + k) * kBlock + pos * 4)] = w[c * 25 + 20 + kx];
                if (!slices5()) continue;
                // Per slice [c / 16] and column kx: the same taps, per channel c % 16 (run_rows5).
                int8_t* sl = packed16_.data() + (c / 16) * 640 + kx * 128 + (c % 16) * 4;
                for (int t = 0; t < 4; ++t) sl[t] = w[c * 25 + t * 5 + kx];
                sl[64] = w[c * 25 + 20 + kx];
            }
        }
        int32_t sum = 0;
        for (int t = 0; t < K * K; ++t) sum += w[c * K * K + t];
        const size_t i = static_cast<size_t>(first + k * (kBlock / 4) + pos);
        const float ws = info.w_scales.size() == 1 ? info.w_scales[0] : info.w_scales[static_cast<size_t>(c)];
        const float s = static_cast<float>(static_cast<double>(info.x_scale) * ws);
        // In output units (relu and clip commute with the positive output scale), in real units
        // for swish (which does not; the epilogue multiplies by 1 / y_scale after it); an s8 input
        // is read as x + 128 (its padding too): 128 * sum(w) taken back through the bias.
        // swish: twice the real value (swish16_to_output's input); else output units.
        const float units = swish_ ? 2.0f : inv_y_;
        scale_[i] = s * units;
        bias_[i] = ((bias ? bias[c] : 0.0f) - (x_is_u8 ? 0.0f : 128.0f * static_cast<float>(sum)) * s) * units;
        if (slices5()) {
            scale16_[static_cast<size_t>(c)] = scale_[i];
            bias16_[static_cast<size_t>(c)] = bias_[i];
        }
    }
    using ir::fused::PostOp;
    const auto& ops = info.post_ops;
    lo_ = -std::numeric_limits<float>::infinity();
    hi_ = std::numeric_limits<float>::infinity();
    if (!ops.empty() && ops[0] == PostOp::kRelu) lo_ = 0.0f;
    if (!ops.empty() && ops[0] == PostOp::kClip) {
        lo_ = info.clip_min * inv_y_;
        hi_ = info.clip_max * inv_y_;
    }
#if defined(__x86_64__)
    if (swish_) swish_out_ = SwishOutput(info.y_scale, static_cast<float>(info.y_zero_point));
#endif
}

void DepthwiseInt8::run(const DepthwiseInt8Geometry& g, const void* x, void* y, int threads) const {
#if defined(__x86_64__)
    const Requant f{scale_.data(), bias_.data(), lo_, hi_, y_zp_, y_u8_, &swish_out_};
    const int64_t rows = g.n * g.h;
    const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, rows)));
    const auto* xb = static_cast<const uint8_t*>(x);
    auto* yb = static_cast<uint8_t*>(y);
    // Software prefetch for inputs larger than the two cores' L2 (batch 16 of EfficientNet-B0's
    // early layers: its 112x112x96 stride-2 layer 1.47-1.79 -> 1.17-1.37 ms; docs/BENCHMARKS.md);
    // on cached inputs the prefetches only cost (1-3% on one thread). The first call of a row range
    // asks for every channel's lines.
    const bool prefetch = g.n * g.in_h * g.in_w * c_ > kPrefetchBytes;
    auto work = [&](int t) {
        const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        if (slices5() && g.w >= kSliceMinWidth) {
            Requant f5 = f;
            f5.scale = scale16_.data();
            f5.bias = bias16_.data();
            pick_run5(swish_, !x_u8_)(g, c_, xb, yb, r0, r1, packed16_.data(), f5);
            return;
        }
        const int8_t* w = packed_.data();
        const int64_t main = blocks_ * 64;
        if (blocks_ > 0)
            pick_run(kernel_, swish_, stride_, false, !x_u8_)(g, c_, std::min(c_, main), blocks_, xb, yb, r0, r1, w, f,
                                                              prefetch);
        if (tail_) {
            Requant ft = f;
            ft.scale += main;
            ft.bias += main;
            pick_run(kernel_, swish_, stride_, true, !x_u8_)(g, c_, tail_, 1, xb + main, yb + main, r0, r1,
                                                             w + main * packed_registers(kernel_), ft,
                                                             prefetch && blocks_ == 0);
        }
    };
    if (nt == 1) return work(0);
#pragma omp parallel num_threads(nt)
    work(omp_get_thread_num());
#else
    (void)g, (void)x, (void)y, (void)threads;
#endif
}

}  // namespace qat::onednn
