#include "backends/onednn/channel_scale.h"

namespace qat::onednn {

void channel_scale_f32(const ChannelScaleShape& s, const float* x, const float* g, float* y) {
    if (s.channels_last) {
        const int64_t pixels = s.n * s.hw;
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < pixels; ++p) {
            const float* gr = g + (s.gate_per_sample ? p / s.hw : 0) * s.c;
            const float* xp = x + p * s.c;
            float* yp = y + p * s.c;
#pragma omp simd
            for (int64_t k = 0; k < s.c; ++k) yp[k] = xp[k] * gr[k];
        }
    } else {
        const int64_t runs = s.n * s.c;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < runs; ++r) {
            const float gv = g[(s.gate_per_sample ? r / s.c : 0) * s.c + r % s.c];
            const float* xp = x + r * s.hw;
            float* yp = y + r * s.hw;
#pragma omp simd
            for (int64_t k = 0; k < s.hw; ++k) yp[k] = xp[k] * gv;
        }
    }
}

}  // namespace qat::onednn
