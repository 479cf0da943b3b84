#include "backends/onednn/swish.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own undefined-vector helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace qat::onednn {
namespace {

// Below this many floats one thread does it: the fork costs more than the loop.
constexpr int64_t kSplitMin = 16 * 1024;
// Chunks of whole cache lines per thread.
constexpr int64_t kChunk = 4096;

void swish_plain(float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] / (1.0f + std::exp(-y[i]));
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) void swish_avx512(float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, swish16(_mm512_loadu_ps(y + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, swish16(_mm512_maskz_loadu_ps(m, y + i)));
    }
}

const bool kAvx512 = __builtin_cpu_supports("avx512f");
#endif

void swish_range(float* y, int64_t n) {
#if defined(__x86_64__)
    if (kAvx512) return swish_avx512(y, n);
#endif
    swish_plain(y, n);
}

}  // namespace

#if defined(__x86_64__)
// Each interval's quartic interpolates h at the five Chebyshev nodes of the interval
// (near-minimax: 3.3e-7 at most, measured over a dense grid against the formula in double),
// solved in double.
const SwishTable kSwishTable = [] {
    SwishTable t{};
    constexpr int kD = SwishTable::kDegree;
    // The last interval, [15.5, 16) and what is clamped into it, stays 0: h(15.5) = 2.9e-6 and
    // falls from there, where a fitted last interval would hold h(16) = 1.8e-6 for every |v| past
    // 16, a bias that moved outputs near a tie (2x the exp-based swish's flips on [-40, 40]).
    for (int j = 0; j < 31; ++j) {
        double a[kD + 1][kD + 2];  // Vandermonde rows in t, then h
        for (int i = 0; i <= kD; ++i) {
            const double x = 0.5 + 0.5 * std::cos((2 * i + 1) * M_PI / (2 * (kD + 1)));
            const double v = 0.5 * (j + x);
            double p = 1;
            for (int k = 0; k <= kD; ++k, p *= x) a[i][k] = p;
            a[i][kD + 1] = v / (1 + std::exp(v));
        }
        for (int c = 0; c <= kD; ++c) {  // Gauss-Jordan with partial pivoting
            int piv = c;
            for (int r = c + 1; r <= kD; ++r)
                if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
            std::swap(a[c], a[piv]);
            for (int r = 0; r <= kD; ++r) {
                if (r == c) continue;
                const double f = a[r][c] / a[c][c];
                for (int k = c; k <= kD + 1; ++k) a[r][k] -= f * a[c][k];
            }
        }
        for (int k = 0; k <= kD; ++k) t.c[k][j] = static_cast<float>(a[k][kD + 1] / a[k][k]);
    }
    return t;
}();

SwishOutput::SwishOutput(float y_scale, float zero_point) : half_inv_y(0.5f / y_scale) {
    const double inv_y = 1.0 / static_cast<double>(y_scale);
    for (int k = 0; k <= SwishTable::kDegree; ++k)
        for (int j = 0; j < 32; ++j)
            c[k][j] = static_cast<float>((k == 0 ? static_cast<double>(zero_point) : 0.0) -
                                         static_cast<double>(kSwishTable.c[k][j]) * inv_y);
}
#endif

void swish_inplace(float* y, int64_t n, int threads) {
    if (n < kSplitMin || threads <= 1) return swish_range(y, n);
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c = 0; c < chunks; ++c) swish_range(y + c * kChunk, std::min(kChunk, n - c * kChunk));
}

}  // namespace qat::onednn
