#include "backends/ref/ref_conv_util.h"

#include <algorithm>

#include "runtime/kernel.h"

namespace qat::ref {

Result<AutoPad> parse_auto_pad(const std::string& s) {
    if (s.empty() || s == "NOTSET") return AutoPad::kNotSet;
    if (s == "SAME_UPPER") return AutoPad::kSameUpper;
    if (s == "SAME_LOWER") return AutoPad::kSameLower;
    if (s == "VALID") return AutoPad::kValid;
    return invalid_argument("auto_pad '", s, "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
}

namespace {

// Bound on window attribute values so the size arithmetic cannot overflow int64.
constexpr int64_t kMaxWindowAttr = int64_t{1} << 31;

// A per-spatial-dim attribute: absent -> `fill` repeated; present -> exactly `n` values >= `min`.
Result<std::vector<int64_t>> spatial_attr(const ir::Node& node, const std::string& name, size_t n, int64_t fill,
                                          int64_t min) {
    if (!node.has_attr(name)) return std::vector<int64_t>(n, fill);
    std::vector<int64_t> v = node.attr_ints(name);
    if (v.size() != n)
        return runtime::kernel_error(node, name, " has ", v.size(), " values, expected ", n, " (one per spatial dim)");
    for (int64_t x : v) {
        if (x < min) return runtime::kernel_error(node, name, " value ", x, " must be >= ", min);
        if (x > kMaxWindowAttr) return runtime::kernel_error(node, name, " value ", x, " is absurdly large");
    }
    return v;
}

}  // namespace

Result<WindowAttrs> read_window_attrs(const ir::Node& node, size_t spatial,
                                      const std::vector<int64_t>& kernel_from_weights) {
    WindowAttrs a;
    if (node.has_attr("kernel_shape")) {
        a.kernel = node.attr_ints("kernel_shape");
        if (a.kernel.size() != spatial)
            return runtime::kernel_error(node, "kernel_shape has ", a.kernel.size(), " values, expected ", spatial);
        if (!kernel_from_weights.empty() && a.kernel != kernel_from_weights)
            return runtime::kernel_error(node, "kernel_shape ", dims_to_string(a.kernel),
                                         " contradicts the weight's spatial dims ",
                                         dims_to_string(kernel_from_weights));
    } else if (!kernel_from_weights.empty()) {
        a.kernel = kernel_from_weights;
    } else {
        return runtime::kernel_error(node, "kernel_shape attribute is required");
    }
    for (int64_t k : a.kernel)
        if (k < 1 || k > kMaxWindowAttr)
            return runtime::kernel_error(node, "kernel_shape ", dims_to_string(a.kernel), " must be in [1, ",
                                         kMaxWindowAttr, "]");
    QAT_ASSIGN_OR_RETURN(a.strides, spatial_attr(node, "strides", spatial, 1, 1));
    QAT_ASSIGN_OR_RETURN(a.dilations, spatial_attr(node, "dilations", spatial, 1, 1));
    QAT_ASSIGN_OR_RETURN(a.pads, spatial_attr(node, "pads", 2 * spatial, 0, 0));
    auto ap = parse_auto_pad(node.attr_string("auto_pad", "NOTSET"));
    if (!ap.ok()) return runtime::kernel_error(node, ap.status().message());
    a.auto_pad = *ap;
    return a;
}

int64_t window_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin, int64_t pad_end,
                           bool ceil_mode) {
    int64_t span = in + pad_begin + pad_end - effective_kernel(k, dilation);
    if (span < 0) return 0;
    if (!ceil_mode) return span / stride + 1;
    int64_t out = (span + stride - 1) / stride + 1;
    // A window that would start in the end padding covers no input: drop it.
    if ((out - 1) * stride >= in + pad_begin) --out;
    return out;
}

void same_pads(int64_t in, int64_t k, int64_t stride, int64_t dilation, AutoPad mode, int64_t* pad_begin,
               int64_t* pad_end) {
    int64_t out = (in + stride - 1) / stride;
    int64_t total = std::max<int64_t>(0, (out - 1) * stride + effective_kernel(k, dilation) - in);
    int64_t small = total / 2;
    int64_t big = total - small;
    *pad_begin = mode == AutoPad::kSameLower ? big : small;
    *pad_end = mode == AutoPad::kSameLower ? small : big;
}

Result<WindowGeometry> resolve_window(const ir::Node& node, const WindowAttrs& attrs,
                                      const std::vector<int64_t>& in_spatial, bool ceil_mode) {
    const size_t n = attrs.kernel.size();
    if (in_spatial.size() != n)
        return runtime::kernel_error(node, "input has ", in_spatial.size(), " spatial dims, kernel has ", n);
    WindowGeometry g;
    g.pads_begin.resize(n);
    g.pads_end.resize(n);
    g.out.resize(n);
    for (size_t i = 0; i < n; ++i) {
        switch (attrs.auto_pad) {
            case AutoPad::kNotSet:
                g.pads_begin[i] = attrs.pads[i];
                g.pads_end[i] = attrs.pads[i + n];
                break;
            case AutoPad::kValid:
                g.pads_begin[i] = g.pads_end[i] = 0;
                break;
            case AutoPad::kSameUpper:
            case AutoPad::kSameLower:
                same_pads(in_spatial[i], attrs.kernel[i], attrs.strides[i], attrs.dilations[i], attrs.auto_pad,
                          &g.pads_begin[i], &g.pads_end[i]);
                break;
        }
        g.out[i] = window_output_size(in_spatial[i], attrs.kernel[i], attrs.strides[i], attrs.dilations[i],
                                      g.pads_begin[i], g.pads_end[i], ceil_mode);
        if (g.out[i] < 1)
            return runtime::kernel_error(node, "spatial input ", dims_to_string(in_spatial), " is smaller than the ",
                                         "(dilated) kernel ", dims_to_string(attrs.kernel), " with pads ",
                                         dims_to_string(attrs.pads));
    }
    return g;
}

Result<WindowGeometry> resolve_conv_transpose(const ir::Node& node, const WindowAttrs& attrs,
                                              const std::vector<int64_t>& in_spatial,
                                              const std::vector<int64_t>& output_padding,
                                              const std::vector<int64_t>& output_shape) {
    const size_t n = attrs.kernel.size();
    if (in_spatial.size() != n)
        return runtime::kernel_error(node, "input has ", in_spatial.size(), " spatial dims, kernel has ", n);
    if (output_padding.size() != n)
        return runtime::kernel_error(node, "output_padding has ", output_padding.size(), " values, expected ", n);
    // output_shape may list all dims (N, C, spatial...) or only the spatial ones.
    std::vector<int64_t> out_shape = output_shape;
    if (out_shape.size() == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    if (!out_shape.empty() && out_shape.size() != n)
        return runtime::kernel_error(node, "output_shape ", dims_to_string(output_shape), " does not have ", n,
                                     " spatial dims");
    WindowGeometry g;
    g.pads_begin.resize(n);
    g.pads_end.resize(n);
    g.out.resize(n);
    for (int64_t v : out_shape)
        if (v > kMaxWindowAttr) return runtime::kernel_error(node, "output_shape value ", v, " is absurdly large");
    for (size_t i = 0; i < n; ++i) {
        if (output_padding[i] < 0 || output_padding[i] >= std::max(attrs.strides[i], attrs.dilations[i]))
            return runtime::kernel_error(node, "output_padding ", dims_to_string(output_padding),
                                         " must be in [0, max(stride, dilation))");
        const int64_t full = attrs.strides[i] * (in_spatial[i] - 1) + output_padding[i] +
                             effective_kernel(attrs.kernel[i], attrs.dilations[i]);
        bool same = attrs.auto_pad == AutoPad::kSameUpper || attrs.auto_pad == AutoPad::kSameLower;
        if (!out_shape.empty() || same) {
            int64_t out = !out_shape.empty() ? out_shape[i] : in_spatial[i] * attrs.strides[i];
            if (out < 1)
                return runtime::kernel_error(node, "output_shape ", dims_to_string(output_shape), " must be >= 1");
            int64_t total = full - out;
            if (total < 0) {
                // The requested output is larger than the full result: zeros at the end.
                g.pads_begin[i] = 0;
                g.pads_end[i] = total;
            } else {
                int64_t half = total / 2;
                bool odd_at_end = attrs.auto_pad == AutoPad::kSameUpper;
                g.pads_begin[i] = odd_at_end ? half : total - half;
                g.pads_end[i] = total - g.pads_begin[i];
            }
            g.out[i] = out;
        } else {
            if (attrs.auto_pad == AutoPad::kNotSet) {
                g.pads_begin[i] = attrs.pads[i];
                g.pads_end[i] = attrs.pads[i + n];
            }
            g.out[i] = full - g.pads_begin[i] - g.pads_end[i];
            if (g.out[i] < 1)
                return runtime::kernel_error(node, "pads ", dims_to_string(attrs.pads), " leave no output for input ",
                                             dims_to_string(in_spatial));
        }
    }
    return g;
}

}  // namespace qat::ref
