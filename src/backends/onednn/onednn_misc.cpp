// Softmax, Concat, and QuantizeLinear / DequantizeLinear as oneDNN reorders (the
// layout change into the int8 convolutions' NHWC happens in the same pass as the quantization).
#include <cmath>
#include <optional>

#include "backends/onednn/onednn_common.h"
#include "backends/onednn/quantize_nhwc.h"

namespace qat::onednn {
namespace {

// ---- Softmax / LogSoftmax ----

class SoftmaxKernel : public OnednnKernel {
  public:
    SoftmaxKernel(const ir::Node& n, bool log) : OnednnKernel(n), log_(log) {
        legacy_ = n.opset() > 0 && n.opset() < 13;
        axis_ = n.attr_int("axis", legacy_ ? 1 : -1);
    }

  protected:
    // Opset < 13 flattens to 2-D at `axis`: that view needs a plain tensor.
    bool takes_layout(size_t) const override { return !legacy_; }

    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* x = in[0];
        if (!x || x->dtype() != DataType::kFloat32) return runtime::kernel_error(node_, "input must be f32");
        int64_t r = static_cast<int64_t>(x->rank());
        int64_t axis = axis_ < 0 ? axis_ + r : axis_;
        if (axis < 0 || axis >= std::max<int64_t>(r, 1))
            return runtime::kernel_error(node_, "axis ", axis_, " is out of range for ", dims_to_string(x->dims()));
        if (legacy_) {
            int64_t outer = 1, inner = 1;
            for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= x->dim(i);
            md_ = plain_md({outer, inner}, dt::f32);
            axis = 1;
        } else {
            md_ = mds[0];
        }
        if (log_) {
            auto d = dnnl::logsoftmax_forward::desc(dnnl::prop_kind::forward_inference, md_, static_cast<int>(axis));
            dnnl::logsoftmax_forward::primitive_desc pd(d, cpu_engine());
            note_impl(node_, "logsoftmax", pd.impl_info_str());
            prim_ = dnnl::logsoftmax_forward(pd);
        } else {
            auto d = dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, md_, static_cast<int>(axis));
            dnnl::softmax_forward::primitive_desc pd(d, cpu_engine());
            note_impl(node_, "softmax", pd.impl_info_str());
            prim_ = dnnl::softmax_forward(pd);
        }
        return OkStatus();
    }
    Status do_run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        Tensor* out = make_output(ctx, 0, DataType::kFloat32, x.dims(), md_);
        prim_.execute(cpu_stream(),
                      {{DNNL_ARG_SRC, src_.get(md_, x.raw_data())}, {DNNL_ARG_DST, dst_.get(md_, out->raw_data())}});
        cpu_stream().wait();
        return declare_layout(ctx, 0, legacy_ ? plain_md(x.dims(), dt::f32) : md_);
    }

  private:
    bool log_;
    bool legacy_ = false;
    int64_t axis_ = -1;
    md_t md_;
    dnnl::primitive prim_;
    MemCache src_, dst_;
};

Status supports_softmax(const ir::Node& n) {
    DataType t = input_dtype(n, 0);
    if (t != DataType::kUndefined && t != DataType::kFloat32)
        return unsupported("input is ", dtype_name(t), ", expected f32");
    return OkStatus();
}

// ---- Concat ----

Status supports_concat(const ir::Node& n) {
    if (n.num_inputs() < 1) return invalid_argument("Concat without inputs");
    if (!n.has_attr("axis")) return invalid_argument("attribute 'axis' is missing");
    DataType first = DataType::kUndefined;
    for (size_t i = 0; i < n.num_inputs(); ++i) {
        DataType t = input_dtype(n, i);
        if (!n.input(i)) return unsupported("omitted input ", i);
        if (t != DataType::kUndefined && t != DataType::kFloat32 && !is_quantized_type(t))
            return unsupported("input ", i, " is ", dtype_name(t));
        if (first == DataType::kUndefined) first = t;
        if (t != DataType::kUndefined && t != first) return invalid_argument("inputs have different dtypes");
    }
    return OkStatus();
}

class ConcatKernel : public OnednnKernel {
  public:
    explicit ConcatKernel(const ir::Node& n) : OnednnKernel(n), axis_(n.attr_int("axis", 0)) {}

  protected:
    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* x0 = in[0];
        int64_t r = static_cast<int64_t>(x0->rank());
        int64_t axis = axis_ < 0 ? axis_ + r : axis_;
        if (axis < 0 || axis >= r) return runtime::kernel_error(node_, "axis ", axis_, " is out of range for rank ", r);
        out_dims_ = x0->dims();
        out_dims_[axis] = 0;
        // u8-stored int8 inputs are read as s8 (same bytes) unless every input is u8-stored.
        bool all_u8 = true;
        for (size_t i = 0; i < in.size(); ++i) all_u8 = all_u8 && is_u8_storage(*in[i], mds[i]);
        srcs_.clear();
        used_.clear();
        for (size_t i = 0; i < in.size(); ++i) {
            const Tensor* t = in[i];
            if (t->dtype() != x0->dtype() || t->rank() != x0->rank())
                return runtime::kernel_error(node_, "input ", i, " is ", t->desc(), ", input 0 is ", x0->desc());
            for (int64_t d = 0; d < r; ++d)
                if (d != axis && t->dim(d) != x0->dim(d))
                    return runtime::kernel_error(node_, "input ", i, " has shape ", dims_to_string(t->dims()),
                                                 ", input 0 has ", dims_to_string(x0->dims()));
            out_dims_[axis] += t->dim(axis);
            if (t->numel() == 0) continue;  // oneDNN rejects empty sources; they add nothing
            md_t m = mds[i];
            if (is_u8_storage(*t, m) && !all_u8) m = with_type(m, dt::s8);
            srcs_.push_back(m);
            used_.push_back(i);
        }
        out_dtype_ = x0->dtype();
        if (srcs_.empty()) return runtime::kernel_error(node_, "every input is empty");
        dnnl::concat::primitive_desc pd(static_cast<int>(axis), srcs_, cpu_engine());
        note_impl(node_, "concat", pd.impl_info_str());
        dst_md_ = pd.dst_desc();
        prim_ = dnnl::concat(pd);
        return OkStatus();
    }
    Status do_run(runtime::KernelContext& ctx) override {
        Tensor* out = make_fixed_output(ctx, 0, out_dtype_, out_dims_, dst_md_);
        std::unordered_map<int, dnnl::memory> args;
        for (size_t k = 0; k < used_.size(); ++k)
            args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = mem(srcs_[k], *ctx.input(used_[k]));
        args[DNNL_ARG_DST] = mem(dst_md_, *out);
        prim_.execute(cpu_stream(), args);
        cpu_stream().wait();
        return declare_fixed_layout(ctx, 0, dst_md_);
    }

  private:
    int64_t axis_;
    std::vector<int64_t> out_dims_;
    std::vector<md_t> srcs_;
    std::vector<size_t> used_;
    md_t dst_md_;
    DataType out_dtype_ = DataType::kFloat32;
    dnnl::primitive prim_;
};

// ---- QuantizeLinear / DequantizeLinear ----

struct QdqParams {
    std::vector<float> scales;
    int32_t zero_point = 0;
    int64_t axis = 1;
    DataType qtype = DataType::kUint8;  // quantized side
};

Status parse_qdq(const ir::Node& n, bool quantize, QdqParams* p) {
    QAT_RETURN_IF_ERROR(require_constant(n, 1, "scale"));
    const Tensor& s = n.input(1)->constant();
    if (s.dtype() != DataType::kFloat32) return unsupported("scale is ", dtype_name(s.dtype()));
    p->scales = s.to_vector<float>();
    for (float v : p->scales)
        if (!(std::isfinite(v) && v > 0)) return invalid_argument("scale must be positive and finite, got ", v);
    if (s.rank() > 1) return invalid_argument("scale must be a scalar or 1-D");
    p->axis = n.attr_int("axis", 1);
    if (n.input(2)) {
        QAT_RETURN_IF_ERROR(require_constant(n, 2, "zero point"));
        const Tensor& z = n.input(2)->constant();
        if (!is_quantized_type(z.dtype())) return unsupported("zero point is ", dtype_name(z.dtype()));
        p->qtype = z.dtype();
        for (int64_t i = 0; i < z.numel(); ++i)
            if (z.get_as_double(i) != z.get_as_double(0)) return unsupported("per-axis zero points that differ");
        if (z.numel() > 0) p->zero_point = static_cast<int32_t>(z.get_as_double(0));
        if (p->scales.size() > 1 && p->zero_point != 0) return unsupported("per-axis scales with zero point != 0");
    }
    if (quantize) {
        if (p->scales.size() > 1) return unsupported("per-axis QuantizeLinear");
        DataType t = input_dtype(n, 0);
        if (t != DataType::kUndefined && t != DataType::kFloat32) return unsupported("input is ", dtype_name(t));
    } else {
        DataType t = input_dtype(n, 0);
        if (t != DataType::kUndefined && !is_quantized_type(t)) return unsupported("input is ", dtype_name(t));
        if (t != DataType::kUndefined) p->qtype = t;
    }
    return OkStatus();
}

class QdqKernel : public OnednnKernel {
  public:
    QdqKernel(const ir::Node& n, bool quantize) : OnednnKernel(n), quantize_(quantize) {
        Status s = parse_qdq(n, quantize, &p_);
        QAT_ASSERT(s.ok(), "supports() accepted ", n.desc(), ": ", s.message());
        zp_val_ = p_.zero_point;
    }

    std::string implementation() const override { return nhwc_ ? "qat:quantize_nhwc" : impl_; }

  protected:
    bool takes_layout(size_t i) const override { return i == 0; }

    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* x = in[0];
        src_md_ = mds[0];
        dnnl::primitive_attr attr;
        int mask = 0;
        if (p_.scales.size() > 1) {
            int64_t axis = p_.axis < 0 ? p_.axis + static_cast<int64_t>(x->rank()) : p_.axis;
            if (axis < 0 || axis >= static_cast<int64_t>(x->rank()) ||
                x->dim(axis) != static_cast<int64_t>(p_.scales.size()))
                return runtime::kernel_error(node_, p_.scales.size(), " scales do not match axis ", p_.axis, " of ",
                                             dims_to_string(x->dims()));
            mask = 1 << axis;
        }
        if (quantize_) {
            if (x->dtype() != DataType::kFloat32) return runtime::kernel_error(node_, "input must be f32");
            out_dtype_ = p_.qtype;
            dt qt = to_dnnl(p_.qtype);
            // Rank 4/5: straight into channels-last, the int8 convolutions' layout.
            if (x->rank() == 4)
                dst_md_ = md_t(to_dims(x->dims()), qt, tag::acdb);
            else if (x->rank() == 5)
                dst_md_ = md_t(to_dims(x->dims()), qt, tag::acdeb);
            else
                dst_md_ = is_plain(src_md_) ? plain_md(x->dims(), qt) : with_type(src_md_, qt);
            nhwc_.reset();
            if ((x->rank() == 4 || x->rank() == 5) && x->dim(1) <= kQuantizeNhwcMaxChannels && is_plain(src_md_) &&
                src_md_.data_type() == dt::f32) {
                // A plain image into channels-last: quantize_nhwc.h's loop.
                QuantizeNhwcShape q;
                q.n = x->dim(0);
                q.c = x->dim(1);
                q.hw = x->numel() / std::max<int64_t>(1, q.n * q.c);
                q.scale = p_.scales[0];
                q.zero_point = p_.zero_point;
                q.u8 = p_.qtype == DataType::kUint8;
                nhwc_ = q;
                return OkStatus();
            }
            attr.set_output_scales(0, {1.0f / p_.scales[0]});
            if (p_.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
        } else {
            if (!is_quantized_type(x->dtype())) return runtime::kernel_error(node_, "input must be i8 or u8");
            out_dtype_ = DataType::kFloat32;
            dst_md_ = with_type(src_md_, dt::f32);
            std::vector<float> sc = p_.scales;
            attr.set_output_scales(mask, sc);
            if (p_.zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
        }
        dnnl::reorder::primitive_desc pd(cpu_engine(), src_md_, cpu_engine(), dst_md_, attr);
        note_impl(node_, "reorder", pd.impl_info_str());
        impl_ = pd.impl_info_str();
        prim_ = dnnl::reorder(pd);
        return OkStatus();
    }
    Status do_run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        Tensor* out = make_fixed_output(ctx, 0, out_dtype_, x.dims(), dst_md_);
        if (nhwc_) {
            quantize_nchw_to_nhwc(*nhwc_, x.data<float>(), out->raw_data());
            return declare_fixed_layout(ctx, 0, dst_md_);
        }
        std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_FROM, src_.get(src_md_, x.raw_data())},
                                                   {DNNL_ARG_TO, dst_.get(dst_md_, out->raw_data())}};
        if (p_.zero_point != 0) {
            if (!zp_) zp_ = dnnl::memory(md_t({1}, dt::s32, tag::x), cpu_engine(), &zp_val_);
            args[DNNL_ARG_ATTR_ZERO_POINTS | (quantize_ ? DNNL_ARG_DST : DNNL_ARG_SRC)] = zp_;
        }
        prim_.execute(cpu_stream(), args);
        cpu_stream().wait();
        return declare_fixed_layout(ctx, 0, dst_md_);
    }

  private:
    bool quantize_;
    QdqParams p_;
    int32_t zp_val_ = 0;
    DataType out_dtype_ = DataType::kFloat32;
    md_t src_md_, dst_md_;
    dnnl::primitive prim_;
    dnnl::memory zp_;
    MemCache src_, dst_;
    std::optional<QuantizeNhwcShape> nhwc_;  // quantize_nhwc.h instead of the reorder
    std::string impl_;
};

}  // namespace

void register_misc(runtime::KernelRegistry& reg) {
    add_kernel(reg, "Softmax", supports_softmax, [](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
        return std::unique_ptr<runtime::Kernel>(new SoftmaxKernel(n, false));
    });
    add_kernel(reg, "Concat", supports_concat, [](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
        return std::unique_ptr<runtime::Kernel>(new ConcatKernel(n));
    });
    for (bool q : {true, false}) {
        add_kernel(
            reg, q ? "QuantizeLinear" : "DequantizeLinear",
            [q](const ir::Node& n) {
                QdqParams p;
                return parse_qdq(n, q, &p);
            },
            [q](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
                return std::unique_ptr<runtime::Kernel>(new QdqKernel(n, q));
            });
    }
}

}  // namespace qat::onednn
