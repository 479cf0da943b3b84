// Float GlobalAveragePool of a channels-last (NHWC) tensor, as a plain threaded loop for the pool
// kernel (onednn_pool.cpp): oneDNN 2.6's pooling reads EfficientNet-B0's squeeze-and-excitation
// inputs (112x112x32 ... 7x7x1152 floats, 17 per inference) at 25-35 GB/s here, ONNX Runtime's
// NCHWc pool about twice as fast. The loop adds the C-vectors of four pixels per step into one
// vector of sums; with one image and several threads each thread sums its own range of pixels into
// its own page-aligned slice of scratch, then the slices are added and divided once.
//
// Float sums in another order than the reference (which sums in double): the mean differs by
// float rounding only (~1e-7 relative for these sizes).
#pragma once

#include <cstdint>

namespace qat::onednn {

// Floats of scratch global_avg_pool_nhwc needs for `threads` threads (a page-aligned slice each).
int64_t global_avg_pool_scratch(int64_t c, int threads);

// x: n x hw x c floats; y: n x c floats, y[b][k] = mean over p of x[b][p][k]. Runs on up to
// `threads` OpenMP threads; scratch: global_avg_pool_scratch(c, threads) floats, 4 KB aligned.
void global_avg_pool_nhwc(int64_t n, int64_t hw, int64_t c, const float* x, float* y, int threads, float* scratch);

}  // namespace qat::onednn
