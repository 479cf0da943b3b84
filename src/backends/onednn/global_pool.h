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

// 4-byte values (floats, or int32 for the quantized pool) of scratch either pool needs for
// `threads` threads (a page-aligned slice each).
int64_t global_avg_pool_scratch(int64_t c, int threads);

// x: n x hw x c floats; y: n x c floats, y[b][k] = mean over p of x[b][p][k]. Runs on up to
// `threads` OpenMP threads; scratch: global_avg_pool_scratch(c, threads) floats, 4 KB aligned.
void global_avg_pool_nhwc(int64_t n, int64_t hw, int64_t c, const float* x, float* y, int threads, float* scratch);

// The quantized one (QGlobalAveragePool of an int8 / uint8 channels-last tensor; oneDNN's int8
// pooling took 12-18 us for EfficientNet-B0's 112x112x32 and 56x56x144 squeeze-and-excitation
// inputs at batch 1, this loop 4-6 us): exact sums of the bytes, 64 channels per pass in AVX-512
// registers (runs of 128 pixels as int16, then widened into int32), then per channel in double
// x_scale * (sum - hw * x_zp) / hw, to float, divided by y_scale and rounded half to even (+ y_zp,
// saturated), or kept as a float. The reference sums the dequantized floats in double: the same
// mean up to rounding, one step apart at most next to a tie.
struct GapQ8 {
    bool x_u8 = false;  // byte storage of x (else int8)
    int32_t x_zero_point = 0;
    float x_scale = 1;
    int out = 1;  // 0: float output, 1: int8, 2: uint8
    float y_scale = 1;
    int32_t y_zero_point = 0;
};

// Whether global_avg_pool_q8_nhwc has its vector path on this machine (AVX-512 F and BW).
bool global_avg_pool_q8_available();

// x: n x hw x c bytes; y: n x c values of q.out's type. Threads as global_avg_pool_nhwc; scratch:
// global_avg_pool_scratch(c, threads) int32, 4 KB aligned.
void global_avg_pool_q8_nhwc(int64_t n, int64_t hw, int64_t c, const GapQ8& q, const void* x, void* y, int threads,
                             int32_t* scratch);

}  // namespace qat::onednn
