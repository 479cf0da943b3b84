// Conv, ConvTranspose: direct loops, float32 and float64, 1-D to 3-D.
//
// 1-D and 2-D convolutions run through the same 3-D loops with leading spatial dims of size 1
// (kernel 1, stride 1, no pad), so there is one formula to read and to trust. Accumulation is
// in double: this backend is the oracle that faster kernels are compared against.
#include <vector>

#include "backends/ref/ref_conv_util.h"
#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

constexpr size_t kMaxSpatial = 3;

// Geometry of one conv, padded to 3 spatial dims.
struct Conv3d {
    int64_t n = 0, c = 0, m = 0, group = 1;
    std::vector<int64_t> in, k, out, stride, dil, pad;  // pad = begins (3 values)
};

Conv3d to_3d(int64_t n, int64_t c, int64_t m, int64_t group, const std::vector<int64_t>& in_spatial,
             const WindowAttrs& a, const WindowGeometry& g) {
    Conv3d d;
    d.n = n;
    d.c = c;
    d.m = m;
    d.group = group;
    d.in = pad_front(in_spatial, kMaxSpatial);
    d.k = pad_front(a.kernel, kMaxSpatial);
    d.out = pad_front(g.out, kMaxSpatial);
    d.stride = pad_front(a.strides, kMaxSpatial);
    d.dil = pad_front(a.dilations, kMaxSpatial);
    d.pad = pad_front(g.pads_begin, kMaxSpatial, 0);
    return d;
}

// Shared input checks of Conv and ConvTranspose: X [N, C, spatial...], W of the same rank,
// optional B [bias_len].
Status check_conv_inputs(const ir::Node& node, const Tensor& x, const Tensor& w, const Tensor* b) {
    QAT_RETURN_IF_ERROR(check_dtype(node, x, "X", {DataType::kFloat32, DataType::kFloat64}));
    QAT_RETURN_IF_ERROR(check_rank(node, x, "X", 3, 2 + kMaxSpatial));
    if (w.dtype() != x.dtype())
        return runtime::kernel_error(node, "W has dtype ", dtype_name(w.dtype()), ", X has ", dtype_name(x.dtype()));
    if (w.rank() != x.rank())
        return runtime::kernel_error(node, "W has shape ", dims_to_string(w.dims()), ", X has shape ",
                                     dims_to_string(x.dims()), ": ranks differ");
    if (b && b->dtype() != x.dtype())
        return runtime::kernel_error(node, "B has dtype ", dtype_name(b->dtype()), ", X has ", dtype_name(x.dtype()));
    return OkStatus();
}

template <typename T>
void conv_forward(const Conv3d& d, const T* x, const T* w, const T* b, T* y) {
    const int64_t cg = d.c / d.group;  // input channels per group
    const int64_t mg = d.m / d.group;  // output channels per group
    const int64_t in_plane = d.in[0] * d.in[1] * d.in[2];
    const int64_t k_plane = d.k[0] * d.k[1] * d.k[2];
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t g = 0; g < d.group; ++g)
            for (int64_t mo = 0; mo < mg; ++mo) {
                const int64_t oc = g * mg + mo;
                for (int64_t od = 0; od < d.out[0]; ++od)
                    for (int64_t oh = 0; oh < d.out[1]; ++oh)
                        for (int64_t ow = 0; ow < d.out[2]; ++ow) {
                            double acc = b ? static_cast<double>(b[oc]) : 0.0;
                            for (int64_t ci = 0; ci < cg; ++ci) {
                                const int64_t ic = g * cg + ci;
                                const T* xp = x + (n * d.c + ic) * in_plane;
                                const T* wp = w + (oc * cg + ci) * k_plane;
                                for (int64_t kd = 0; kd < d.k[0]; ++kd) {
                                    const int64_t id = od * d.stride[0] - d.pad[0] + kd * d.dil[0];
                                    if (id < 0 || id >= d.in[0]) continue;
                                    for (int64_t kh = 0; kh < d.k[1]; ++kh) {
                                        const int64_t ih = oh * d.stride[1] - d.pad[1] + kh * d.dil[1];
                                        if (ih < 0 || ih >= d.in[1]) continue;
                                        for (int64_t kw = 0; kw < d.k[2]; ++kw) {
                                            const int64_t iw = ow * d.stride[2] - d.pad[2] + kw * d.dil[2];
                                            if (iw < 0 || iw >= d.in[2]) continue;
                                            acc += static_cast<double>(xp[(id * d.in[1] + ih) * d.in[2] + iw]) *
                                                   static_cast<double>(wp[(kd * d.k[1] + kh) * d.k[2] + kw]);
                                        }
                                    }
                                }
                            }
                            y[(((n * d.m + oc) * d.out[0] + od) * d.out[1] + oh) * d.out[2] + ow] = static_cast<T>(acc);
                        }
            }
}

Status run_conv(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_ASSIGN_OR_RETURN(const Tensor* w, required_input(ctx, 1, "W"));
    const Tensor* b = ctx.input(2);
    QAT_RETURN_IF_ERROR(check_conv_inputs(node, *x, *w, b));
    const int64_t group = node.attr_int("group", 1);
    if (group < 1) return runtime::kernel_error(node, "group ", group, " must be >= 1");
    const int64_t c = x->dim(1), m = w->dim(0);
    if (w->dim(1) * group != c)
        return runtime::kernel_error(node, "X has shape ", dims_to_string(x->dims()), " (", c, " channels) but W ",
                                     dims_to_string(w->dims()), " with group ", group, " expects ", w->dim(1) * group);
    if (m % group != 0)
        return runtime::kernel_error(node, "W has shape ", dims_to_string(w->dims()), ": ", m,
                                     " output channels are not divisible by group ", group);
    if (b && (b->rank() != 1 || b->dim(0) != m))
        return runtime::kernel_error(node, "B has shape ", dims_to_string(b->dims()), ", expected [", m, "]");

    const size_t spatial = x->rank() - 2;
    std::vector<int64_t> in_spatial(x->dims().begin() + 2, x->dims().end());
    std::vector<int64_t> k_spatial(w->dims().begin() + 2, w->dims().end());
    QAT_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, spatial, k_spatial));
    QAT_ASSIGN_OR_RETURN(WindowGeometry g, resolve_window(node, a, in_spatial, false));

    std::vector<int64_t> out_dims{x->dim(0), m};
    out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    const Conv3d d = to_3d(x->dim(0), c, m, group, in_spatial, a, g);
    if (x->dtype() == DataType::kFloat32)
        conv_forward<float>(d, x->data<float>(), w->data<float>(), b ? b->data<float>() : nullptr, y.data<float>());
    else
        conv_forward<double>(d, x->data<double>(), w->data<double>(), b ? b->data<double>() : nullptr,
                             y.data<double>());
    return OkStatus();
}

// ConvTranspose as a scatter: every input pixel adds x * W[ic, m] into the output window it
// maps to (o = i * stride + k * dilation - pad_begin); taps outside [0, out) are cropped.
template <typename T>
void conv_transpose(const Conv3d& d, const T* x, const T* w, const T* b, T* y) {
    const int64_t cg = d.c / d.group;
    const int64_t mg = d.m / d.group;
    const int64_t out_plane = d.out[0] * d.out[1] * d.out[2];
    const int64_t k_plane = d.k[0] * d.k[1] * d.k[2];
    std::vector<double> acc(static_cast<size_t>(d.n * d.m * out_plane), 0.0);
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t oc = 0; oc < d.m; ++oc)
            for (int64_t p = 0; p < out_plane; ++p) acc[(n * d.m + oc) * out_plane + p] = b ? b[oc] : 0.0;
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t g = 0; g < d.group; ++g)
            for (int64_t ci = 0; ci < cg; ++ci) {
                const int64_t ic = g * cg + ci;
                for (int64_t id = 0; id < d.in[0]; ++id)
                    for (int64_t ih = 0; ih < d.in[1]; ++ih)
                        for (int64_t iw = 0; iw < d.in[2]; ++iw) {
                            const double xv = x[(((n * d.c + ic) * d.in[0] + id) * d.in[1] + ih) * d.in[2] + iw];
                            for (int64_t mo = 0; mo < mg; ++mo) {
                                const int64_t oc = g * mg + mo;
                                const T* wp = w + (ic * mg + mo) * k_plane;
                                double* yp = acc.data() + (n * d.m + oc) * out_plane;
                                for (int64_t kd = 0; kd < d.k[0]; ++kd) {
                                    const int64_t od = id * d.stride[0] + kd * d.dil[0] - d.pad[0];
                                    if (od < 0 || od >= d.out[0]) continue;
                                    for (int64_t kh = 0; kh < d.k[1]; ++kh) {
                                        const int64_t oh = ih * d.stride[1] + kh * d.dil[1] - d.pad[1];
                                        if (oh < 0 || oh >= d.out[1]) continue;
                                        for (int64_t kw = 0; kw < d.k[2]; ++kw) {
                                            const int64_t ow = iw * d.stride[2] + kw * d.dil[2] - d.pad[2];
                                            if (ow < 0 || ow >= d.out[2]) continue;
                                            yp[(od * d.out[1] + oh) * d.out[2] + ow] +=
                                                xv * static_cast<double>(wp[(kd * d.k[1] + kh) * d.k[2] + kw]);
                                        }
                                    }
                                }
                            }
                        }
            }
    for (size_t i = 0; i < acc.size(); ++i) y[i] = static_cast<T>(acc[i]);
}

Status run_conv_transpose(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_ASSIGN_OR_RETURN(const Tensor* w, required_input(ctx, 1, "W"));
    const Tensor* b = ctx.input(2);
    QAT_RETURN_IF_ERROR(check_conv_inputs(node, *x, *w, b));
    const int64_t group = node.attr_int("group", 1);
    if (group < 1) return runtime::kernel_error(node, "group ", group, " must be >= 1");
    const int64_t c = x->dim(1);
    if (w->dim(0) != c)
        return runtime::kernel_error(node, "X has shape ", dims_to_string(x->dims()), " (", c, " channels) but W ",
                                     dims_to_string(w->dims()), " expects ", w->dim(0));
    if (c % group != 0) return runtime::kernel_error(node, "X has ", c, " channels, not divisible by group ", group);
    const int64_t m = w->dim(1) * group;
    if (b && (b->rank() != 1 || b->dim(0) != m))
        return runtime::kernel_error(node, "B has shape ", dims_to_string(b->dims()), ", expected [", m, "]");

    const size_t spatial = x->rank() - 2;
    std::vector<int64_t> in_spatial(x->dims().begin() + 2, x->dims().end());
    std::vector<int64_t> k_spatial(w->dims().begin() + 2, w->dims().end());
    QAT_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, spatial, k_spatial));
    std::vector<int64_t> output_padding = node.attr_ints("output_padding", std::vector<int64_t>(spatial, 0));
    std::vector<int64_t> output_shape = node.attr_ints("output_shape");
    QAT_ASSIGN_OR_RETURN(WindowGeometry g, resolve_conv_transpose(node, a, in_spatial, output_padding, output_shape));

    std::vector<int64_t> out_dims{x->dim(0), m};
    out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
    QAT_RETURN_IF_ERROR(check_output_dims(node, out_dims, x->dtype()));
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    const Conv3d d = to_3d(x->dim(0), c, m, group, in_spatial, a, g);
    if (x->dtype() == DataType::kFloat32)
        conv_transpose<float>(d, x->data<float>(), w->data<float>(), b ? b->data<float>() : nullptr, y.data<float>());
    else
        conv_transpose<double>(d, x->data<double>(), w->data<double>(), b ? b->data<double>() : nullptr,
                               y.data<double>());
    return OkStatus();
}

}  // namespace

void register_conv_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "Conv", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_conv);
    });
    add_ref_kernel(reg, "ConvTranspose", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_conv_transpose);
    });
}

}  // namespace qat::ref
