#include "backends/onednn/global_pool.h"

#include <omp.h>

#include <algorithm>

#if defined(__x86_64__)
#define QAT_GAP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QAT_GAP_CLONES
#endif

namespace qat::onednn {
namespace {

// acc[0, c) += sum of pixels [p0, p1) of one image (hw x c floats at x).
QAT_GAP_CLONES void sum_pixels(const float* x, int64_t c, int64_t p0, int64_t p1, float* acc) {
    int64_t p = p0;
    for (; p + 4 <= p1; p += 4) {
        const float* a = x + p * c;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) acc[k] += (a[k] + a[c + k]) + (a[2 * c + k] + a[3 * c + k]);
    }
    for (; p < p1; ++p) {
        const float* a = x + p * c;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) acc[k] += a[k];
    }
}

constexpr int64_t kPageFloats = 1024;
// Images smaller than this (floats) stay on one thread: the fork costs more than half the sum.
constexpr int64_t kSplitMin = 32 * 1024;
int64_t slice(int64_t c) { return (c + kPageFloats - 1) / kPageFloats * kPageFloats; }
}  // namespace

int64_t global_avg_pool_scratch(int64_t c, int threads) { return slice(c) * std::max(1, threads); }

void global_avg_pool_nhwc(int64_t n, int64_t hw, int64_t c, const float* x, float* y, int threads, float* scratch) {
    const float inv = 1.0f / static_cast<float>(hw);
    const int nt = std::max(1, threads);
    if (n >= nt || hw * c < kSplitMin || nt == 1) {
        // Whole images per thread: each output row is written by one thread.
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t b = 0; b < n; ++b) {
            float* out = y + b * c;
            std::fill(out, out + c, 0.0f);
            sum_pixels(x + b * hw * c, c, 0, hw, out);
            for (int64_t k = 0; k < c; ++k) out[k] *= inv;
        }
        return;
    }
    // Fewer images than threads: the pixels of each image are split, each thread summing into a
    // slice of the scratch on pages of its own (threads writing one shared page ran 2-3x slower
    // on this VM).
    const int64_t s = slice(c);
    for (int64_t b = 0; b < n; ++b) {
        const float* img = x + b * hw * c;
        int used = 1;
#pragma omp parallel num_threads(nt)
        {
            const int t = omp_get_thread_num(), m = omp_get_num_threads();
            if (t == 0) used = m;
            float* acc = scratch + t * s;
            std::fill(acc, acc + c, 0.0f);
            sum_pixels(img, c, hw * t / m, hw * (t + 1) / m, acc);
        }
        float* out = y + b * c;
        for (int64_t k = 0; k < c; ++k) {
            float sum = 0.0f;
            for (int t = 0; t < used; ++t) sum += scratch[t * s + k];
            out[k] = sum * inv;
        }
    }
}

}  // namespace qat::onednn
