// Conv, ConvTranspose: direct loops (conv_loops.h), float32 and float64, 1-D to 3-D.
// Accumulation is in double: this backend is the oracle that faster kernels are compared against.
// com.qat::FusedConv (ir/fused_ops.h) is the float32 Conv followed by its post-ops, element by
// element, exactly as the unfused Relu / Clip / Add / ... nodes would compute them (and its gate
// as the Mul in front of it would).
#include <vector>

#include "backends/ref/conv_loops.h"
#include "backends/ref/ref_conv_util.h"
#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"
#include "ir/fused_ops.h"

namespace qat::ref {
namespace {

// Shared input checks of Conv and ConvTranspose: X [N, C, spatial...], W of the same rank,
// optional B [bias_len].
Status check_conv_inputs(const ir::Node& node, const Tensor& x, const Tensor& w, const Tensor* b) {
    QAT_RETURN_IF_ERROR(check_dtype(node, x, "X", {DataType::kFloat32, DataType::kFloat64}));
    QAT_RETURN_IF_ERROR(check_rank(node, x, "X", 3, 2 + kWindowMaxSpatial));
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
    conv_direct<double>(
        d, x, w, [b](int64_t oc) { return b ? static_cast<double>(b[oc]) : 0.0; },
        [y](int64_t i, double acc) { y[i] = static_cast<T>(acc); });
}

// Conv of `x` (input 0, or FusedConv's gated copy of it) with inputs 1 and 2.
Status conv_of(runtime::KernelContext& ctx, const Tensor* x) {
    const ir::Node& node = ctx.node();
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
    const Conv3d d = to_conv3d(x->dim(0), c, m, group, in_spatial, a, g);
    if (x->dtype() == DataType::kFloat32)
        conv_forward<float>(d, x->data<float>(), w->data<float>(), b ? b->data<float>() : nullptr, y.data<float>());
    else
        conv_forward<double>(d, x->data<double>(), w->data<double>(), b ? b->data<double>() : nullptr,
                             y.data<double>());
    return OkStatus();
}

Status run_conv(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    return conv_of(ctx, x);
}

// x * gate for FusedConv's gate input ([N or 1, C, 1, 1]), in float as the Mul it replaced.
Result<Tensor> gated_input(const ir::Node& node, const Tensor& x, const Tensor& gate) {
    QAT_RETURN_IF_ERROR(check_dtype(node, gate, "gate", {DataType::kFloat32}));
    if (!ir::fused::gate_fits(x.dims(), gate.dims()))
        return runtime::kernel_error(node, "gate has shape ", dims_to_string(gate.dims()), " for input ",
                                     dims_to_string(x.dims()), ", expected [", x.rank() == 4 ? x.dim(0) : 0, " or 1, ",
                                     x.rank() > 1 ? x.dim(1) : 0, ", 1, 1]");
    Tensor out = Tensor::empty(DataType::kFloat32, x.dims());
    const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
    const float* xp = x.data<float>();
    const float* gp = gate.data<float>();
    float* op = out.data<float>();
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < c; ++k) {
            const float g = gp[(gate.dim(0) == 1 ? 0 : i) * c + k];
            for (int64_t p = 0; p < hw; ++p) op[(i * c + k) * hw + p] = xp[(i * c + k) * hw + p] * g;
        }
    return out;
}

Status run_fused_conv(runtime::KernelContext& ctx, const ir::fused::FusedOpInfo& info) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "x"));
    QAT_RETURN_IF_ERROR(check_dtype(node, *x, "x", {DataType::kFloat32}));
    if (const Tensor* gate = ctx.input(4)) {
        QAT_ASSIGN_OR_RETURN(Tensor gx, gated_input(node, *x, *gate));
        QAT_RETURN_IF_ERROR(conv_of(ctx, &gx));
    } else {
        QAT_RETURN_IF_ERROR(conv_of(ctx, x));
    }
    Tensor& y = ctx.output(0);
    const Tensor* r = info.has_residual() ? ctx.input(3) : nullptr;
    if (info.has_residual()) {
        if (!r) return runtime::kernel_error(node, "the \"add\" post-op needs input 3 (residual)");
        QAT_RETURN_IF_ERROR(check_dtype(node, *r, "residual", {DataType::kFloat32}));
        if (r->dims() != y.dims())
            return runtime::kernel_error(node, "residual has shape ", dims_to_string(r->dims()),
                                         ", the output has shape ", dims_to_string(y.dims()));
    }
    float* yp = y.data<float>();
    const float* rp = r ? r->data<float>() : nullptr;
    for (int64_t i = 0; i < y.numel(); ++i) yp[i] = ir::fused::apply_post_ops(info, yp[i], rp ? rp[i] : 0.0f);
    return OkStatus();
}

// ConvTranspose as a scatter (conv_loops.h), accumulated in double from the bias.
template <typename T>
void conv_transpose(const Conv3d& d, const T* x, const T* w, const T* b, T* y) {
    const int64_t out_plane = d.out_plane();
    std::vector<double> acc(static_cast<size_t>(d.n * d.m * out_plane), 0.0);
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t oc = 0; oc < d.m; ++oc)
            for (int64_t p = 0; p < out_plane; ++p) acc[(n * d.m + oc) * out_plane + p] = b ? b[oc] : 0.0;
    conv_scatter<double>(d, x, w, acc.data());
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
    const Conv3d d = to_conv3d(x->dim(0), c, m, group, in_spatial, a, g);
    if (x->dtype() == DataType::kFloat32)
        conv_transpose<float>(d, x->data<float>(), w->data<float>(), b ? b->data<float>() : nullptr, y.data<float>());
    else
        conv_transpose<double>(d, x->data<double>(), w->data<double>(), b ? b->data<double>() : nullptr,
                               y.data<double>());
    return OkStatus();
}

}  // namespace

void register_conv_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(
        reg, ir::fused::kFusedConv,
        [](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
            QAT_ASSIGN_OR_RETURN(ir::fused::FusedOpInfo info, ir::fused::read_fused_op(n));
            return make_fn_kernel([info](runtime::KernelContext& ctx) { return run_fused_conv(ctx, info); });
        },
        nullptr, ir::fused::kDomain);
    add_ref_kernel(reg, "Conv", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_conv);
    });
    add_ref_kernel(reg, "ConvTranspose", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_conv_transpose);
    });
}

}  // namespace qat::ref
