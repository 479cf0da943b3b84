// QuantizeLinear, DequantizeLinear (opset 10 and 13), per-tensor and per-axis.
//
//   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
//   DequantizeLinear: y = (x - zero_point) * scale
//
// The arithmetic is core/qmath.h's, used here as is (integer quantization math lives there
// once). Per-tensor: scale (and zero_point) hold one value. Per-axis (opset >= 13): 1-D scale of
// length x.dims[axis]. A missing zero point means uint8 zero point 0. DequantizeLinear also takes
// int32 input (bias), whose zero point must be 0.
#include <vector>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"
#include "core/qmath.h"

namespace qat::ref {
namespace {

// scale / zero point expanded per channel, and how elements map to channels.
struct QParams {
    std::vector<float> scale;
    std::vector<int32_t> zero_point;
    int64_t channels = 1;  // 1 = per-tensor
    int64_t inner = 1;     // elements per channel slice (product of dims after axis)
    DataType qtype = DataType::kUint8;

    size_t channel_of(int64_t e) const { return channels == 1 ? 0 : static_cast<size_t>((e / inner) % channels); }
};

// Reads scale (input 1) and zero point (input 2) for data x. For DequantizeLinear the zero
// point's dtype must match x's; for QuantizeLinear it decides the output dtype.
Result<QParams> read_qparams(const runtime::KernelContext& ctx, const Tensor& x, const char* scale_name,
                             const char* zp_name, bool dequantize) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* s, required_input(ctx, 1, scale_name));
    QAT_RETURN_IF_ERROR(check_dtype(node, *s, scale_name, {DataType::kFloat32}));
    const Tensor* zp = ctx.input(2);
    if (zp && !zp->defined()) zp = nullptr;

    QParams q;
    q.qtype = zp ? zp->dtype() : (dequantize ? x.dtype() : DataType::kUint8);
    if (zp) {
        QAT_RETURN_IF_ERROR(check_dtype(node, *zp, zp_name, {DataType::kInt8, DataType::kUint8, DataType::kInt32}));
        if (dequantize && zp->dtype() != x.dtype())
            return runtime::kernel_error(node, zp_name, " has dtype ", dtype_name(zp->dtype()), ", x has ",
                                         dtype_name(x.dtype()));
        if (!dequantize && zp->dtype() == DataType::kInt32)
            return runtime::kernel_error(node, zp_name, " has dtype i32; QuantizeLinear produces i8 or u8");
        if (zp->dims() != s->dims())
            return runtime::kernel_error(node, zp_name, " has shape ", dims_to_string(zp->dims()), ", ", scale_name,
                                         " has ", dims_to_string(s->dims()));
    }

    const bool per_axis = !(s->rank() == 0 || (s->rank() == 1 && s->dim(0) == 1));
    if (per_axis) {
        if (node.opset() != 0 && node.opset() < 13)
            return runtime::kernel_error(node, scale_name, " has shape ", dims_to_string(s->dims()),
                                         ": per-axis quantization needs opset >= 13, the model has opset ",
                                         node.opset());
        if (s->rank() != 1)
            return runtime::kernel_error(node, scale_name, " has shape ", dims_to_string(s->dims()),
                                         ", expected a scalar or a 1-D tensor");
        QAT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node, node.attr_int("axis", 1), x.rank()));
        if (s->dim(0) != x.dim(axis))
            return runtime::kernel_error(node, scale_name, " has shape ", dims_to_string(s->dims()), " but x ",
                                         dims_to_string(x.dims()), " has ", x.dim(axis), " channels on axis ", axis);
        q.channels = s->dim(0);
        for (size_t i = static_cast<size_t>(axis) + 1; i < x.rank(); ++i) q.inner *= x.dim(i);
    }
    const int64_t c = q.channels;
    q.scale.assign(s->data<float>(), s->data<float>() + c);
    q.zero_point.assign(c, 0);
    for (int64_t i = 0; i < c && zp; ++i) q.zero_point[i] = static_cast<int32_t>(zp->get_as_double(i));
    if (x.dtype() == DataType::kInt32 && dequantize)
        for (int32_t z : q.zero_point)
            if (z != 0) return runtime::kernel_error(node, "int32 input requires zero point 0, got ", z);
    return q;
}

template <typename Q>
void quantize(const Tensor& x, const QParams& q, Q* y) {
    for (int64_t e = 0; e < x.numel(); ++e) {
        const size_t c = q.channel_of(e);
        const float v = x.dtype() == DataType::kInt32 ? static_cast<float>(x.data<int32_t>()[e]) : x.data<float>()[e];
        y[e] = qmath::quantize<Q>(v, q.scale[c], q.zero_point[c]);
    }
}

Status run_quantize(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "x"));
    QAT_RETURN_IF_ERROR(check_dtype(ctx.node(), *x, "x", {DataType::kFloat32, DataType::kInt32}));
    QAT_ASSIGN_OR_RETURN(QParams q, read_qparams(ctx, *x, "y_scale", "y_zero_point", false));
    Tensor& y = ctx.allocate_output(0, q.qtype, x->dims());
    if (q.qtype == DataType::kInt8)
        quantize<int8_t>(*x, q, y.data<int8_t>());
    else
        quantize<uint8_t>(*x, q, y.data<uint8_t>());
    return OkStatus();
}

template <typename Q>
void dequantize(const Q* x, int64_t n, const QParams& q, float* y) {
    for (int64_t e = 0; e < n; ++e) {
        const size_t c = q.channel_of(e);
        y[e] = qmath::dequantize<Q>(x[e], q.scale[c], q.zero_point[c]);
    }
}

Status run_dequantize(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "x"));
    QAT_RETURN_IF_ERROR(check_dtype(ctx.node(), *x, "x", {DataType::kInt8, DataType::kUint8, DataType::kInt32}));
    QAT_ASSIGN_OR_RETURN(QParams q, read_qparams(ctx, *x, "x_scale", "x_zero_point", true));
    Tensor& y = ctx.allocate_output(0, DataType::kFloat32, x->dims());
    switch (x->dtype()) {
        case DataType::kInt8:
            dequantize<int8_t>(x->data<int8_t>(), x->numel(), q, y.data<float>());
            break;
        case DataType::kUint8:
            dequantize<uint8_t>(x->data<uint8_t>(), x->numel(), q, y.data<float>());
            break;
        default:
            dequantize<int32_t>(x->data<int32_t>(), x->numel(), q, y.data<float>());
            break;
    }
    return OkStatus();
}

}  // namespace

void register_quantize_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "QuantizeLinear", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_quantize);
    });
    add_ref_kernel(reg, "DequantizeLinear", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_dequantize);
    });
}

}  // namespace qat::ref
