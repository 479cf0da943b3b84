// The rows of an INT8 convolution with few input taps per output (C x kh x kw <= 64: the 3x3
// stride-2 stem of an RGB image, 27 taps) as a 1x1 convolution's input: each output pixel's taps
// gathered into one row of Kp bytes (C x kh x kw rounded up to whole dwords, channels-last order
// within each kernel row), so pointwise_int8.h runs the product and the epilogue (the conv kernel,
// onednn_conv.cpp: `qat:int8_im2col`). oneDNN 2.6's brgconv spends ~0.2 ms on EfficientNet-B0's
// 224x224 stem with swish at batch 1; this gather plus the 1x1 kernel ~0.1 ms (docs/BENCHMARKS.md).
//
// A row is built in one AVX-512 register: per kernel row inside the image, one masked load of its
// contiguous inside columns (C x kw bytes at most) into the bytes of that kernel row; padding taps
// and the dword tail hold the input zero point's byte (a zero in real units; the 1x1 kernel takes
// the zero point's term back per output channel). One masked store per row. Outputs whose
// kernel lies inside the image (all but the edges) of up to three kernel rows of up to 16 bytes
// (an RGB 3x3 stem) go without masks where the machine has AVX-512 VBMI: unmasked 16-byte loads,
// one byte permute, a 32-byte store (the masked form, each load merging into the one before and
// crossing cache lines, took ~25 cycles per output on Zen 4; this ~4.5).
//
// (AVX-512 F and BW only: callers check im2col_int8_available().)
#pragma once

#include <cstdint>

namespace qat::onednn {

inline constexpr int64_t kIm2colMaxTaps = 64;
// Bytes past the gathered rows that the gather may write (its 32-byte stores of shorter rows).
inline constexpr int64_t kIm2colSlackBytes = 32;

// Bytes of a gathered row: c x kh x kw taps rounded up to whole dwords (the 1x1 kernel's K).
inline constexpr int64_t im2col_row_bytes(int64_t c, int64_t kh, int64_t kw) { return (c * kh * kw + 3) / 4 * 4; }

struct Im2colGeometry {
    int64_t n = 1, c = 0, in_h = 0, in_w = 0;  // the input, channels-last bytes
    int64_t h = 0, w = 0;                      // output pixels
    int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, pad_t = 0, pad_l = 0;
    uint8_t fill = 0;  // the byte of a padding tap: the input's zero point as stored
    int64_t row_bytes() const { return im2col_row_bytes(c, kh, kw); }
};

// Whether this machine has the gather (AVX-512 F and BW).
bool im2col_int8_available();

// Output rows [r0, r1) of the flattened (image, output row) range: x is n x in_h x in_w x c
// bytes; rows receives (r1 - r0) x w rows of row_bytes() each and must have kIm2colSlackBytes
// more, which may be overwritten. One thread; the conv kernel hands each thread its rows in
// chunks of ~16 KB, each gathered and multiplied while in L1 (a whole 224x224 image's rows, 350
// KB, went through memory: the stem 0.29 ms at batch 1 in the network against 0.14 ms hot).
void im2col_int8_rows(const Im2colGeometry& g, const uint8_t* x, uint8_t* rows, int64_t r0, int64_t r1);

}  // namespace qat::onednn
