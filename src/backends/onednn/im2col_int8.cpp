#include "backends/onednn/im2col_int8.h"

#include <algorithm>

#include "backends/onednn/avx512.h"

namespace qat::onednn {
namespace {

// The low n bits (n <= 64).
constexpr uint64_t low_bits(int64_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"))) void gather_rows(const Im2colGeometry& g, const uint8_t* x, uint8_t* rows,
                                                             int64_t r0, int64_t r1) {
    const int64_t seg = g.c * g.kw, kp = g.row_bytes();
    const __m512i fill = _mm512_set1_epi8(static_cast<char>(g.fill));
    const __mmask64 store = low_bits(kp);
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / g.h, oh = r % g.h;
        uint8_t* out = rows + (r - r0) * g.w * kp;
        for (int64_t ow = 0; ow < g.w; ++ow, out += kp) {
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
            _mm512_mask_storeu_epi8(out, store, v);
        }
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
