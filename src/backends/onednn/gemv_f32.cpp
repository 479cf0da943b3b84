#include "backends/onednn/gemv_f32.h"

#include <omp.h>

#include <algorithm>

#if defined(__x86_64__)
// Vectorized by the compiler for the machine it runs on (AVX-512, AVX2 or baseline x86-64).
#define QAT_GEMV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QAT_GEMV_CLONES
#endif

namespace qat::onednn {
namespace {

// Output rows [n0, n1): each weight row dotted with the m input rows (kM a compile-time count so
// the sums stay in registers), 16 partial sums per row.
template <int kM>
QAT_GEMV_CLONES void rows(const float* a, const float* w, const float* bias, int64_t k, int64_t n, int64_t n0,
                          int64_t n1, float alpha, float* y) {
    for (int64_t j = n0; j < n1; ++j) {
        const float* wr = w + j * k;
        float acc[kM][16] = {};
        int64_t i = 0;
        for (; i + 16 <= k; i += 16)
            for (int r = 0; r < kM; ++r)
#pragma omp simd
                for (int l = 0; l < 16; ++l) acc[r][l] += a[r * k + i + l] * wr[i + l];
        for (int r = 0; r < kM; ++r) {
            float s = 0;
            for (int l = 0; l < 16; ++l) s += acc[r][l];
            for (int64_t t = i; t < k; ++t) s += a[r * k + t] * wr[t];
            y[r * n + j] = alpha * s + bias[j];
        }
    }
}

}  // namespace

void GemvF32::init(const float* w, int64_t n, int64_t k, bool trans_b, const float* c, float alpha) {
    n_ = n;
    k_ = k;
    alpha_ = alpha;
    w_.resize(static_cast<size_t>(n * k));
    for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < k; ++i) w_[static_cast<size_t>(j * k + i)] = trans_b ? w[j * k + i] : w[i * n + j];
    bias_.assign(static_cast<size_t>(n), 0.0f);
    if (c) std::copy(c, c + n, bias_.begin());
}

void GemvF32::run(const float* a, int64_t m, float* y, int threads) const {
    using Fn = void (*)(const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, float, float*);
    static constexpr Fn kRows[kGemvF32MaxRows] = {rows<1>, rows<2>, rows<3>, rows<4>};
    const Fn f = kRows[std::clamp<int64_t>(m, 1, kGemvF32MaxRows) - 1];
    const int nt = std::max(1, threads);
#pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), ts = omp_get_num_threads();
        f(a, w_.data(), bias_.data(), k_, n_, n_ * t / ts, n_ * (t + 1) / ts, alpha_, y);
    }
}

}  // namespace qat::onednn
