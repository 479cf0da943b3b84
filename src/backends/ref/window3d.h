// The geometry of a window op (Conv, ConvTranspose, pools) padded to 3 spatial dims, and the one
// walk over a window's taps that their reference loops share. 1-D and 2-D ops run as 3-D ones
// with leading dims of size 1 (kernel 1, stride 1, no pad), so there is one formula to trust.
//
//   Window3d w = to_window3d(in_spatial, attrs, geometry);
//   for_each_tap(w, w.in, od, oh, ow, [&](int64_t in_off, int64_t tap) { acc += x[in_off] * k[tap]; });
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "backends/ref/ref_conv_util.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {

constexpr size_t kWindowMaxSpatial = 3;

struct Window3d {
    std::vector<int64_t> in, k, out, stride, dil, pad_begin, pad_end;

    int64_t in_plane() const { return in[0] * in[1] * in[2]; }
    int64_t out_plane() const { return out[0] * out[1] * out[2]; }
    int64_t k_plane() const { return k[0] * k[1] * k[2]; }
};

inline Window3d to_window3d(const std::vector<int64_t>& in_spatial, const WindowAttrs& a, const WindowGeometry& g) {
    Window3d w;
    w.in = pad_front(in_spatial, kWindowMaxSpatial);
    w.k = pad_front(a.kernel, kWindowMaxSpatial);
    w.out = pad_front(g.out, kWindowMaxSpatial);
    w.stride = pad_front(a.strides, kWindowMaxSpatial);
    w.dil = pad_front(a.dilations, kWindowMaxSpatial);
    w.pad_begin = pad_front(g.pads_begin, kWindowMaxSpatial, 0);
    w.pad_end = pad_front(g.pads_end, kWindowMaxSpatial, 0);
    return w;
}

// Tap (kd, kh, kw) of window position (p0, p1, p2) lands on q = p * stride - pad_begin + k * dil
// in a tensor of spatial dims `bound`: the input for Conv and pools (p an output position), the
// output for ConvTranspose's scatter (p an input position: o = i * stride + k * dil - pad).
// Calls f(offset of q in the bound plane, offset of the tap in the kernel) for the taps with q
// inside [0, bound), in kd, kh, kw order, and returns how many taps lie inside the padded extent
// q < bound + pad_end (AveragePool's count_include_pad divisor; a negative end pad, which
// ConvTranspose may have, counts as 0).
template <typename F>
int64_t for_each_tap(const Window3d& w, const std::vector<int64_t>& bound, int64_t p0, int64_t p1, int64_t p2, F&& f) {
    const int64_t e0 = bound[0] + std::max<int64_t>(w.pad_end[0], 0);
    const int64_t e1 = bound[1] + std::max<int64_t>(w.pad_end[1], 0);
    const int64_t e2 = bound[2] + std::max<int64_t>(w.pad_end[2], 0);
    int64_t padded_taps = 0;
    for (int64_t kd = 0; kd < w.k[0]; ++kd) {
        const int64_t q0 = p0 * w.stride[0] - w.pad_begin[0] + kd * w.dil[0];
        if (q0 >= e0) continue;
        for (int64_t kh = 0; kh < w.k[1]; ++kh) {
            const int64_t q1 = p1 * w.stride[1] - w.pad_begin[1] + kh * w.dil[1];
            if (q1 >= e1) continue;
            for (int64_t kw = 0; kw < w.k[2]; ++kw) {
                const int64_t q2 = p2 * w.stride[2] - w.pad_begin[2] + kw * w.dil[2];
                if (q2 >= e2) continue;
                ++padded_taps;
                if (q0 < 0 || q0 >= bound[0] || q1 < 0 || q1 >= bound[1] || q2 < 0 || q2 >= bound[2]) continue;
                f((q0 * bound[1] + q1) * bound[2] + q2, (kd * w.k[1] + kh) * w.k[2] + kw);
            }
        }
    }
    return padded_taps;
}

}  // namespace qat::ref
