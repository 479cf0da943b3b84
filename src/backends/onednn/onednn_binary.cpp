// Add, Sub, Mul, Div, Max, Min (f32, numpy broadcasting of the second input) and QAdd, QMul (int8,
// per-tensor scales, fused ReLU / clip) on oneDNN's binary primitive.
//
// oneDNN broadcasts only src1, so an op whose first input is the broadcast one swaps its inputs
// (Sub then negates, Div takes the reciprocal, with a post-op); the output keeps src0's layout and
// is computed in src0's buffer when this op is its last reader. QAdd: y_q = round(a*as/ys + b*bs/ys) (+ yz), one
// rounding.
#include <cmath>
#include <cstring>
#include <optional>

#include "backends/onednn/channel_scale.h"
#include "backends/onednn/onednn_common.h"
#include "ir/fused_ops.h"

namespace qat::onednn {
namespace {

enum class BinKind { kAdd, kSub, kMul, kDiv, kMax, kMin, kQAdd, kQMul };

bool quantized_kind(BinKind k) { return k == BinKind::kQAdd || k == BinKind::kQMul; }

dnnl::algorithm algorithm_of(BinKind k) {
    switch (k) {
        case BinKind::kSub:
            return dnnl::algorithm::binary_sub;
        case BinKind::kMul:
        case BinKind::kQMul:
            return dnnl::algorithm::binary_mul;
        case BinKind::kDiv:
            return dnnl::algorithm::binary_div;
        case BinKind::kMax:
            return dnnl::algorithm::binary_max;
        case BinKind::kMin:
            return dnnl::algorithm::binary_min;
        default:
            return dnnl::algorithm::binary_add;
    }
}

// Whether `a` already has the broadcast output's shape (with `b` broadcasting into it), judged
// from the graph's shapes: static dims equal, the same symbol, or b's dim a static 1.
bool full_against(const Shape& a, const Shape& b) {
    size_t r = std::max(a.rank(), b.rank());
    for (size_t i = 0; i < r; ++i) {
        bool has_a = i + a.rank() >= r, has_b = i + b.rank() >= r;
        if (!has_b) continue;
        const Dim& db = b[i + b.rank() - r];
        if (db.is_static() && db.value == 1) continue;
        if (!has_a) return false;
        const Dim& da = a[i + a.rank() - r];
        if (da.is_static() && db.is_static() && da.value == db.value) continue;
        if (!da.symbol.empty() && da.symbol == db.symbol) continue;
        return false;
    }
    return true;
}

struct QBinaryParams {
    float as = 1, bs = 1, ys = 1;
    int32_t yz = 0;
    int out_dtype = ir::fused::kOnnxInt8;
    std::vector<std::string> post_ops;
    float clip_min = 0, clip_max = 6, alpha = 0.01f;
};

Status parse_qbinary(const ir::Node& n, QBinaryParams* p) {
    auto info = ir::fused::read_fused_op(n);
    if (!info.ok()) return info.status();
    p->as = info->x_scale;
    p->bs = info->b_scale;
    p->ys = info->y_scale;
    p->yz = info->y_zero_point;
    p->out_dtype = static_cast<int>(ir::fused::data_type_to_out_dtype(info->out_dtype));
    for (auto op : info->post_ops) p->post_ops.push_back(ir::fused::post_op_name(op));
    p->clip_min = info->clip_min;
    p->clip_max = info->clip_max;
    p->alpha = info->alpha;
    if (info->x_zero_point != 0 || info->b_zero_point != 0)
        return unsupported(n.op_type(), " with a nonzero input zero point (oneDNN's binary has no source zero points)");
    for (const auto& op : p->post_ops)
        if (op == "add") return invalid_argument(n.op_type(), " has no residual post-op");
    return OkStatus();
}

Status supports_binary(const ir::Node& n, BinKind kind) {
    if (n.num_inputs() != 2 || !n.input(0) || !n.input(1)) return unsupported("expects exactly 2 inputs");
    for (size_t i = 0; i < 2; ++i) {
        DataType t = input_dtype(n, i);
        if (quantized_kind(kind)) {
            if (t != DataType::kUndefined && !is_quantized_type(t))
                return unsupported("input ", i, " is ", dtype_name(t));
        } else if (t != DataType::kUndefined && t != DataType::kFloat32) {
            return unsupported("input ", i, " is ", dtype_name(t), ", expected f32");
        }
    }
    const Shape& a = n.input(0)->shape();
    const Shape& b = n.input(1)->shape();
    if (!a.rank_known() || !b.rank_known()) return unsupported("input ranks unknown: broadcasting cannot be checked");
    if (a.rank() > 12 || b.rank() > 12) return unsupported("rank above 12");
    if (!full_against(a, b) && !full_against(b, a))
        return unsupported("both inputs broadcast (oneDNN broadcasts only one of them)");
    if (quantized_kind(kind)) {
        QBinaryParams p;
        QAT_RETURN_IF_ERROR(parse_qbinary(n, &p));
    }
    return OkStatus();
}

class BinaryKernel : public OnednnKernel {
  public:
    BinaryKernel(const ir::Node& n, BinKind kind) : OnednnKernel(n), kind_(kind) {
        if (quantized_kind(kind_)) {
            Status s = parse_qbinary(n, &q_);
            QAT_ASSERT(s.ok(), "supports() accepted ", n.desc(), ": ", s.message());
        }
    }

    std::string implementation() const override { return impl_; }

  protected:
    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* a = in[0];
        const Tensor* b = in[1];
        if (!a || !b) return runtime::kernel_error(node_, "missing input");
        const bool q = quantized_kind(kind_);
        for (const Tensor* t : {a, b})
            if (q ? !is_quantized_type(t->dtype()) : t->dtype() != DataType::kFloat32)
                return runtime::kernel_error(node_, "input of dtype ", dtype_name(t->dtype()));
        // Broadcast output dims.
        size_t r = std::max(a->rank(), b->rank());
        auto aligned = [r](const std::vector<int64_t>& d) {
            std::vector<int64_t> o(r - d.size(), 1);
            o.insert(o.end(), d.begin(), d.end());
            return o;
        };
        std::vector<int64_t> ad = aligned(a->dims()), bd = aligned(b->dims());
        out_dims_.assign(r, 0);
        for (size_t i = 0; i < r; ++i) {
            if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
                return runtime::kernel_error(node_, "shapes ", dims_to_string(a->dims()), " and ",
                                             dims_to_string(b->dims()), " do not broadcast");
            out_dims_[i] = ad[i] == 1 ? bd[i] : ad[i];
        }
        if (r == 0) out_dims_.clear();
        swapped_ = ad != out_dims_;
        if (swapped_ && bd != out_dims_)
            return runtime::kernel_error(node_, "both inputs ", dims_to_string(a->dims()), " and ",
                                         dims_to_string(b->dims()), " broadcast (oneDNN broadcasts only one)");
        s0_ = swapped_ ? 1 : 0;
        const Tensor* t0 = in[s0_];
        const Tensor* t1 = in[1 - s0_];
        md_t m0 = mds[s0_], m1 = mds[1 - s0_];
        std::vector<int64_t> d1 = aligned(t1->dims());
        src0_md_ = m0;
        if (t0->rank() != r || r == 0) {
            // Leading 1s (or a scalar): only a plain source can be re-described.
            if (!(m0 == plain_md(t0->dims(), m0.data_type())))
                return runtime::kernel_error(node_, "input ", s0_, " arrives in a layout this kernel does not read");
            src0_md_ = plain_md(out_dims_, m0.data_type());
        }
        // src1: the same layout as src0 when shapes match (reordered when it arrives otherwise);
        // a broadcast operand is read plain with leading 1s.
        src1_reorder_ = false;
        if (d1 == out_dims_ && t1->rank() == r) {
            src1_md_ = with_type(src0_md_, m1.data_type());
            src1_reorder_ = !(m1 == src1_md_);
        } else {
            src1_md_ = plain_md(d1, m1.data_type());
            src1_reorder_ = !(m1 == plain_md(t1->dims(), m1.data_type()));
        }
        src1_in_ = m1;
        if (src1_reorder_) src1_scratch_ = aligned_alloc_bytes(src1_md_.get_size());
        if (prepare_channel_scale(*t0, *t1, m1)) return OkStatus();

        dnnl::primitive_attr attr;
        dt dst_t = dt::f32;
        out_dtype_ = DataType::kFloat32;
        if (swapped_ && (kind_ == BinKind::kSub || kind_ == BinKind::kDiv)) {
            // b - a = -(a - b); b / a = (a / b)^-1.
            dnnl::post_ops po;
            if (kind_ == BinKind::kSub)
                po.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, -1.0f, 0.0f);
            else
                po.append_eltwise(1.0f, dnnl::algorithm::eltwise_pow, 1.0f, -1.0f);
            attr.set_post_ops(po);
        }
        if (q) {
            using alg = dnnl::algorithm;
            bool quant = q_.out_dtype != ir::fused::kOnnxFloat;
            // Scale-invariant chains run in output units; hard_swish / sigmoid / swish in real
            // units with the 1/ys folded into the last post-op's scale.
            bool scalable = true;
            for (const auto& op : q_.post_ops)
                if (op == "hard_swish" || op == "sigmoid" || op == "swish") scalable = false;
            float m = quant && scalable ? 1.0f / q_.ys : 1.0f;
            // QAdd: (a*as + b*bs) * m, so both scales carry m; QMul: a*as * b*bs * m, once.
            float s0 = (s0_ == 0 ? q_.as : q_.bs) * m, s1 = (s0_ == 0 ? q_.bs : q_.as);
            if (kind_ == BinKind::kQAdd) s1 *= m;
            attr.set_scales(DNNL_ARG_SRC_0, 0, {s0});
            attr.set_scales(DNNL_ARG_SRC_1, 0, {s1});
            struct E {
                alg a;
                float alpha, beta, scale;
            };
            std::vector<E> ops;
            for (const auto& op : q_.post_ops) {
                if (op == "relu") ops.push_back({alg::eltwise_relu, 0, 0, 1});
                if (op == "leaky_relu") ops.push_back({alg::eltwise_relu, q_.alpha, 0, 1});
                if (op == "clip") ops.push_back({alg::eltwise_clip, q_.clip_min * m, q_.clip_max * m, 1});
                if (op == "hard_swish") ops.push_back({alg::eltwise_hardswish, 0, 0, 1});
                if (op == "sigmoid") ops.push_back({alg::eltwise_logistic, 0, 0, 1});
                if (op == "swish") ops.push_back({alg::eltwise_swish, 1, 0, 1});
            }
            if (quant && m == 1.0f) {
                if (!ops.empty())
                    ops.back().scale = 1.0f / q_.ys;
                else
                    ops.push_back({alg::eltwise_linear, 1.0f / q_.ys, 0, 1});
            }
            out_dtype_ = q_.out_dtype == ir::fused::kOnnxUint8  ? DataType::kUint8
                         : q_.out_dtype == ir::fused::kOnnxInt8 ? DataType::kInt8
                                                                : DataType::kFloat32;
            dst_t = to_dnnl(out_dtype_);
            if (out_dtype_ == DataType::kInt8 && q_.yz == 0 && !ops.empty() &&
                ((ops.back().a == alg::eltwise_relu && ops.back().alpha == 0) ||
                 (ops.back().a == alg::eltwise_clip && ops.back().alpha >= 0))) {
                // Non-negative int8: u8 storage, clamped at 127 like int8.
                dst_t = dt::u8;
                if (ops.back().scale != 1.0f)
                    ops.push_back({alg::eltwise_clip, 0.0f, 127.0f, 1});
                else if (ops.back().a == alg::eltwise_relu)
                    ops.back() = {alg::eltwise_clip, 0.0f, 127.0f, 1};
                else
                    ops.back().beta = std::min(ops.back().beta, 127.0f);
            }
            dnnl::post_ops po;
            for (const auto& e : ops) po.append_eltwise(e.scale, e.a, e.alpha, e.beta);
            if (quant && q_.yz != 0) po.append_eltwise(1.0f, alg::eltwise_linear, 1.0f, static_cast<float>(q_.yz));
            attr.set_post_ops(po);
        }
        md_t dst_any(to_dims(out_dims_), dst_t, tag::any);
        auto d = dnnl::binary::desc(algorithm_of(kind_), src0_md_, src1_md_, dst_any);
        dnnl::binary::primitive_desc pd(d, attr, cpu_engine());
        note_impl(node_, "binary", pd.impl_info_str());
        impl_ = pd.impl_info_str();
        dst_md_ = pd.dst_desc();
        prim_ = dnnl::binary(pd);
        return OkStatus();
    }

    Status do_run(runtime::KernelContext& ctx) override {
        const Tensor& t0 = *ctx.input(s0_);
        const Tensor& t1 = *ctx.input(1 - s0_);
        if (scale_) return run_channel_scale(ctx, t0, t1);
        const void* p1 = t1.raw_data();
        if (src1_reorder_) {
            src1_reorder_prim_.run(in1_.get(src1_in_, t1.raw_data()), s1_.get(src1_md_, src1_scratch_.get()));
            p1 = src1_scratch_.get();
        }
        Tensor* out;
        if (ctx.can_overwrite_input(s0_) && t0.storage() && dst_md_ == src0_md_ && t0.dtype() == out_dtype_) {
            ctx.set_output(0, t0);
            out = &ctx.output(0);
        } else {
            out = make_fixed_output(ctx, 0, out_dtype_, out_dims_, dst_md_);
        }
        prim_.execute(cpu_stream(), {{DNNL_ARG_SRC_0, m0_.get(src0_md_, t0.raw_data())},
                                     {DNNL_ARG_SRC_1, m1_.get(src1_md_, p1)},
                                     {DNNL_ARG_DST, md_.get(dst_md_, out->raw_data())}});
        cpu_stream().wait();
        return declare_fixed_layout(ctx, 0, dst_md_);
    }

  private:
    // Mul (float) of a 4-D NHWC or NCHW activation, or QMul (int8, NHWC) of one, by a plain
    // [N or 1, C, 1, 1] gate: our loops (channel_scale.h) instead of oneDNN's generic binary
    // kernel.
    bool prepare_channel_scale(const Tensor& t0, const Tensor& t1, const md_t& m1) {
        scale_.reset();
        if (kind_ != BinKind::kMul && !prepare_qscale(m1)) return false;
        if (out_dims_.size() != 4 || t0.dims() != out_dims_ || t1.rank() != 4) return false;
        const auto& g = t1.dims();
        if (g[1] != out_dims_[1] || g[2] != 1 || g[3] != 1 || (g[0] != 1 && g[0] != out_dims_[0])) return false;
        if (!(m1 == plain_md(g, m1.data_type()))) return false;
        const bool nhwc = is_channels_last(src0_md_);
        if (!nhwc && (kind_ == BinKind::kQMul || !(src0_md_ == plain_md(out_dims_, src0_md_.data_type()))))
            return false;
        ChannelScaleShape s;
        s.n = out_dims_[0];
        s.c = out_dims_[1];
        s.hw = out_dims_[2] * out_dims_[3];
        s.channels_last = nhwc;
        s.gate_per_sample = g[0] != 1;
        scale_ = s;
        if (kind_ == BinKind::kQMul) {
            out_dtype_ = q_.out_dtype == ir::fused::kOnnxUint8 ? DataType::kUint8 : DataType::kInt8;
            dst_md_ = with_type(src0_md_, qscale_.y_u8 ? dt::u8 : dt::s8);
            impl_ = "qat:channel_scale_q8";
        } else {
            out_dtype_ = DataType::kFloat32;
            dst_md_ = with_type(src0_md_, to_dnnl(out_dtype_));
            impl_ = "qat:channel_scale";
        }
        return true;
    }

    // QMul's part of the conditions (quantized output, nothing or a ReLU after, byte inputs, the
    // vector path present), and its parameters.
    bool prepare_qscale(const md_t& m1) {
        if (kind_ != BinKind::kQMul || !channel_scale_q8_available()) return false;
        if (q_.out_dtype != ir::fused::kOnnxInt8 && q_.out_dtype != ir::fused::kOnnxUint8) return false;
        if (q_.post_ops.size() > 1 || (q_.post_ops.size() == 1 && q_.post_ops[0] != "relu")) return false;
        const dt x_t = src0_md_.data_type(), g_t = m1.data_type();
        if ((x_t != dt::s8 && x_t != dt::u8) || (g_t != dt::s8 && g_t != dt::u8)) return false;
        ChannelScaleQ8 c;
        c.x_u8 = x_t == dt::u8;
        c.g_u8 = g_t == dt::u8;
        c.y_u8 = q_.out_dtype == ir::fused::kOnnxUint8;
        // The input's scale: QMul's a is src0 unless the inputs were swapped.
        c.x_scale = s0_ == 0 ? q_.as : q_.bs;
        c.g_scale = s0_ == 0 ? q_.bs : q_.as;
        c.y_scale = q_.ys;
        c.y_zero_point = q_.yz;
        c.lo = c.y_u8 ? 0 : -128;
        c.hi = c.y_u8 ? 255 : 127;
        if (!q_.post_ops.empty()) c.lo = std::max(c.lo, q_.yz);  // relu: max(v, 0) in real units
        qscale_ = c;
        return true;
    }

    Status run_channel_scale(runtime::KernelContext& ctx, const Tensor& t0, const Tensor& t1) {
        const bool q = kind_ == BinKind::kQMul;
        Tensor* out;
        // Element by element: safe in place when the bytes keep their storage type.
        if (ctx.can_overwrite_input(s0_) && t0.storage() && t0.dtype() == out_dtype_ &&
            (!q || qscale_.x_u8 == qscale_.y_u8)) {
            ctx.set_output(0, t0);
            out = &ctx.output(0);
        } else {
            out = make_fixed_output(ctx, 0, out_dtype_, out_dims_, dst_md_);
        }
        if (q)
            channel_scale_q8(*scale_, qscale_, t0.raw_data(), t1.raw_data(), out->raw_data(), ctx.num_threads(),
                             &qscale_multipliers_);
        else
            channel_scale_f32(*scale_, t0.data<float>(), t1.data<float>(), out->data<float>());
        return declare_fixed_layout(ctx, 0, dst_md_);
    }

    std::optional<ChannelScaleShape> scale_;
    ChannelScaleQ8 qscale_;
    std::vector<float> qscale_multipliers_;  // channel_scale_q8's scratch
    std::string impl_;
    BinKind kind_;
    QBinaryParams q_;
    bool swapped_ = false;
    size_t s0_ = 0;
    std::vector<int64_t> out_dims_;
    DataType out_dtype_ = DataType::kFloat32;
    md_t src0_md_, src1_md_, src1_in_, dst_md_;
    bool src1_reorder_ = false;
    std::shared_ptr<void> src1_scratch_;
    dnnl::primitive prim_;
    MemCache m0_, m1_, md_, in1_, s1_;
    ReorderCache src1_reorder_prim_;
};

void add_binary(runtime::KernelRegistry& reg, const char* op, const char* domain, BinKind kind) {
    add_kernel(
        reg, op, [=](const ir::Node& n) { return supports_binary(n, kind); },
        [=](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
            return std::unique_ptr<runtime::Kernel>(new BinaryKernel(n, kind));
        },
        domain);
}

}  // namespace

void register_binary(runtime::KernelRegistry& reg) {
    add_binary(reg, "Add", "", BinKind::kAdd);
    add_binary(reg, "Sub", "", BinKind::kSub);
    add_binary(reg, "Mul", "", BinKind::kMul);
    add_binary(reg, "Div", "", BinKind::kDiv);
    add_binary(reg, "Max", "", BinKind::kMax);
    add_binary(reg, "Min", "", BinKind::kMin);
    add_binary(reg, ir::fused::kQAdd, ir::fused::kDomain, BinKind::kQAdd);
    add_binary(reg, ir::fused::kQMul, ir::fused::kDomain, BinKind::kQMul);
}

}  // namespace qat::onednn
