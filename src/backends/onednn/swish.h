// swish(x) = x * sigmoid(x), in place over a float buffer: the FP32 convolutions' swish epilogue.
//
// oneDNN 2.6 applies swish as an eltwise post-op at ~25 cycles per 16 floats (its exp, a divide
// and a register spill per vector); on EfficientNet-B0 that was a quarter of the FP32 network's
// time. The convolution now runs without it and this loop follows on its output: exp(-|x|) from
// 2^n times a degree-5 polynomial, 1 / (1 + e) from a reciprocal estimate and one Newton step
// (AVX-512; a plain loop elsewhere). Relative error <= 4e-6 against the exact formula (the float
// reference is itself one rounding away from it). Measured (docs/BENCHMARKS.md): the loop about 3x
// faster than oneDNN's standalone swish; convolution + loop 1.5x faster than the convolution with
// the swish post-op.
#pragma once

#include <cstdint>

namespace qat::onednn {

// y[i] = y[i] * sigmoid(y[i]) for i < n, on up to `threads` OpenMP threads.
void swish_inplace(float* y, int64_t n, int threads);

}  // namespace qat::onednn
