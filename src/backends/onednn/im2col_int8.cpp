#include "backends/onednn/im2col_int8.h"

#include <algorithm>

#include "backends/onednn/avx512.h"

namespace qat::onednn {
namespace {

// Kernel rows of the interior path (more: the generic one).
constexpr int kMaxRows = 8;

// The low n bits (n <= 64).
constexpr uint64_t low_bits(int64_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

#if defined(__x86_64__)
// The interior outputs of one output row by byte permutes (AVX-512 VBMI): each kernel row's
// C x kw (<= 16) bytes with one unmasked 16-byte load into its own lane, one two-source byte
// permute to their places (padding taps and the dword tail from the fill register), one 32-byte
// store (kp <= 32: the bytes past the row are the next row's, written after, or the caller's
// slack). Three merge-masked loads (each waiting on the one before, most crossing a cache line)
// and a masked store took ~25 cycles per output on Zen 4, this ~4.5 (a 224x224 RGB image's stem
// rows 85 -> 15 us on one thread, docs/BENCHMARKS.md). src / step: each kernel row's bytes at the
// first output and their advance per output (0 for a row outside the image, which reads fill
// bytes); rows past n repeat row 0 (not selected).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) void interior_vbmi(const uint8_t* const* src,
                                                                                   const int64_t* step, int n,
                                                                                   int64_t count, __m512i ctrl,
                                                                                   __m512i fill, uint8_t* o,
                                                                                   int64_t kp) {
    const uint8_t *s0 = src[0], *s1 = n > 1 ? src[1] : src[0], *s2 = n > 2 ? src[2] : src[0];
    const int64_t d0 = step[0], d1 = n > 1 ? step[1] : step[0], d2 = n > 2 ? step[2] : step[0];
    for (int64_t i = 0; i < count; ++i, o += kp, s0 += d0, s1 += d1, s2 += d2) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s1)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s2)), 2);
        v = _mm512_permutex2var_epi8(v, ctrl, fill);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm512_castsi512_si256(v));
    }
}

bool vbmi_available() {
    static const bool ok = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vl");
    return ok;
}

__attribute__((target("avx512f,avx512bw"))) void gather_rows(const Im2colGeometry& g, const uint8_t* x, uint8_t* rows,
                                                             int64_t r0, int64_t r1) {
    const int64_t seg = g.c * g.kw, kp = g.row_bytes();
    const __m512i fill = _mm512_set1_epi8(static_cast<char>(g.fill));
    const __mmask64 store = low_bits(kp);
    // The outputs whose kernel columns all lie inside the image, [ow_lo, ow_hi), take a path
    // without per-output index arithmetic: per kernel row a pointer that advances by a fixed
    // stride.
    const int64_t last = g.in_w - g.kw + g.pad_l;  // the last interior output's first input column
    const int64_t ow_lo = std::min(g.w, (g.pad_l + g.stride_w - 1) / g.stride_w);
    const int64_t ow_hi = last < 0 || g.kh > kMaxRows ? ow_lo : std::max(ow_lo, std::min(g.w, last / g.stride_w + 1));
    const int64_t step = g.stride_w * g.c;
    // The permute path: up to three kernel rows of up to 16 bytes, a row of up to 32 bytes. Its
    // 16-byte loads read past a kernel row's bytes: not at the input's end (checked per row).
    const bool permute = vbmi_available() && g.kh <= 3 && seg <= 16 && kp <= 32;
    const uint8_t* x_end = x + g.n * g.in_h * g.in_w * g.c;
    alignas(16) uint8_t fill16[16];
    std::fill(fill16, fill16 + 16, g.fill);
    __m512i ctrl = _mm512_setzero_si512();
    if (permute) {
        alignas(64) uint8_t c[64];
        for (int64_t i = 0; i < 64; ++i)  // kernel row ky's byte j from its lane; the rest fill
            c[i] = static_cast<uint8_t>(i < g.kh * seg ? 16 * (i / seg) + i % seg : 64);
        ctrl = _mm512_load_si512(c);
    }
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / g.h, oh = r % g.h;
        uint8_t* out = rows + (r - r0) * g.w * kp;
        auto generic = [&](int64_t ow) __attribute__((always_inline, target("avx512f,avx512bw"))) {
            const int64_t iw0 = ow * g.stride_w - g.pad_l;
            // The kernel columns inside the image: [kx0, kx1).
            const int64_t kx0 = std::max<int64_t>(0, -iw0), kx1 = std::min(g.kw, g.in_w - iw0);
            __m512i v = fill;
            if (kx1 > kx0) {
                const int64_t lo = kx0 * g.c, len = (kx1 - kx0) * g.c;
                for (int64_t ky = 0; ky < g.kh; ++ky) {
                    const int64_t ih = oh * g.stride_h - g.pad_t + ky;
                    if (ih < 0 || ih >= g.in_h) continue;
                    // Bytes [ky * seg + lo, + len) of the row from the input at (ih, iw0 + kx0): a
                    // masked load from the address that puts them there (masked bytes are not
                    // read).
                    const int64_t at = ky * seg + lo;
                    const __mmask64 m = low_bits(len) << at;
                    const uint8_t* src = x + ((img * g.in_h + ih) * g.in_w + iw0 + kx0) * g.c - at;
                    v = _mm512_mask_loadu_epi8(v, m, src);
                }
            }
            _mm512_mask_storeu_epi8(out + ow * kp, store, v);
        };
        for (int64_t ow = 0; ow < ow_lo; ++ow) generic(ow);
        if (ow_hi > ow_lo) {
            const uint8_t* src[kMaxRows];  // each kernel row at output ow_lo (fill16 outside the image)
            int64_t adv[kMaxRows];         // its advance per output (0 outside)
            const uint8_t* at[kMaxRows];   // the masked path's: the address that puts it at ky * seg
            __mmask64 m[kMaxRows];
            int n = 0;
            bool in_bounds = true;
            for (int64_t ky = 0; ky < g.kh; ++ky) {
                const int64_t ih = oh * g.stride_h - g.pad_t + ky;
                if (ih < 0 || ih >= g.in_h) {
                    src[ky] = fill16;
                    adv[ky] = 0;
                    continue;
                }
                src[ky] = x + ((img * g.in_h + ih) * g.in_w + ow_lo * g.stride_w - g.pad_l) * g.c;
                adv[ky] = step;
                in_bounds = in_bounds && src[ky] + (ow_hi - 1 - ow_lo) * step + 16 <= x_end;
                at[n] = src[ky] - ky * seg;
                m[n++] = low_bits(seg) << (ky * seg);
            }
            uint8_t* o = out + ow_lo * kp;
            if (permute && in_bounds) {
                interior_vbmi(src, adv, static_cast<int>(g.kh), ow_hi - ow_lo, ctrl, fill, o, kp);
            } else {
                for (int64_t ow = ow_lo; ow < ow_hi; ++ow, o += kp) {
                    __m512i v = fill;
                    for (int i = 0; i < n; ++i) {
                        v = _mm512_mask_loadu_epi8(v, m[i], at[i]);
                        at[i] += step;
                    }
                    _mm512_mask_storeu_epi8(o, store, v);
                }
            }
        }
        for (int64_t ow = ow_hi; ow < g.w; ++ow) generic(ow);
    }
}
#endif

}  // namespace

bool im2col_int8_available() { return avx512bw_available(); }

void im2col_int8_rows(const Im2colGeometry& g, const uint8_t* x, uint8_t* rows, int64_t r0, int64_t r1) {
#if defined(__x86_64__)
    gather_rows(g, x, rows, r0, r1);
#else
    (void)g, (void)x, (void)rows, (void)r0, (void)r1;
#endif
}

}  // namespace qat::onednn
