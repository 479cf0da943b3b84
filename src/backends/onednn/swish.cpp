#include "backends/onednn/swish.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
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
__attribute__((target("avx512f"))) inline __m512 swish16(__m512 x) {
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
    return _mm512_mul_ps(x, _mm512_mask_mul_ps(r, neg, r, e));
}

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

void swish_inplace(float* y, int64_t n, int threads) {
    if (n < kSplitMin || threads <= 1) return swish_range(y, n);
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c = 0; c < chunks; ++c) swish_range(y + c * kChunk, std::min(kChunk, n - c * kChunk));
}

}  // namespace qat::onednn
