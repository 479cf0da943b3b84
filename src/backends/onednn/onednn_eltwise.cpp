// Element-wise activations (f32) on oneDNN's eltwise primitive, and BatchNormalization
// (inference) on its batch_normalization primitive. Both keep their input's layout and run in
// place when they are the last reader of their input.
#include <cfloat>
#include <cmath>
#include <map>

#include "backends/onednn/onednn_common.h"

namespace qat::onednn {
namespace {

struct EltwiseSpec {
    dnnl::algorithm alg;
    float alpha = 0, beta = 0;
    bool clip01 = false;  // post-op clip to [0, 1]
};

// ONNX op -> oneDNN algorithm and parameters. Clip's bounds come from inputs (opset >= 11) or
// attributes (older opsets) and must be constants.
Result<EltwiseSpec> eltwise_spec(const ir::Node& n) {
    using a = dnnl::algorithm;
    const std::string& op = n.op_type();
    if (op == "Relu") return EltwiseSpec{a::eltwise_relu};
    if (op == "LeakyRelu") return EltwiseSpec{a::eltwise_relu, n.attr_float("alpha", 0.01f)};
    if (op == "Sigmoid") return EltwiseSpec{a::eltwise_logistic};
    if (op == "HardSwish") return EltwiseSpec{a::eltwise_hardswish};
    if (op == "Tanh") return EltwiseSpec{a::eltwise_tanh};
    if (op == "Exp") return EltwiseSpec{a::eltwise_exp};
    if (op == "Log") return EltwiseSpec{a::eltwise_log};
    if (op == "Sqrt") return EltwiseSpec{a::eltwise_sqrt};
    if (op == "Abs") return EltwiseSpec{a::eltwise_abs};
    if (op == "Neg") return EltwiseSpec{a::eltwise_linear, -1.0f, 0.0f};
    if (op == "Elu") return EltwiseSpec{a::eltwise_elu, n.attr_float("alpha", 1.0f)};
    // HardSigmoid = clip(alpha * x + beta, 0, 1): a linear eltwise with a clip post-op.
    if (op == "HardSigmoid")
        return EltwiseSpec{a::eltwise_linear, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f), true};
    if (op == "Clip") {
        float lo = -FLT_MAX, hi = FLT_MAX;
        if (n.has_attr("min") || n.has_attr("max") || (n.opset() > 0 && n.opset() < 11)) {
            lo = n.attr_float("min", -FLT_MAX);
            hi = n.attr_float("max", FLT_MAX);
        }
        if (n.input(1)) {
            auto v = constant_scalar(n, 1);
            if (!v.ok()) return unsupported("Clip min: ", v.status().message());
            lo = *v;
        }
        if (n.input(2)) {
            auto v = constant_scalar(n, 2);
            if (!v.ok()) return unsupported("Clip max: ", v.status().message());
            hi = *v;
        }
        return EltwiseSpec{a::eltwise_clip, lo, hi};
    }
    return unsupported("no oneDNN eltwise for ", op);
}

Status supports_eltwise(const ir::Node& n) {
    DataType t = input_dtype(n, 0);
    if (t != DataType::kUndefined && t != DataType::kFloat32)
        return unsupported("input is ", dtype_name(t), ", expected f32");
    auto s = eltwise_spec(n);
    return s.ok() ? OkStatus() : std::move(s).take_status();
}

class EltwiseKernel : public OnednnKernel {
  public:
    EltwiseKernel(const ir::Node& n, EltwiseSpec spec) : OnednnKernel(n), spec_(spec) {}

  protected:
    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        if (!in[0] || in[0]->dtype() != DataType::kFloat32) return runtime::kernel_error(node_, "input must be f32");
        md_ = mds[0];
        auto d =
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, spec_.alg, md_, spec_.alpha, spec_.beta);
        dnnl::primitive_attr attr;
        if (spec_.clip01) {
            dnnl::post_ops po;
            po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
            attr.set_post_ops(po);
        }
        dnnl::eltwise_forward::primitive_desc pd(d, attr, cpu_engine());
        note_impl(node_, "eltwise", pd.impl_info_str());
        prim_ = dnnl::eltwise_forward(pd);
        return OkStatus();
    }
    Status do_run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        Tensor* out;
        if (ctx.can_overwrite_input(0) && x.storage()) {
            ctx.set_output(0, x);
            out = &ctx.output(0);
        } else {
            out = make_fixed_output(ctx, 0, DataType::kFloat32, x.dims(), md_);
        }
        prim_.execute(cpu_stream(),
                      {{DNNL_ARG_SRC, src_.get(md_, x.raw_data())}, {DNNL_ARG_DST, dst_.get(md_, out->raw_data())}});
        cpu_stream().wait();
        return declare_fixed_layout(ctx, 0, md_);
    }

  private:
    EltwiseSpec spec_;
    md_t md_;
    dnnl::primitive prim_;
    MemCache src_, dst_;
};

// BatchNormalization (inference): y = scale * (x - mean) / sqrt(var + eps) + bias.
Status supports_bn(const ir::Node& n) {
    DataType t = input_dtype(n, 0);
    if (t != DataType::kUndefined && t != DataType::kFloat32)
        return unsupported("input is ", dtype_name(t), ", expected f32");
    if (n.attr_int("training_mode", 0) != 0) return unsupported("training_mode=1");
    for (size_t i = 1; i < 5; ++i) {
        QAT_RETURN_IF_ERROR(require_constant(n, i, "scale/bias/mean/var"));
        if (n.input(i)->constant().dtype() != DataType::kFloat32) return unsupported("input ", i, " is not f32");
    }
    for (size_t i = 1; i < n.num_outputs(); ++i)
        if (n.output(i) && n.output(i)->has_uses()) return unsupported("running statistics outputs");
    int64_t c = n.input(1)->constant().numel();
    for (size_t i = 2; i < 5; ++i)
        if (n.input(i)->constant().numel() != c)
            return invalid_argument("scale/bias/mean/var sizes differ (", c, " vs ", n.input(i)->constant().numel(),
                                    ")");
    return OkStatus();
}

class BatchNormKernel : public OnednnKernel {
  public:
    explicit BatchNormKernel(const ir::Node& n) : OnednnKernel(n) {}

  protected:
    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* x = in[0];
        int64_t c = node_.input(1)->constant().numel();
        if (!x || x->rank() < 2 || x->dim(1) != c)
            return runtime::kernel_error(node_, "input ", x ? dims_to_string(x->dims()) : "none", " does not have ", c,
                                         " channels");
        md_ = mds[0];
        float eps = node_.attr_float("epsilon", 1e-5f);
        auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                     dnnl::normalization_flags::use_shift;
        auto d = dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, md_, eps, flags);
        dnnl::batch_normalization_forward::primitive_desc pd(d, cpu_engine());
        note_impl(node_, "batch_normalization", pd.impl_info_str());
        prim_ = dnnl::batch_normalization_forward(pd);
        if (!scale_) {
            md_t v({c}, dt::f32, tag::a);
            auto wrap = [&](size_t i) {
                return dnnl::memory(v, cpu_engine(), const_cast<void*>(node_.input(i)->constant().raw_data()));
            };
            scale_ = wrap(1);
            shift_ = wrap(2);
            mean_ = wrap(3);
            var_ = wrap(4);
        }
        return OkStatus();
    }
    Status do_run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        Tensor* out;
        if (ctx.can_overwrite_input(0) && x.storage()) {
            ctx.set_output(0, x);
            out = &ctx.output(0);
        } else {
            out = make_fixed_output(ctx, 0, DataType::kFloat32, x.dims(), md_);
        }
        prim_.execute(cpu_stream(), {{DNNL_ARG_SRC, src_.get(md_, x.raw_data())},
                                     {DNNL_ARG_DST, dst_.get(md_, out->raw_data())},
                                     {DNNL_ARG_SCALE, scale_},
                                     {DNNL_ARG_SHIFT, shift_},
                                     {DNNL_ARG_MEAN, mean_},
                                     {DNNL_ARG_VARIANCE, var_}});
        cpu_stream().wait();
        return declare_fixed_layout(ctx, 0, md_);
    }

  private:
    md_t md_;
    dnnl::primitive prim_;
    dnnl::memory scale_, shift_, mean_, var_;
    MemCache src_, dst_;
};

}  // namespace

void register_eltwise(runtime::KernelRegistry& reg) {
    for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "HardSwish", "Tanh", "Exp", "Log", "Sqrt", "Abs", "Neg",
                           "Elu", "HardSigmoid", "Clip"}) {
        add_kernel(reg, op, supports_eltwise, [](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
            QAT_ASSIGN_OR_RETURN(EltwiseSpec s, eltwise_spec(n));
            return std::unique_ptr<runtime::Kernel>(new EltwiseKernel(n, s));
        });
    }
    add_kernel(reg, "BatchNormalization", supports_bn,
               [](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
                   return std::unique_ptr<runtime::Kernel>(new BatchNormKernel(n));
               });
}

}  // namespace qat::onednn
