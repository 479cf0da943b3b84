// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
//
// Like Conv, 1-D and 2-D pooling run through 3-D loops with leading unit dims. A window visits
// the taps start + j * dilation; taps outside the input are padding: ignored by MaxPool, and
// by AveragePool counted in the divisor only with count_include_pad=1 (and then only up to
// the explicit end padding: the extra taps of a ceil_mode window are never counted, as in
// ONNX Runtime and PyTorch).
#include <limits>
#include <vector>

#include "backends/ref/ref_conv_util.h"
#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"
#include "backends/ref/window3d.h"

namespace qat::ref {
namespace {

struct Pool3d : Window3d {
    int64_t planes = 0;  // N * C
};

Status supports_maxpool(const ir::Node& node) {
    if (output_is_read(node, 1))
        return unsupported("MaxPool's Indices output is not supported (inference graphs read only Y)");
    return OkStatus();
}

// Reads attributes, resolves the window and allocates Y: the part MaxPool and AveragePool share.
Result<Pool3d> prepare_pool(runtime::KernelContext& ctx, const Tensor& x) {
    const ir::Node& node = ctx.node();
    QAT_RETURN_IF_ERROR(check_rank(node, x, "X", 3, 2 + kWindowMaxSpatial));
    const size_t spatial = x.rank() - 2;
    std::vector<int64_t> in_spatial(x.dims().begin() + 2, x.dims().end());
    QAT_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, spatial, {}));
    const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    QAT_ASSIGN_OR_RETURN(WindowGeometry g, resolve_window(node, a, in_spatial, ceil_mode));
    for (size_t i = 0; i < spatial; ++i)
        if (g.pads_begin[i] >= effective_kernel(a.kernel[i], a.dilations[i]) ||
            g.pads_end[i] >= effective_kernel(a.kernel[i], a.dilations[i]))
            return runtime::kernel_error(node, "pads ", dims_to_string(a.pads),
                                         " must be smaller than the (dilated) kernel ", dims_to_string(a.kernel));
    Pool3d p;
    static_cast<Window3d&>(p) = to_window3d(in_spatial, a, g);
    p.planes = x.dim(0) * x.dim(1);
    std::vector<int64_t> out_dims{x.dim(0), x.dim(1)};
    out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
    ctx.allocate_output(0, x.dtype(), out_dims);
    return p;
}

template <typename T>
void maxpool(const Pool3d& p, const T* x, T* y) {
    const int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
    for (int64_t pl = 0; pl < p.planes; ++pl) {
        const T* xp = x + pl * in_plane;
        T* yp = y + pl * out_plane;
        for (int64_t od = 0; od < p.out[0]; ++od)
            for (int64_t oh = 0; oh < p.out[1]; ++oh)
                for (int64_t ow = 0; ow < p.out[2]; ++ow) {
                    // Max over no taps (only possible with dilations that skip the input) is -inf.
                    T best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                                  : std::numeric_limits<T>::lowest();
                    for_each_tap(p, p.in, od, oh, ow, [&](int64_t off, int64_t) {
                        if (xp[off] > best) best = xp[off];
                    });
                    yp[(od * p.out[1] + oh) * p.out[2] + ow] = best;
                }
    }
}

template <typename T>
void avgpool(const Pool3d& p, const T* x, T* y, bool count_include_pad) {
    const int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
    for (int64_t pl = 0; pl < p.planes; ++pl) {
        const T* xp = x + pl * in_plane;
        T* yp = y + pl * out_plane;
        for (int64_t od = 0; od < p.out[0]; ++od)
            for (int64_t oh = 0; oh < p.out[1]; ++oh)
                for (int64_t ow = 0; ow < p.out[2]; ++ow) {
                    double sum = 0.0;
                    int64_t valid = 0;
                    const int64_t padded = for_each_tap(p, p.in, od, oh, ow, [&](int64_t off, int64_t) {
                        sum += xp[off];
                        ++valid;
                    });
                    const int64_t count = count_include_pad ? padded : valid;
                    yp[(od * p.out[1] + oh) * p.out[2] + ow] = static_cast<T>(count > 0 ? sum / count : 0.0);
                }
    }
}

Status run_maxpool(runtime::KernelContext& ctx) {
    QAT_RETURN_IF_ERROR(supports_maxpool(ctx.node()));
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_RETURN_IF_ERROR(
        check_dtype(ctx.node(), *x, "X", {DataType::kFloat32, DataType::kFloat64, DataType::kInt8, DataType::kUint8}));
    QAT_ASSIGN_OR_RETURN(Pool3d p, prepare_pool(ctx, *x));
    Tensor& y = ctx.output(0);
    switch (x->dtype()) {
        case DataType::kFloat32:
            maxpool<float>(p, x->data<float>(), y.data<float>());
            break;
        case DataType::kFloat64:
            maxpool<double>(p, x->data<double>(), y.data<double>());
            break;
        case DataType::kInt8:
            maxpool<int8_t>(p, x->data<int8_t>(), y.data<int8_t>());
            break;
        default:
            maxpool<uint8_t>(p, x->data<uint8_t>(), y.data<uint8_t>());
            break;
    }
    return OkStatus();
}

Status run_avgpool(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_RETURN_IF_ERROR(check_dtype(ctx.node(), *x, "X", {DataType::kFloat32, DataType::kFloat64}));
    QAT_ASSIGN_OR_RETURN(Pool3d p, prepare_pool(ctx, *x));
    const bool include_pad = ctx.node().attr_int("count_include_pad", 0) != 0;
    Tensor& y = ctx.output(0);
    if (x->dtype() == DataType::kFloat32)
        avgpool<float>(p, x->data<float>(), y.data<float>(), include_pad);
    else
        avgpool<double>(p, x->data<double>(), y.data<double>(), include_pad);
    return OkStatus();
}

// Global pooling: one value per (n, c) plane; Y = [N, C, 1, 1, ...].
template <typename T>
void global_pool(const T* x, T* y, int64_t planes, int64_t plane, bool is_max) {
    for (int64_t pl = 0; pl < planes; ++pl) {
        const T* xp = x + pl * plane;
        if (is_max) {
            T best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                          : std::numeric_limits<T>::lowest();
            for (int64_t i = 0; i < plane; ++i)
                if (xp[i] > best) best = xp[i];
            y[pl] = best;
        } else {
            double sum = 0.0;
            for (int64_t i = 0; i < plane; ++i) sum += xp[i];
            y[pl] = static_cast<T>(plane > 0 ? sum / plane : 0.0);
        }
    }
}

Status run_global_pool(runtime::KernelContext& ctx, bool is_max) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    if (is_max)
        QAT_RETURN_IF_ERROR(check_dtype(ctx.node(), *x, "X",
                                        {DataType::kFloat32, DataType::kFloat64, DataType::kInt8, DataType::kUint8}));
    else
        QAT_RETURN_IF_ERROR(check_dtype(ctx.node(), *x, "X", {DataType::kFloat32, DataType::kFloat64}));
    QAT_RETURN_IF_ERROR(check_rank(ctx.node(), *x, "X", 3, 8));
    std::vector<int64_t> out_dims(x->rank(), 1);
    out_dims[0] = x->dim(0);
    out_dims[1] = x->dim(1);
    const int64_t planes = x->dim(0) * x->dim(1);
    const int64_t plane = planes == 0 ? 0 : x->numel() / planes;
    if (plane == 0 && is_max)
        return runtime::kernel_error(ctx.node(), "X has shape ", dims_to_string(x->dims()),
                                     ": the max of an empty plane is undefined");
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    switch (x->dtype()) {
        case DataType::kFloat32:
            global_pool<float>(x->data<float>(), y.data<float>(), planes, plane, is_max);
            break;
        case DataType::kFloat64:
            global_pool<double>(x->data<double>(), y.data<double>(), planes, plane, is_max);
            break;
        case DataType::kInt8:
            global_pool<int8_t>(x->data<int8_t>(), y.data<int8_t>(), planes, plane, is_max);
            break;
        default:
            global_pool<uint8_t>(x->data<uint8_t>(), y.data<uint8_t>(), planes, plane, is_max);
            break;
    }
    return OkStatus();
}

}  // namespace

void register_pool_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(
        reg, "MaxPool",
        [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make_fn_kernel(run_maxpool); },
        supports_maxpool);
    add_ref_kernel(reg, "AveragePool", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_avgpool);
    });
    add_ref_kernel(reg, "GlobalAveragePool", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel([](runtime::KernelContext& ctx) { return run_global_pool(ctx, false); });
    });
    add_ref_kernel(reg, "GlobalMaxPool", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel([](runtime::KernelContext& ctx) { return run_global_pool(ctx, true); });
    });
}

}  // namespace qat::ref
