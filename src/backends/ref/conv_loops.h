// The loops of Conv (direct: each output gathers its window) and ConvTranspose (scatter: each
// input adds into the window it maps to), written once for the float kernels (conv.cpp, double
// accumulation) and the fused INT8 kernels (fused.cpp, exact int64 accumulation).
//
// 1-D and 2-D convolutions run through the same 3-D loops (window3d.h, whose tap walk the pools
// use too). Taps that fall in the padding contribute nothing. The summation order is fixed (input channel, then kd, kh,
// kw), so float results do not depend on who calls.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/ref/window3d.h"

namespace qat::ref {

// Geometry of one conv, padded to 3 spatial dims.
struct Conv3d : Window3d {
    int64_t n = 0, c = 0, m = 0, group = 1;
};

inline Conv3d to_conv3d(int64_t n, int64_t c, int64_t m, int64_t group, const std::vector<int64_t>& in_spatial,
                        const WindowAttrs& a, const WindowGeometry& g) {
    Conv3d d;
    static_cast<Window3d&>(d) = to_window3d(in_spatial, a, g);
    d.n = n;
    d.c = c;
    d.m = m;
    d.group = group;
    return d;
}

// Conv, W [M, C/group, k...]: for every output (n, oc, o), acc = init(oc) + sum of
// Acc(x) * Acc(w) over the window, then store(index of y in [N, M, out...], acc).
template <typename Acc, typename X, typename W, typename Init, typename Store>
void conv_direct(const Conv3d& d, const X* x, const W* w, Init init, Store store) {
    const int64_t cg = d.c / d.group;  // input channels per group
    const int64_t mg = d.m / d.group;  // output channels per group
    const int64_t in_plane = d.in_plane(), k_plane = d.k_plane();
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t oc = 0; oc < d.m; ++oc) {
            const int64_t g = oc / mg;
            for (int64_t od = 0; od < d.out[0]; ++od)
                for (int64_t oh = 0; oh < d.out[1]; ++oh)
                    for (int64_t ow = 0; ow < d.out[2]; ++ow) {
                        Acc acc = init(oc);
                        for (int64_t ci = 0; ci < cg; ++ci) {
                            const X* xp = x + (n * d.c + g * cg + ci) * in_plane;
                            const W* wp = w + (oc * cg + ci) * k_plane;
                            for_each_tap(d, d.in, od, oh, ow, [&](int64_t xi, int64_t ki) {
                                acc += static_cast<Acc>(xp[xi]) * static_cast<Acc>(wp[ki]);
                            });
                        }
                        store((((n * d.m + oc) * d.out[0] + od) * d.out[1] + oh) * d.out[2] + ow, acc);
                    }
        }
}

// ConvTranspose, W [C, M/group, k...]: every input pixel adds Acc(x) * Acc(w) into the output
// window it maps to (o = i * stride + k * dilation - pad_begin; taps outside [0, out) are
// cropped). `acc` is [N, M, out...], initialised by the caller (bias, or zero).
template <typename Acc, typename X, typename W>
void conv_scatter(const Conv3d& d, const X* x, const W* w, Acc* acc) {
    const int64_t cg = d.c / d.group;
    const int64_t mg = d.m / d.group;
    const int64_t in_plane = d.in_plane(), out_plane = d.out_plane(), k_plane = d.k_plane();
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t ic = 0; ic < d.c; ++ic) {
            const int64_t g = ic / cg;
            for (int64_t id = 0; id < d.in[0]; ++id)
                for (int64_t ih = 0; ih < d.in[1]; ++ih)
                    for (int64_t iw = 0; iw < d.in[2]; ++iw) {
                        const Acc xv =
                            static_cast<Acc>(x[(n * d.c + ic) * in_plane + (id * d.in[1] + ih) * d.in[2] + iw]);
                        for (int64_t mo = 0; mo < mg; ++mo) {
                            const int64_t oc = g * mg + mo;
                            const W* wp = w + (ic * mg + mo) * k_plane;
                            Acc* yp = acc + (n * d.m + oc) * out_plane;
                            for_each_tap(d, d.out, id, ih, iw,
                                         [&](int64_t yi, int64_t ki) { yp[yi] += xv * static_cast<Acc>(wp[ki]); });
                        }
                    }
        }
}

}  // namespace qat::ref
