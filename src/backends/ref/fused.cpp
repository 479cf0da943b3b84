// The com.qat fused ops (ir/fused_ops.h) on the reference backend: the oracle for every faster
// backend's INT8 kernels.
//
// QConv / QConvTranspose / QGemm accumulate (x_q - x_zp) * w_q exactly in 64-bit integers, then
// apply the real-valued semantics: v = acc * x_scale * w_scales[m] + bias[m] (in double), the
// post-ops in float, and the output quantization of core/qmath.h. This is the "true" value the
// unfused DQ -> Conv -> ... -> Q graph approximates in float, so the two agree exactly or within
// one int8 step where float rounding of the unfused graph lands on the other side of a rounding
// boundary.
//
// QAveragePool / QGlobalAveragePool are literally dq -> the reference AveragePool kernel -> q,
// so pooling edge cases (ceil_mode, count_include_pad) have one implementation.
#include <cmath>
#include <vector>

#include "backends/ref/broadcast.h"
#include "backends/ref/conv_loops.h"
#include "backends/ref/ref_conv_util.h"
#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"
#include "core/qmath.h"
#include "ir/fused_ops.h"

namespace qat::ref {
namespace {

namespace fused = ir::fused;

Status check_quantized_input(const ir::Node& node, const Tensor& t, const char* what, int32_t zp) {
    if (t.dtype() != DataType::kInt8 && t.dtype() != DataType::kUint8)
        return runtime::kernel_error(node, "input ", what, " has dtype ", dtype_name(t.dtype()),
                                     ", expected int8 or uint8");
    if (zp < qmath::qmin(t.dtype()) || zp > qmath::qmax(t.dtype()))
        return runtime::kernel_error(node, "zero point ", zp, " of input ", what, " is outside the ",
                                     dtype_name(t.dtype()), " range");
    return OkStatus();
}

// Real value of element i of a quantized (int8/uint8) tensor.
inline float dq_at(const Tensor& t, int64_t i, float scale, int32_t zp) {
    if (t.dtype() == DataType::kInt8) return qmath::dequantize<int8_t>(t.data<int8_t>()[i], scale, zp);
    return qmath::dequantize<uint8_t>(t.data<uint8_t>()[i], scale, zp);
}

// Integer value minus zero point of element i.
inline int32_t centered_at(const Tensor& t, int64_t i, int32_t zp) {
    if (t.dtype() == DataType::kInt8) return static_cast<int32_t>(t.data<int8_t>()[i]) - zp;
    return static_cast<int32_t>(t.data<uint8_t>()[i]) - zp;
}

// Reads residual element i in real units (float input, or quantized with residual params).
inline float residual_at(const Tensor* r, int64_t i, const fused::FusedOpInfo& info) {
    if (!r) return 0.0f;
    if (r->dtype() == DataType::kFloat32) return r->data<float>()[i];
    return dq_at(*r, i, info.residual_scale, info.residual_zero_point);
}

// Writes real value v to output element i, quantizing when the output is int8/uint8.
inline void store(Tensor& y, int64_t i, float v, const fused::FusedOpInfo& info) {
    fused::store_result(info, v, y.raw_data(), i);
}

// Checks weights, bias and residual of a weighted op whose output has `m` channels along
// `channel_axis` of `out_dims`.
Status check_weighted_extras(const ir::Node& node, const fused::FusedOpInfo& info, const Tensor& w, const Tensor* b,
                             const Tensor* r, int64_t m, const std::vector<int64_t>& out_dims) {
    if (w.dtype() != DataType::kInt8)
        return runtime::kernel_error(node, "weight has dtype ", dtype_name(w.dtype()), ", expected int8");
    if (info.w_scales.size() != 1 && static_cast<int64_t>(info.w_scales.size()) != m)
        return runtime::kernel_error(node, "w_scales has ", info.w_scales.size(), " entries, expected 1 or ", m,
                                     " (one per output channel)");
    if (b) {
        if (b->dtype() != DataType::kFloat32)
            return runtime::kernel_error(node, "bias has dtype ", dtype_name(b->dtype()), ", expected f32");
        if (b->numel() != m)
            return runtime::kernel_error(node, "bias has shape ", dims_to_string(b->dims()), ", expected [", m, "]");
    }
    if (info.has_residual()) {
        if (!r) return runtime::kernel_error(node, "the \"add\" post-op needs input 3 (residual)");
        if (r->dtype() != DataType::kFloat32 && r->dtype() != DataType::kInt8 && r->dtype() != DataType::kUint8)
            return runtime::kernel_error(node, "residual has dtype ", dtype_name(r->dtype()),
                                         ", expected f32, i8 or u8");
        if (r->dims() != out_dims)
            return runtime::kernel_error(node, "residual has shape ", dims_to_string(r->dims()),
                                         ", the output has shape ", dims_to_string(out_dims));
    }
    return OkStatus();
}

Status run_qconv(runtime::KernelContext& ctx, const fused::FusedOpInfo& info, bool transpose) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "x"));
    QAT_ASSIGN_OR_RETURN(const Tensor* w, required_input(ctx, 1, "w"));
    const Tensor* b = ctx.input(2);
    const Tensor* r = ctx.input(3);
    QAT_RETURN_IF_ERROR(check_quantized_input(node, *x, "x", info.x_zero_point));
    QAT_RETURN_IF_ERROR(check_rank(node, *x, "x", 3, 2 + kWindowMaxSpatial));
    if (w->rank() != x->rank())
        return runtime::kernel_error(node, "w has shape ", dims_to_string(w->dims()), ", x has shape ",
                                     dims_to_string(x->dims()), ": ranks differ");
    const int64_t group = node.attr_int("group", 1);
    if (group < 1) return runtime::kernel_error(node, "group ", group, " must be >= 1");
    const int64_t c = x->dim(1);
    int64_t m = 0;
    if (!transpose) {
        m = w->dim(0);
        if (w->dim(1) * group != c)
            return runtime::kernel_error(node, "x has shape ", dims_to_string(x->dims()), " (", c, " channels) but w ",
                                         dims_to_string(w->dims()), " with group ", group, " expects ",
                                         w->dim(1) * group);
        if (m % group != 0)
            return runtime::kernel_error(node, "w has ", m, " output channels, not divisible by group ", group);
    } else {
        if (w->dim(0) != c)
            return runtime::kernel_error(node, "x has shape ", dims_to_string(x->dims()), " (", c, " channels) but w ",
                                         dims_to_string(w->dims()), " expects ", w->dim(0));
        if (c % group != 0)
            return runtime::kernel_error(node, "x has ", c, " channels, not divisible by group ", group);
        m = w->dim(1) * group;
    }
    const size_t spatial = x->rank() - 2;
    std::vector<int64_t> in_spatial(x->dims().begin() + 2, x->dims().end());
    std::vector<int64_t> k_spatial(w->dims().begin() + 2, w->dims().end());
    QAT_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, spatial, k_spatial));
    WindowGeometry g;
    if (!transpose) {
        QAT_ASSIGN_OR_RETURN(g, resolve_window(node, a, in_spatial, false));
    } else {
        std::vector<int64_t> output_padding = node.attr_ints("output_padding", std::vector<int64_t>(spatial, 0));
        QAT_ASSIGN_OR_RETURN(
            g, resolve_conv_transpose(node, a, in_spatial, output_padding, node.attr_ints("output_shape")));
    }
    std::vector<int64_t> out_dims{x->dim(0), m};
    out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
    QAT_RETURN_IF_ERROR(check_weighted_extras(node, info, *w, b, r, m, out_dims));

    const Conv3d d = to_conv3d(x->dim(0), c, m, group, in_spatial, a, g);

    const int64_t out_plane = d.out_plane();
    const int8_t* wq = w->data<int8_t>();
    // x - x_zp once, so the loops read plain integers whatever the input dtype; padding then
    // contributes real 0, i.e. nothing (not x_zp).
    std::vector<int32_t> xc(static_cast<size_t>(x->numel()));
    for (int64_t i = 0; i < x->numel(); ++i) xc[static_cast<size_t>(i)] = centered_at(*x, i, info.x_zero_point);
    std::vector<int64_t> acc(static_cast<size_t>(d.n * d.m * out_plane), 0);
    if (!transpose) {
        int64_t* ap = acc.data();
        conv_direct<int64_t>(
            d, xc.data(), wq, [](int64_t) { return int64_t{0}; }, [ap](int64_t i, int64_t s) { ap[i] = s; });
    } else {
        conv_scatter<int64_t>(d, xc.data(), wq, acc.data());
    }
    Tensor& y = ctx.allocate_output(0, info.out_dtype, out_dims);
    const float* bias = b ? b->data<float>() : nullptr;
    for (int64_t n = 0; n < d.n; ++n)
        for (int64_t oc = 0; oc < d.m; ++oc)
            for (int64_t p = 0; p < out_plane; ++p) {
                const int64_t i = (n * d.m + oc) * out_plane + p;
                store(y, i, fused::weighted_result(info, acc[i], oc, bias, residual_at(r, i, info)), info);
            }
    return OkStatus();
}

Status run_qgemm(runtime::KernelContext& ctx, const fused::FusedOpInfo& info) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "x"));
    QAT_ASSIGN_OR_RETURN(const Tensor* w, required_input(ctx, 1, "w"));
    const Tensor* b = ctx.input(2);
    const Tensor* r = ctx.input(3);
    QAT_RETURN_IF_ERROR(check_quantized_input(node, *x, "x", info.x_zero_point));
    if (x->rank() < 1) return runtime::kernel_error(node, "x must have rank >= 1, got a scalar");
    if (w->rank() != 2) return runtime::kernel_error(node, "w has shape ", dims_to_string(w->dims()), ", expected 2-D");
    const int64_t k = info.trans_b ? w->dim(1) : w->dim(0);
    const int64_t nn = info.trans_b ? w->dim(0) : w->dim(1);
    if (x->dims().back() != k)
        return runtime::kernel_error(node, "x has shape ", dims_to_string(x->dims()), " but w ",
                                     dims_to_string(w->dims()), (info.trans_b ? " (transposed)" : ""),
                                     " expects K = ", k);
    std::vector<int64_t> out_dims = x->dims();
    out_dims.back() = nn;
    QAT_RETURN_IF_ERROR(check_weighted_extras(node, info, *w, b, r, nn, out_dims));
    const int64_t rows = k == 0 ? 0 : x->numel() / k;
    const int8_t* wq = w->data<int8_t>();
    std::vector<int32_t> xc(static_cast<size_t>(x->numel()));
    for (int64_t i = 0; i < x->numel(); ++i) xc[static_cast<size_t>(i)] = centered_at(*x, i, info.x_zero_point);
    const float* bias = b ? b->data<float>() : nullptr;
    Tensor& y = ctx.allocate_output(0, info.out_dtype, out_dims);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < nn; ++j) {
            int64_t s = 0;
            for (int64_t kk = 0; kk < k; ++kk)
                s += static_cast<int64_t>(xc[i * k + kk]) * (info.trans_b ? wq[j * k + kk] : wq[kk * nn + j]);
            const int64_t o = i * nn + j;
            store(y, o, fused::weighted_result(info, s, j, bias, residual_at(r, o, info)), info);
        }
    return OkStatus();
}

Status run_qbinary(runtime::KernelContext& ctx, const fused::FusedOpInfo& info) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* a, required_input(ctx, 0, "a"));
    QAT_ASSIGN_OR_RETURN(const Tensor* b, required_input(ctx, 1, "b"));
    QAT_RETURN_IF_ERROR(check_quantized_input(node, *a, "a", info.x_zero_point));
    QAT_RETURN_IF_ERROR(check_quantized_input(node, *b, "b", info.b_zero_point));
    std::vector<int64_t> out_dims;
    if (!broadcast_shapes(a->dims(), b->dims(), &out_dims))
        return runtime::kernel_error(node, "cannot broadcast a ", dims_to_string(a->dims()), " with b ",
                                     dims_to_string(b->dims()));
    Tensor& y = ctx.allocate_output(0, info.out_dtype, out_dims);
    const bool mul = info.op_type == fused::kQMul;
    for_each_broadcast<2>(out_dims, {a->dims(), b->dims()}, [&](int64_t i, const std::array<int64_t, 2>& off) {
        // Float sum / product of the two dequantized values, exactly as the unfused DQ, DQ -> Add / Mul.
        const float da = dq_at(*a, off[0], info.x_scale, info.x_zero_point);
        const float db = dq_at(*b, off[1], info.b_scale, info.b_zero_point);
        const float v = mul ? da * db : da + db;
        store(y, i, fused::apply_post_ops(info, v, 0.0f), info);
    });
    return OkStatus();
}

// dq -> the reference AveragePool / GlobalAveragePool kernel -> q. The inner node lives in a
// private one-node graph that carries only the ONNX attributes.
class QPoolKernel : public runtime::Kernel {
  public:
    static Result<std::unique_ptr<runtime::Kernel>> create(const ir::Node& node) {
        auto k = std::unique_ptr<QPoolKernel>(new QPoolKernel());
        QAT_ASSIGN_OR_RETURN(k->info_, fused::read_fused_op(node));
        const bool global = node.op_type() == fused::kQGlobalAveragePool;
        k->graph_ = std::make_unique<ir::Graph>();
        ir::Value* in = k->graph_->add_input("x", DataType::kFloat32, Shape::unknown_rank());
        k->inner_ = k->graph_->add_node(global ? "GlobalAveragePool" : "AveragePool", {in}, {"y"}, node.name());
        for (const char* a :
             {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "count_include_pad", "dilations"})
            if (const ir::Attribute* v = node.attr(a)) k->inner_->set_attr(a, *v);
        static const runtime::KernelRegistry pools = [] {
            runtime::KernelRegistry r;
            register_pool_kernels(r);
            return r;
        }();
        QAT_ASSIGN_OR_RETURN(runtime::Selection sel, pools.select(*k->inner_));
        QAT_ASSIGN_OR_RETURN(k->kernel_, sel.candidate->create(*k->inner_));
        return std::unique_ptr<runtime::Kernel>(std::move(k));
    }

    Status run(runtime::KernelContext& ctx) override {
        const ir::Node& node = ctx.node();
        QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "x"));
        QAT_RETURN_IF_ERROR(check_quantized_input(node, *x, "x", info_.x_zero_point));
        Tensor xf = Tensor::empty(DataType::kFloat32, x->dims());
        float* xp = xf.data<float>();
        for (int64_t i = 0; i < x->numel(); ++i) xp[i] = dq_at(*x, i, info_.x_scale, info_.x_zero_point);
        std::vector<Tensor> outs(1);
        runtime::KernelContext inner_ctx(*inner_, {&xf}, &outs, nullptr, 1);
        QAT_RETURN_IF_ERROR(kernel_->prepare({&xf}));
        Status s = kernel_->run(inner_ctx);
        if (!s.ok()) return std::move(s).with_context("while running " + node.desc());
        const Tensor& yf = outs[0];
        Tensor& y = ctx.allocate_output(0, info_.out_dtype, yf.dims());
        const float* yp = yf.data<float>();
        for (int64_t i = 0; i < yf.numel(); ++i) store(y, i, fused::apply_post_ops(info_, yp[i], 0.0f), info_);
        return OkStatus();
    }

  private:
    QPoolKernel() = default;
    fused::FusedOpInfo info_;
    std::unique_ptr<ir::Graph> graph_;
    ir::Node* inner_ = nullptr;
    std::unique_ptr<runtime::Kernel> kernel_;
};

// Kernels of the weighted ops and QAdd read the attributes once, at creation.
template <typename Fn>
Result<std::unique_ptr<runtime::Kernel>> make_info_kernel(const ir::Node& node, Fn fn) {
    QAT_ASSIGN_OR_RETURN(fused::FusedOpInfo info, fused::read_fused_op(node));
    return make_fn_kernel([info, fn](runtime::KernelContext& ctx) { return fn(ctx, info); });
}

}  // namespace

void register_fused_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(
        reg, fused::kQConv,
        [](const ir::Node& n) {
            return make_info_kernel(n, [](runtime::KernelContext& ctx, const fused::FusedOpInfo& info) {
                return run_qconv(ctx, info, false);
            });
        },
        nullptr, fused::kDomain);
    add_ref_kernel(
        reg, fused::kQConvTranspose,
        [](const ir::Node& n) {
            return make_info_kernel(n, [](runtime::KernelContext& ctx, const fused::FusedOpInfo& info) {
                return run_qconv(ctx, info, true);
            });
        },
        nullptr, fused::kDomain);
    add_ref_kernel(
        reg, fused::kQGemm, [](const ir::Node& n) { return make_info_kernel(n, run_qgemm); }, nullptr, fused::kDomain);
    add_ref_kernel(
        reg, fused::kQAdd, [](const ir::Node& n) { return make_info_kernel(n, run_qbinary); }, nullptr, fused::kDomain);
    add_ref_kernel(
        reg, fused::kQMul, [](const ir::Node& n) { return make_info_kernel(n, run_qbinary); }, nullptr, fused::kDomain);
    add_ref_kernel(reg, fused::kQAveragePool, QPoolKernel::create, nullptr, fused::kDomain);
    add_ref_kernel(reg, fused::kQGlobalAveragePool, QPoolKernel::create, nullptr, fused::kDomain);
}

}  // namespace qat::ref
