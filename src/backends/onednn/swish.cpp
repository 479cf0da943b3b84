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

void swish_inplace(float* y, int64_t n, int threads) {
    if (n < kSplitMin || threads <= 1) return swish_range(y, n);
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c = 0; c < chunks; ++c) swish_range(y + c * kChunk, std::min(kChunk, n - c * kChunk));
}

}  // namespace qat::onednn
