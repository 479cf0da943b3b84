// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (f32, and int8 for the max pools, which
// commute with quantization) and QAveragePool, QGlobalAveragePool on oneDNN's pooling_v2.
//
// Pooling keeps the layout its input arrives in (dst = format_tag::any). The int8 average pools
// requantize with a linear post-op: y_q = avg(x_q) * xs/ys + (yz - xz*xs/ys), rounded once.
#include <cmath>

#include "backends/onednn/global_pool.h"
#include "backends/onednn/onednn_common.h"
#include "backends/onednn/onednn_spatial.h"
#include "ir/fused_ops.h"

namespace qat::onednn {
namespace {

enum class PoolKind { kMax, kAvg, kGlobalAvg, kGlobalMax, kQAvg, kQGlobalAvg };

bool is_global(PoolKind k) {
    return k == PoolKind::kGlobalAvg || k == PoolKind::kGlobalMax || k == PoolKind::kQGlobalAvg;
}
bool is_q(PoolKind k) { return k == PoolKind::kQAvg || k == PoolKind::kQGlobalAvg; }

struct PoolParams {
    std::vector<int64_t> kernel, strides, dilations, pads;
    std::string auto_pad = "NOTSET";
    bool ceil_mode = false;
    bool include_pad = false;
    float xs = 1, ys = 1;
    int32_t xz = 0, yz = 0;
    int out_dtype = 1;
};

Status parse_pool(const ir::Node& n, PoolKind kind, PoolParams* p) {
    DataType xt = input_dtype(n, 0);
    if (is_q(kind)) {
        if (xt != DataType::kUndefined && !is_quantized_type(xt)) return unsupported("input is ", dtype_name(xt));
        auto info = ir::fused::read_fused_op(n);
        if (!info.ok()) return info.status();
        p->xs = info->x_scale;
        p->ys = info->y_scale;
        p->xz = info->x_zero_point;
        p->yz = info->y_zero_point;
        p->out_dtype = static_cast<int>(ir::fused::data_type_to_out_dtype(info->out_dtype));
    } else if (kind == PoolKind::kMax || kind == PoolKind::kGlobalMax) {
        if (xt != DataType::kUndefined && xt != DataType::kFloat32 && !is_quantized_type(xt))
            return unsupported("input is ", dtype_name(xt));
    } else if (xt != DataType::kUndefined && xt != DataType::kFloat32) {
        return unsupported("input is ", dtype_name(xt));
    }
    if (n.num_outputs() > 1 && n.output(1) && n.output(1)->has_uses()) return unsupported("MaxPool Indices output");
    if (is_global(kind)) return OkStatus();
    p->kernel = n.attr_ints("kernel_shape");
    if (p->kernel.empty()) return invalid_argument("kernel_shape is missing");
    size_t sp = p->kernel.size();
    if (sp > 3) return unsupported(sp, "-D pooling");
    p->strides = n.attr_ints("strides", std::vector<int64_t>(sp, 1));
    p->dilations = n.attr_ints("dilations", std::vector<int64_t>(sp, 1));
    p->pads = n.attr_ints("pads", std::vector<int64_t>(2 * sp, 0));
    p->auto_pad = n.attr_string("auto_pad", "NOTSET");
    p->ceil_mode = n.attr_int("ceil_mode", 0) != 0;
    p->include_pad = n.attr_int("count_include_pad", 0) != 0;
    if (p->strides.size() != sp || p->dilations.size() != sp || p->pads.size() != 2 * sp)
        return invalid_argument("strides/dilations/pads do not match kernel_shape");
    for (size_t i = 0; i < sp; ++i) {
        if (p->kernel[i] < 1 || p->strides[i] < 1 || p->dilations[i] < 1)
            return invalid_argument("kernel_shape, strides and dilations must be >= 1");
        if (p->pads[i] < 0 || p->pads[sp + i] < 0) return unsupported("negative pads");
        if (p->pads[i] >= p->kernel[i] || p->pads[sp + i] >= p->kernel[i])
            return unsupported("pads as large as the window (oneDNN pads less than the kernel)");
    }
    if (p->auto_pad != "NOTSET" && p->auto_pad != "VALID" && p->auto_pad != "SAME_UPPER" && p->auto_pad != "SAME_LOWER")
        return invalid_argument("auto_pad '", p->auto_pad, "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
    bool avg = kind == PoolKind::kAvg || kind == PoolKind::kQAvg;
    if (avg && p->include_pad && p->ceil_mode) return unsupported("count_include_pad with ceil_mode");
    if (avg && p->include_pad && (p->auto_pad == "SAME_UPPER" || p->auto_pad == "SAME_LOWER"))
        return unsupported("count_include_pad with auto_pad ", p->auto_pad);
    if (is_q(kind) && p->include_pad && p->xz != 0)
        return unsupported("count_include_pad with x_zero_point != 0 (padding is real 0, not the zero point)");
    if (avg) {
        for (auto d : p->dilations)
            if (d != 1) return unsupported("dilated AveragePool");
    }
    return OkStatus();
}

class PoolKernel : public OnednnKernel {
  public:
    PoolKernel(const ir::Node& n, PoolKind kind) : OnednnKernel(n), kind_(kind) {
        Status s = parse_pool(n, kind, &p_);
        QAT_ASSERT(s.ok(), "supports() accepted ", n.desc(), ": ", s.message());
    }

    std::string implementation() const override { return impl_; }

  protected:
    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* x = in[0];
        if (!x || x->rank() < 3 || x->rank() > 5)
            return runtime::kernel_error(node_, "input must have rank 3 to 5, got ",
                                         x ? dims_to_string(x->dims()) : "none");
        const dnnl::engine& eng = cpu_engine();
        std::vector<int64_t> in_sp(x->dims().begin() + 2, x->dims().end());
        size_t sp = in_sp.size();
        std::vector<int64_t> kernel, strides, dil, pads, pb, pe, out_sp;
        if (is_global(kind_)) {
            kernel = in_sp;
            strides.assign(sp, 1);
            dil.assign(sp, 1);
            pads.assign(2 * sp, 0);
        } else {
            if (p_.kernel.size() != sp)
                return runtime::kernel_error(node_, "kernel_shape has ", p_.kernel.size(), " dims, input ",
                                             dims_to_string(x->dims()));
            kernel = p_.kernel;
            strides = p_.strides;
            dil = p_.dilations;
            pads = p_.pads;
        }
        QAT_RETURN_IF_ERROR(spatial_output(node_, in_sp, kernel, strides, dil, pads,
                                           is_global(kind_) ? "NOTSET" : p_.auto_pad, p_.ceil_mode, &pb, &pe, &out_sp));
        out_dims_ = {x->dim(0), x->dim(1)};
        out_dims_.insert(out_dims_.end(), out_sp.begin(), out_sp.end());
        // Float global average pool of a channels-last tensor: our loop (global_pool.h).
        own_gap_ = kind_ == PoolKind::kGlobalAvg && x->dtype() == DataType::kFloat32 && is_channels_last(mds[0]);
        if (own_gap_) {
            out_dtype_ = DataType::kFloat32;
            dst_md_ = plain_md(out_dims_, dt::f32);
            impl_ = "qat:gap_nhwc";
            return OkStatus();
        }
        // The quantized one likewise (4-D, int8 / uint8 channels-last).
        own_qgap_ = kind_ == PoolKind::kQGlobalAvg && x->rank() == 4 && is_channels_last(mds[0]) &&
                    (mds[0].data_type() == dt::s8 || mds[0].data_type() == dt::u8) && global_avg_pool_q8_available();
        if (own_qgap_) {
            qgap_.x_u8 = mds[0].data_type() == dt::u8;
            qgap_.x_zero_point = p_.xz;
            qgap_.x_scale = p_.xs;
            qgap_.out = p_.out_dtype == ir::fused::kOnnxFloat ? 0 : p_.out_dtype == ir::fused::kOnnxUint8 ? 2 : 1;
            qgap_.y_scale = p_.ys;
            qgap_.y_zero_point = p_.yz;
            out_dtype_ = qgap_.out == 0 ? DataType::kFloat32 : qgap_.out == 2 ? DataType::kUint8 : DataType::kInt8;
            dst_md_ = plain_md(out_dims_, to_dnnl(out_dtype_));
            impl_ = "qat:gap_q8_nhwc";
            return OkStatus();
        }

        dnnl::algorithm alg = (kind_ == PoolKind::kMax || kind_ == PoolKind::kGlobalMax) ? dnnl::algorithm::pooling_max
                              : p_.include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                               : dnnl::algorithm::pooling_avg_exclude_padding;
        src_in_ = mds[0];
        dq_ = false;
        md_t src = mds[0];
        dt dst_t = src.data_type();
        out_dtype_ = x->dtype();
        dnnl::primitive_attr attr;
        if (is_q(kind_)) {
            if (!is_quantized_type(x->dtype()))
                return runtime::kernel_error(node_, "input is ", dtype_name(x->dtype()), ", expected i8 or u8");
            if (p_.out_dtype == ir::fused::kOnnxFloat) {
                // oneDNN pools int8 into int8 only: dequantize to f32 first (same layout).
                dq_ = true;
                src = with_type_f32(mds[0]);
                dnnl::primitive_attr ra;
                ra.set_output_scales(0, {p_.xs});
                if (p_.xz != 0) ra.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
                dq_prim_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, mds[0], eng, src, ra));
                dq_scratch_ = aligned_alloc_bytes(src.get_size());
                dst_t = dt::f32;
                out_dtype_ = DataType::kFloat32;
            } else {
                float a = p_.xs / p_.ys;
                float b = static_cast<float>(p_.yz) - static_cast<float>(p_.xz) * a;
                dnnl::post_ops po;
                po.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, a, b);
                out_dtype_ = p_.out_dtype == ir::fused::kOnnxUint8 ? DataType::kUint8 : DataType::kInt8;
                dst_t = to_dnnl(out_dtype_);
                // Non-negative input, zero points 0: keep u8 storage (clamped at int8's 127).
                if (out_dtype_ == DataType::kInt8 && p_.yz == 0 && p_.xz == 0 && is_u8_storage(*x, mds[0])) {
                    dst_t = dt::u8;
                    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 127.0f);
                }
                attr.set_post_ops(po);
            }
        }
        auto dims = [](const std::vector<int64_t>& v, int64_t sub) {
            dnnl::memory::dims d;
            for (auto e : v) d.push_back(e - sub);
            return d;
        };
        md_t dst_any(to_dims(out_dims_), dst_t, tag::any);
        auto d = dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, alg, src, dst_any, dims(strides, 0),
                                                dims(kernel, 0), dims(dil, 1), dims(pb, 0), dims(pe, 0));
        dnnl::pooling_v2_forward::primitive_desc pd(d, attr, eng);
        note_impl(node_, "pooling", pd.impl_info_str());
        impl_ = pd.impl_info_str();
        src_md_ = pd.src_desc();
        dst_md_ = pd.dst_desc();
        prim_ = dnnl::pooling_v2_forward(pd);
        ws_md_ = pd.workspace_desc();
        return OkStatus();
    }

    Status do_run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        if (own_gap_ || own_qgap_) {
            const int threads = std::max(1, ctx.num_threads());
            void* scratch = gap_scratch(static_cast<size_t>(global_avg_pool_scratch(x.dim(1), threads)) * 4);
            Tensor* out = make_fixed_output(ctx, 0, out_dtype_, out_dims_, dst_md_);
            if (own_qgap_)
                global_avg_pool_q8_nhwc(x.dim(0), x.dim(2) * x.dim(3), x.dim(1), qgap_, x.raw_data(), out->raw_data(),
                                        threads, static_cast<int32_t*>(scratch));
            else
                global_avg_pool_nhwc(x.dim(0), x.dim(2) * x.dim(3), x.dim(1), x.data<float>(), out->data<float>(),
                                     threads, static_cast<float*>(scratch));
            return declare_fixed_layout(ctx, 0, dst_md_);
        }
        std::unordered_map<int, dnnl::memory> args;
        if (dq_) {
            std::unordered_map<int, dnnl::memory> rargs{{DNNL_ARG_FROM, x_mem_.get(src_in_, x.raw_data())},
                                                        {DNNL_ARG_TO, src_mem_.get(src_md_, dq_scratch_.get())}};
            if (p_.xz != 0) rargs[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem();
            dq_prim_.execute(cpu_stream(), rargs);
            args[DNNL_ARG_SRC] = src_mem_.get(src_md_, dq_scratch_.get());
        } else {
            args[DNNL_ARG_SRC] = src_mem_.get(src_md_, x.raw_data());
        }
        Tensor* out = make_fixed_output(ctx, 0, out_dtype_, out_dims_, dst_md_);
        args[DNNL_ARG_DST] = dst_mem_.get(dst_md_, out->raw_data());
        if (ws_md_.get_size() > 0) {
            if (!ws_) ws_ = dnnl::memory(ws_md_, cpu_engine());
            args[DNNL_ARG_WORKSPACE] = ws_;
        }
        prim_.execute(cpu_stream(), args);
        cpu_stream().wait();
        return declare_fixed_layout(ctx, 0, dst_md_);
    }

  private:
    static md_t with_type_f32(const md_t& md) {
        // Same logical layout in f32 (a blocked int8 desc's strides are in elements: reusable).
        return with_type(md, dt::f32);
    }
    dnnl::memory& zp_mem() {
        if (!zp_) {
            zp_val_ = p_.xz;
            zp_ = dnnl::memory(md_t({1}, dt::s32, tag::x), cpu_engine(), &zp_val_);
        }
        return zp_;
    }

    PoolKind kind_;
    PoolParams p_;
    std::vector<int64_t> out_dims_;
    DataType out_dtype_ = DataType::kFloat32;
    md_t src_in_, src_md_, dst_md_, ws_md_;
    dnnl::primitive prim_;
    bool dq_ = false;
    dnnl::primitive dq_prim_;
    std::shared_ptr<void> dq_scratch_;
    dnnl::memory ws_, zp_;
    int32_t zp_val_ = 0;
    MemCache x_mem_, src_mem_, dst_mem_;
    std::string impl_;  // oneDNN's implementation name, for the profile
    // The global pool loops' per-thread scratch, grown to `need` bytes on first use.
    void* gap_scratch(size_t need) {
        if (gap_scratch_bytes_ < need) {
            gap_scratch_ = aligned_alloc_bytes(need);
            gap_scratch_bytes_ = need;
        }
        return gap_scratch_.get();
    }

    bool own_gap_ = false;
    bool own_qgap_ = false;  // the quantized one on global_pool.h's loop
    GapQ8 qgap_;
    std::shared_ptr<void> gap_scratch_;  // per-thread partial sums (global_pool.h)
    size_t gap_scratch_bytes_ = 0;
};

void add_pool(runtime::KernelRegistry& reg, const char* op, const char* domain, PoolKind kind) {
    add_kernel(
        reg, op,
        [=](const ir::Node& n) {
            PoolParams p;
            return parse_pool(n, kind, &p);
        },
        [=](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
            return std::unique_ptr<runtime::Kernel>(new PoolKernel(n, kind));
        },
        domain);
}

}  // namespace

void register_pool(runtime::KernelRegistry& reg) {
    add_pool(reg, "MaxPool", "", PoolKind::kMax);
    add_pool(reg, "AveragePool", "", PoolKind::kAvg);
    add_pool(reg, "GlobalAveragePool", "", PoolKind::kGlobalAvg);
    add_pool(reg, "GlobalMaxPool", "", PoolKind::kGlobalMax);
    add_pool(reg, ir::fused::kQAveragePool, ir::fused::kDomain, PoolKind::kQAvg);
    add_pool(reg, ir::fused::kQGlobalAveragePool, ir::fused::kDomain, PoolKind::kQGlobalAvg);
}

}  // namespace qat::onednn
