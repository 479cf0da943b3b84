// Conv, ConvTranspose, FusedConv (FP32; FusedConv with post-ops) and QConv, QConvTranspose (INT8
// with fused post-ops) on oneDNN's convolution / deconvolution primitives.
//
// Weights are reordered once into the layout the primitive chose (format_tag::any), together with
// the s8 x s8 compensation oneDNN keeps next to them; the source is taken in whatever oneDNN
// layout it arrives in and reordered only when the primitive wants another one. A residual
// ("add" post-op) is accumulated with oneDNN's sum post-op into the output buffer, which is the
// residual's own buffer when this op is its last reader.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "backends/onednn/channel_scale.h"
#include "backends/onednn/depthwise_int8.h"
#include "backends/onednn/im2col_int8.h"
#include "backends/onednn/onednn_common.h"
#include "backends/onednn/onednn_spatial.h"
#include "backends/onednn/pointwise_gemv.h"
#include "backends/onednn/pointwise_int8.h"
#include "backends/onednn/swish.h"
#include "core/logging.h"
#include "ir/fused_ops.h"

namespace qat::onednn {
namespace {

// Residuals are added with oneDNN's in-place sum post-op, INT8 ones of any size. (INT8 residuals
// over 4 MB once took the binary add post-op, measured faster on ResNet-50 batch 16 on a Zen 5:
// 4.1 -> 2.0 ms for the 56x56x256 ones. But oneDNN 2.6 computes that form wrong when the residual
// arrives channels-last, as it does from the convolutions before it: saturated values throughout,
// OnednnInt8.LargeChannelsLastResidual. And on a Zen 4 the sum is the faster one: 3.9 -> 2.8 ms.)

struct ConvDesc {
    bool transpose = false;
    bool quantized = false;
    bool post_ops = false;  // QConv / QConvTranspose / FusedConv: an epilogue from the fused attributes
    bool gated = false;     // FusedConv with a gate (input 4): conv(x * gate, w)
    size_t spatial = 2;
    int64_t group = 1;
    int64_t out_channels = 0;  // M
    int64_t in_channels = 0;   // C
    std::vector<int64_t> kernel, strides, dilations, pads, output_padding;
    std::string auto_pad = "NOTSET";
};

Status parse_conv(const ir::Node& n, bool transpose, bool quantized, ConvDesc* c) {
    c->transpose = transpose;
    c->quantized = quantized;
    c->post_ops = quantized || ir::fused::is_fp32_fused_op(n);
    c->gated = ir::fused::is_fp32_fused_op(n) && n.input(4);
    QAT_RETURN_IF_ERROR(require_constant(n, 1, "weights"));
    const Tensor& w = n.input(1)->constant();
    if (w.rank() < 3 || w.rank() > 5)
        return unsupported("weights of rank ", w.rank(), " (oneDNN runs 1-D to 3-D convolutions)");
    c->spatial = w.rank() - 2;
    if (quantized && w.dtype() != DataType::kInt8)
        return unsupported("weights are ", dtype_name(w.dtype()), ", expected i8");
    if (!quantized && w.dtype() != DataType::kFloat32)
        return unsupported("weights are ", dtype_name(w.dtype()), ", expected f32");
    c->group = n.attr_int("group", 1);
    if (c->group < 1) return invalid_argument("group must be >= 1, got ", c->group);
    for (size_t i = 0; i < c->spatial; ++i) c->kernel.push_back(w.dim(2 + i));
    if (transpose) {
        c->in_channels = w.dim(0);
        c->out_channels = w.dim(1) * c->group;
        if (c->in_channels % c->group)
            return invalid_argument("input channels ", c->in_channels, " not divisible by group ", c->group);
    } else {
        c->out_channels = w.dim(0);
        c->in_channels = w.dim(1) * c->group;
        if (c->out_channels % c->group)
            return invalid_argument("output channels ", c->out_channels, " not divisible by group ", c->group);
    }
    auto ks = n.attr_ints("kernel_shape");
    if (!ks.empty() && ks != c->kernel)
        return invalid_argument("kernel_shape ", dims_to_string(ks), " does not match the weights ",
                                dims_to_string(c->kernel));
    c->strides = n.attr_ints("strides", std::vector<int64_t>(c->spatial, 1));
    c->dilations = n.attr_ints("dilations", std::vector<int64_t>(c->spatial, 1));
    c->pads = n.attr_ints("pads", std::vector<int64_t>(2 * c->spatial, 0));
    c->output_padding = n.attr_ints("output_padding", std::vector<int64_t>(c->spatial, 0));
    c->auto_pad = n.attr_string("auto_pad", "NOTSET");
    if (c->strides.size() != c->spatial || c->dilations.size() != c->spatial || c->pads.size() != 2 * c->spatial ||
        c->output_padding.size() != c->spatial)
        return invalid_argument("strides/dilations/pads/output_padding do not match ", c->spatial, " spatial dims");
    for (size_t i = 0; i < c->spatial; ++i) {
        if (c->strides[i] < 1 || c->dilations[i] < 1) return invalid_argument("strides and dilations must be >= 1");
        if (c->pads[i] < 0 || c->pads[c->spatial + i] < 0) return unsupported("negative pads");
    }
    if (c->auto_pad != "NOTSET" && c->auto_pad != "VALID" && c->auto_pad != "SAME_UPPER" && c->auto_pad != "SAME_LOWER")
        return invalid_argument("auto_pad '", c->auto_pad, "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
    if (transpose) {
        if (n.has_attr("output_shape")) return unsupported("ConvTranspose with output_shape (explicit pads only)");
        if (c->auto_pad != "NOTSET" && c->auto_pad != "VALID")
            return unsupported("ConvTranspose with auto_pad ", c->auto_pad);
        for (size_t i = 0; i < c->spatial; ++i)
            if (c->output_padding[i] > c->pads[c->spatial + i])
                return unsupported("output_padding ", c->output_padding[i], " larger than the end pad ",
                                   c->pads[c->spatial + i], " (oneDNN needs a non-negative right padding)");
    } else {
        for (size_t i = 0; i < c->spatial; ++i)
            if (c->output_padding[i] != 0) return invalid_argument("Conv has no output_padding");
    }
    if (n.input(2)) {
        QAT_RETURN_IF_ERROR(require_constant(n, 2, "bias"));
        const Tensor& b = n.input(2)->constant();
        if (b.dtype() != DataType::kFloat32) return unsupported("bias is ", dtype_name(b.dtype()), ", expected f32");
        if (b.numel() != c->out_channels)
            return invalid_argument("bias has ", b.numel(), " elements for ", c->out_channels, " output channels");
    }
    return OkStatus();
}

Status supports_conv(const ir::Node& n, bool transpose, bool quantized) {
    ConvDesc c;
    QAT_RETURN_IF_ERROR(parse_conv(n, transpose, quantized, &c));
    DataType xt = input_dtype(n, 0);
    if (quantized) {
        if (xt != DataType::kUndefined && xt != DataType::kInt8 && xt != DataType::kUint8)
            return unsupported("input is ", dtype_name(xt), ", expected i8 or u8");
        QParams p;
        QAT_RETURN_IF_ERROR(parse_qparams(n, static_cast<size_t>(c.out_channels), &p));
        DataType rt = input_dtype(n, 3);
        if (p.has_residual() && rt != DataType::kUndefined && rt != DataType::kFloat32 && !is_quantized_type(rt))
            return unsupported("residual is ", dtype_name(rt));
    } else {
        if (xt != DataType::kUndefined && xt != DataType::kFloat32)
            return unsupported("input is ", dtype_name(xt), ", expected f32");
        if (c.post_ops) {
            QParams p;
            QAT_RETURN_IF_ERROR(parse_qparams(n, static_cast<size_t>(c.out_channels), &p));
            DataType rt = input_dtype(n, 3);
            if (p.has_residual() && rt != DataType::kUndefined && rt != DataType::kFloat32)
                return unsupported("residual is ", dtype_name(rt), ", expected f32");
            if (c.gated && (transpose || c.spatial != 2 || c.group != 1))
                return unsupported("a gate (input 4) on a ", transpose ? "transposed" : "grouped or non-2-D",
                                   " convolution");
        } else if (n.num_inputs() > 3) {
            return invalid_argument("too many inputs");
        }
    }
    return OkStatus();
}

class ConvKernel : public OnednnKernel {
  public:
    ConvKernel(const ir::Node& n, ConvDesc c) : OnednnKernel(n), c_(std::move(c)) {
        if (c_.post_ops) {
            Status s = parse_qparams(n, static_cast<size_t>(c_.out_channels), &q_, &info_.emplace());
            QAT_ASSERT(s.ok(), "supports() accepted ", n.desc(), ": ", s.message());
        }
    }

    std::string implementation() const override {
        if (!cur_) return std::string();
        if (cur_->gemv) return kGemvImpl;
        if (cur_->own_1x1) return cur_->im2col ? kInt8Im2colImpl : kInt8PointwiseImpl;
        if (cur_->own_dw) return kInt8DepthwiseImpl;
        return own_swish() ? cur_->impl + " + qat:swish" : cur_->impl;
    }

    void set_hints(const runtime::KernelHints& hints) override { hints_ = hints; }

    size_t prepacked_bytes() const override {
        size_t b = 0;
        for (const auto& w : weights_) b += w.second.get_desc().get_size();
        return b + (own_1x1_ ? own_1x1_->packed_bytes() : 0) + (own_dw_ ? own_dw_->packed_bytes() : 0);
    }

  protected:
    struct State {
        std::vector<int64_t> x_dims;
        int threads = 0;  // prepare_threads() it was built for (the primitive's split)
        md_t x_md, res_md;
        std::vector<int64_t> out_dims;
        md_t src_md, dst_md;
        dnnl::primitive prim;
        std::string impl;  // oneDNN's implementation name
        dnnl::memory weights;
        Epilogue epi;
        bool src_reorder = false;
        std::shared_ptr<void> src_scratch;
        MemCache src_mem, dst_mem, res_mem, x_mem, res_out_mem;
        ReorderCache src_reorder_prim, res_reorder_prim;
        bool gemv = false;     // pointwise_gemv.h instead of the primitive
        bool own_1x1 = false;  // pointwise_int8.h instead of the primitive
        bool im2col = false;   // own_1x1 over rows im2col_int8.h gathers into cols (a chunk per thread)
        // own_1x1 of a 1x1 input whose channels are not whole dwords (squeeze-and-excitation
        // expands of 6 or 10): its rows copied into padded_x, zero-filled to whole dwords.
        bool pad_rows = false;
        std::shared_ptr<void> padded_x;
        Im2colGeometry cols_geom;
        std::shared_ptr<void> cols;
        bool own_dw = false;  // depthwise_int8.h instead of the primitive
        DepthwiseInt8Geometry dw_geom;
        PointwiseInt8Geometry geom;
        md_t res_nhwc_md;                   // own_1x1: the residual as the kernel reads it
        std::shared_ptr<void> res_scratch;  // own_1x1: the residual reordered there (else null)
        // Gated FusedConv (plan_gate): the gate folded into a per-run copy of the weights, or
        // applied to the input (in place, or into gated_x when the input has other readers).
        bool fold_gate = false;
        bool gate_nhwc = false;  // the input the gate scales is channels-last (else NCHW)
        int64_t gate_n = -1;     // the gate's batch dim this state was planned for
        dnnl::memory gated_weights;
        ReorderCache gate_w_reorder;
        MemCache gate_w_mem;
        std::shared_ptr<void> gated_x;
        // The primitive's arguments, kept between runs: the same keys every run of a state, so
        // refilling them allocates nothing (a map built per run cost ~10% of a small step).
        std::unordered_map<int, dnnl::memory> args;
    };

    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* x = in[0];
        if (!x) return runtime::kernel_error(node_, "input 0 is missing");
        if (x->rank() != c_.spatial + 2)
            return runtime::kernel_error(node_, "input has shape ", dims_to_string(x->dims()), ", expected rank ",
                                         c_.spatial + 2);
        if (x->dim(1) != c_.in_channels)
            return runtime::kernel_error(node_, "input has ", x->dim(1), " channels, the weights expect ",
                                         c_.in_channels);
        if (c_.quantized) {
            if (!is_quantized_type(x->dtype()))
                return runtime::kernel_error(node_, "input is ", dtype_name(x->dtype()), ", expected i8 or u8");
        } else if (x->dtype() != DataType::kFloat32) {
            return runtime::kernel_error(node_, "input is ", dtype_name(x->dtype()), ", expected f32");
        }
        md_t res_md;
        if (c_.post_ops && q_.has_residual()) {
            if (!in[3]) return runtime::kernel_error(node_, "residual input is missing");
            res_md = mds[3];
        }
        // The gate's shape and the input's layout are fixed until the next prepare: checked here,
        // not on every run.
        if (c_.gated &&
            (!in[4] || in[4]->dtype() != DataType::kFloat32 || !ir::fused::gate_fits(x->dims(), in[4]->dims())))
            return runtime::kernel_error(node_, "gate (input 4) has shape ",
                                         in[4] ? dims_to_string(in[4]->dims()) : std::string("(missing)"),
                                         ", expected [", x->dim(0), " or 1, ", c_.in_channels, ", 1, 1] float32");
        const int64_t gate_n = c_.gated ? in[4]->dim(0) : -1;
        for (auto& s : states_)
            if (s->x_dims == x->dims() && s->x_md == mds[0] && s->res_md == res_md && s->gate_n == gate_n &&
                s->threads == prepare_threads()) {
                cur_ = s.get();
                if (cur_->gemv && !probing_) prepare_gemv();  // the state may come from a probe
                if (cur_->own_1x1 && !probing_) prepare_own_1x1(*cur_);
                if (cur_->own_dw && !probing_) prepare_own_dw(*cur_);
                return OkStatus();
            }
        auto st = std::make_unique<State>();
        st->x_dims = x->dims();
        st->threads = prepare_threads();
        st->x_md = mds[0];
        st->res_md = res_md;
        st->gate_n = gate_n;

        // Geometry.
        std::vector<int64_t> in_sp(x->dims().begin() + 2, x->dims().end());
        std::vector<int64_t> pb, pe, out_sp;
        if (c_.transpose) {
            pb.assign(c_.pads.begin(), c_.pads.begin() + c_.spatial);
            pe.assign(c_.pads.begin() + c_.spatial, c_.pads.end());
            if (c_.auto_pad == "VALID") {
                std::fill(pb.begin(), pb.end(), 0);
                std::fill(pe.begin(), pe.end(), 0);
            }
            for (size_t i = 0; i < c_.spatial; ++i) {
                int64_t o = c_.strides[i] * (in_sp[i] - 1) + c_.output_padding[i] +
                            (c_.kernel[i] - 1) * c_.dilations[i] + 1 - pb[i] - pe[i];
                if (o < 1)
                    return runtime::kernel_error(node_, "output size ", o, " < 1 for input ",
                                                 dims_to_string(x->dims()));
                out_sp.push_back(o);
                pe[i] -= c_.output_padding[i];  // oneDNN's right padding absorbs output_padding
            }
        } else {
            QAT_RETURN_IF_ERROR(spatial_output(node_, in_sp, c_.kernel, c_.strides, c_.dilations, c_.pads, c_.auto_pad,
                                               false, &pb, &pe, &out_sp));
        }
        st->out_dims = {x->dim(0), c_.out_channels};
        st->out_dims.insert(st->out_dims.end(), out_sp.begin(), out_sp.end());
        // The own kernel before the GEMV loop: on squeeze-and-excitation vectors it is faster too
        // (EfficientNet-B0's 32 SE convolutions at batch 1, quiet machine: 0.21-0.25 -> 0.19-0.22
        // ms in all; at batch 16, where the GEMV loop declines them, oneDNN's brgconv_1x1 remains).
        if (own_1x1_candidate(*x, mds[0], pb, pe, res_md)) {
            plan_own_1x1(*st, *x, mds[0]);
            if (!probing_) prepare_own_1x1(*st);
            return keep_state(std::move(st));
        }
        if (im2col_candidate(pb, pe)) {
            plan_im2col(*st, *x, mds[0], pb);
            if (!probing_) prepare_own_1x1(*st);
            return keep_state(std::move(st));
        }
        if (own_dw_candidate(pb, pe)) {
            plan_own_dw(*st, *x, mds[0]);
            if (!probing_) prepare_own_dw(*st);
            return keep_state(std::move(st));
        }
        if (gemv_candidate(*x, mds[0], pb, pe)) {
            st->gemv = true;
            st->dst_md = plain_md(st->out_dims, c_.quantized ? to_dnnl(q_.out_type()) : dt::f32);
            if (!probing_) prepare_gemv();
            return keep_state(std::move(st));
        }

        dt src_t = c_.quantized ? mds[0].data_type() : dt::f32;
        dt w_t = c_.quantized ? dt::s8 : dt::f32;
        dnnl::memory::dims w_dims, w_strides;
        {
            int64_t g = c_.group, ocg = c_.out_channels / g, icg = c_.in_channels / g;
            int64_t k = 1;
            for (auto v : c_.kernel) k *= v;
            std::vector<int64_t> ksz(c_.kernel), kst(c_.spatial);
            for (int i = static_cast<int>(c_.spatial) - 1, acc = 1; i >= 0; --i) {
                kst[i] = acc;
                acc *= static_cast<int>(ksz[i]);
            }
            if (g > 1)
                w_dims = {g, ocg, icg};
            else
                w_dims = {ocg, icg};
            if (!c_.transpose) {
                // ONNX [M, C/g, k...] is goihw / oihw row-major.
                if (g > 1)
                    w_strides = {ocg * icg * k, icg * k, k};
                else
                    w_strides = {icg * k, k};
            } else {
                // ONNX [C, M/g, k...] = [g][ic][oc][k]: logical (g, oc, ic, k) with these strides.
                if (g > 1)
                    w_strides = {icg * ocg * k, k, ocg * k};
                else
                    w_strides = {k, ocg * k};
            }
            for (size_t i = 0; i < c_.spatial; ++i) {
                w_dims.push_back(c_.kernel[i]);
                w_strides.push_back(kst[i]);
            }
        }
        md_t w_user(w_dims, w_t, w_strides);
        md_t w_any(w_dims, w_t, tag::any);
        md_t bias_md = node_.input(2) || c_.quantized ? md_t({c_.out_channels}, dt::f32, tag::a) : md_t();

        dnnl::primitive_attr attr;
        dt dst_t = dt::f32;
        if (c_.post_ops) {
            // A float swish last runs on swish.h's loop after the primitive (a third of oneDNN's
            // post-op cost); the rest of the chain stays in the primitive.
            QParams chain = q_;
            if (own_swish()) chain.post_ops.pop_back();
            QAT_ASSIGN_OR_RETURN(st->epi, build_epilogue(chain, 1 << 1, res_md ? &res_md : nullptr));
            attr = st->epi.attr;
            dst_t = st->epi.dst_type;
        }
        // The engine's FP32 layout choice (KernelHints): nChw16c out, and in where the input
        // channels fill whole blocks (a 3-channel image stays plain: oneDNN's first-layer kernel).
        const tag out_tag = blocked_fp32(*x) ? tag::aBcd16b : tag::any;
        const tag in_tag = out_tag == tag::aBcd16b && x->dim(1) % 16 == 0 ? tag::aBcd16b : tag::any;
        md_t src_any(to_dims(x->dims()), src_t, in_tag);
        md_t dst_any(to_dims(st->out_dims), dst_t, out_tag);
        auto dd = [](const std::vector<int64_t>& v, int64_t sub) {
            dnnl::memory::dims d;
            for (auto e : v) d.push_back(e - sub);
            return d;
        };
        dnnl::memory::dims strides = dd(c_.strides, 0), dil = dd(c_.dilations, 1), pl = dd(pb, 0), pr = dd(pe, 0);
        const dnnl::engine& eng = cpu_engine();
        md_t weights_md;
        if (c_.transpose) {
            auto d = dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                       dnnl::algorithm::deconvolution_direct, src_any, w_any, bias_md,
                                                       dst_any, strides, dil, pl, pr);
            dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
            note_impl(node_, "deconvolution", pd.impl_info_str());
            st->impl = pd.impl_info_str();
            st->src_md = pd.src_desc();
            st->dst_md = pd.dst_desc();
            weights_md = pd.weights_desc();
            if (probing_) return OkStatus();
            st->prim = dnnl::deconvolution_forward(pd);
        } else {
            auto desc = [&](dnnl::algorithm alg) {
                return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src_any, w_any, bias_md,
                                                       dst_any, strides, dil, pl, pr);
            };
            dnnl::convolution_forward::primitive_desc pd;
            if (winograd_candidate()) {
                // FP32 3x3 stride-1 convolutions: oneDNN's Winograd kernels (F(2x2,3x3) and F(4x4,3x3))
                // take half the time of the direct ones on ResNet-50's layers here, with outputs
                // within ~1e-6 relative of them. oneDNN's convolution_auto never picks them on
                // AVX-512, so ask explicitly and fall back where no Winograd kernel fits the shape.
                try {
                    pd = dnnl::convolution_forward::primitive_desc(desc(dnnl::algorithm::convolution_winograd), attr,
                                                                   eng);
                } catch (const dnnl::error&) {
                    pd = {};
                }
            }
            if (!pd)
                pd = dnnl::convolution_forward::primitive_desc(desc(dnnl::algorithm::convolution_direct), attr, eng);
            note_impl(node_, "convolution", pd.impl_info_str());
            st->impl = pd.impl_info_str();
            st->src_md = pd.src_desc();
            st->dst_md = pd.dst_desc();
            weights_md = pd.weights_desc();
            if (probing_) return OkStatus();
            st->prim = dnnl::convolution_forward(pd);
        }
        // The primitive may read a u8-stored int8 input as s8 only if we relabel it: compare
        // layouts by their bytes, not their labels.
        st->src_reorder = !(st->src_md == mds[0]);
        if (st->src_reorder) st->src_scratch = aligned_alloc_bytes(st->src_md.get_size());

        // Prepacked weights (and bias in accumulator units), once per weights layout.
        for (auto& w : weights_)
            if (w.first == weights_md) st->weights = w.second;
        if (!st->weights) {
            dnnl::memory wm(weights_md, eng);
            dnnl::memory src(w_user, eng, const_cast<void*>(node_.input(1)->constant().raw_data()));
            reorder_into(src, wm);
            weights_.emplace_back(weights_md, wm);
            st->weights = wm;
        }
        if (c_.gated) QAT_RETURN_IF_ERROR(plan_gate(*st, *x, weights_md));
        if (bias_md && !bias_) {
            bias_ = dnnl::memory(bias_md, eng);
            float* b = static_cast<float*>(bias_.get_data_handle());
            const Tensor* bt = node_.input(2) ? &node_.input(2)->constant() : nullptr;
            for (int64_t c = 0; c < c_.out_channels; ++c) {
                float v = bt ? bt->data<float>()[c] : 0.0f;
                if (c_.quantized) {
                    float ws = q_.w_scales.size() == 1 ? q_.w_scales[0] : q_.w_scales[c];
                    v = v / (q_.x_scale * ws);  // oneDNN adds the bias before the output scale
                }
                b[c] = v;
            }
        }
        return keep_state(std::move(st));
    }

    Status keep_state(std::unique_ptr<State> st) {
        cur_ = onednn::keep_state(states_, std::move(st));
        return OkStatus();
    }

    // The lines a run reads first (runtime::Kernel::prefetch_run): the state's flags and
    // geometry, the fixed descs' entries, our kernels' objects; then what those point to.
    void prefetch_run(int stage) const override {
        const State* st = cur_;
        if (!st) return;
        if (stage == 0) {
            prefetch_lines({&st->gemv, &st->src_reorder, &st->geom, &st->dw_geom, &st->out_dims});
            prefetch_fixed(0);
            for (const void* k : {static_cast<const void*>(own_1x1_.get()), static_cast<const void*>(own_dw_.get())})
                if (k)
                    for (int l = 0; l < 4; ++l) prefetch_lines({static_cast<const char*>(k) + 64 * l});
            return;
        }
        prefetch_lines({st->out_dims.data()});
        prefetch_fixed(1);
        if (own_1x1_) own_1x1_->prefetch();
        if (own_dw_) own_dw_->prefetch();
    }

    Status do_run(runtime::KernelContext& ctx) override {
        State& st = *cur_;
        const Tensor& x = *ctx.input(0);
        if (st.gemv) return run_gemv(ctx, st, x);
        if (st.own_1x1) return run_own_1x1(ctx, st, x);
        if (st.own_dw) return run_own_dw(ctx, st, x);
        const void* xdata = x.raw_data();
        dnnl::memory weights = st.weights;
        if (c_.gated) apply_gate(ctx, st, x, &xdata, &weights);
        auto& args = st.args;
        if (st.src_reorder) {
            dnnl::memory& xm = st.x_mem.get(st.x_md, xdata);
            dnnl::memory& sm = st.src_mem.get(st.src_md, st.src_scratch.get());
            st.src_reorder_prim.run(xm, sm);
            args[DNNL_ARG_SRC] = sm;
        } else {
            args[DNNL_ARG_SRC] = st.src_mem.get(st.src_md, xdata);
        }
        args[DNNL_ARG_WEIGHTS] = weights;
        if (bias_) args[DNNL_ARG_BIAS] = bias_;
        DataType out_t = c_.quantized ? q_.out_type() : DataType::kFloat32;
        Tensor* out = nullptr;
        if (c_.post_ops && st.epi.residual == Epilogue::Residual::kSum) {
            const Tensor& r = *ctx.input(3);
            md_t target = with_type(st.dst_md, st.res_md.data_type());
            // Accumulate in place where we may: the residual's buffer becomes the output.
            if (st.res_md == target) out = output_over_input(ctx, 3, out_t, st.out_dims);
            if (!out) {
                out = make_fixed_output(ctx, 0, out_t, st.out_dims, st.dst_md);
                if (st.res_md == target)
                    std::memcpy(out->raw_data(), r.raw_data(), target.get_size());
                else
                    st.res_reorder_prim.run(st.res_mem.get(st.res_md, r.raw_data()),
                                            st.res_out_mem.get(target, out->raw_data()));
            }
        } else {
            out = make_fixed_output(ctx, 0, out_t, st.out_dims, st.dst_md);
            if (c_.post_ops && st.epi.residual == Epilogue::Residual::kBinary)
                args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(st.epi.binary_index) | DNNL_ARG_SRC_1] =
                    st.res_mem.get(st.res_md, ctx.input(3)->raw_data());
        }
        args[DNNL_ARG_DST] = st.dst_mem.get(st.dst_md, out->raw_data());
        if (c_.quantized) {
            if (q_.x_zero_point != 0) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem(zp_src_, q_.x_zero_point);
            if (st.epi.dst_zero_point)
                args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = zp_mem(zp_dst_, q_.y_zero_point);
        }
        st.prim.execute(cpu_stream(), args);
        cpu_stream().wait();
        // Elementwise, so any layout will do; a padded block's zeros stay zero.
        if (own_swish())
            swish_inplace(static_cast<float*>(out->raw_data()),
                          static_cast<int64_t>(st.dst_md.get_size() / sizeof(float)), ctx.num_threads());
        return declare_fixed_layout(ctx, 0, st.dst_md);
    }

  private:
    static constexpr const char* kGemvImpl = "qat:gemv";
    static constexpr const char* kInt8PointwiseImpl = "qat:int8_1x1";
    static constexpr const char* kInt8DepthwiseImpl = "qat:int8_dw";
    static constexpr const char* kInt8Im2colImpl = "qat:int8_im2col";

    // An INT8 1x1 convolution for pointwise_int8.h (swish / sigmoid post-ops, or its requantizing
    // path): no padding, a quantized residual if any. A requantizing one of a 1x1 input is the GEMV
    // loop's.
    bool own_1x1_candidate(const Tensor& x, const md_t& x_md, const std::vector<int64_t>& pb,
                           const std::vector<int64_t>& pe, const md_t& res_md) const {
        if (!c_.quantized || !pointwise_int8_fits(*info_, row_bytes(x), c_.out_channels) || !pointwise() ||
            c_.spatial != 2 || !pointwise_int8_available() || (pads_rows(x) && q_.has_residual()))
            return false;
        for (size_t i = 0; i < 2; ++i)
            if (pb[i] != 0 || pe[i] != 0) return false;
        if (pointwise_int8_requantizes(*info_) && gemv_candidate(x, x_md, pb, pe)) return false;
        return !q_.has_residual() || (res_md && is_quantized_type(from_dnnl(res_md.data_type())));
    }

    // A 1x1 input whose channel count is not a multiple of 4 (the 1x1 kernel reads whole dwords)
    // goes to the kernel in rows padded to whole dwords: a copy of N x C bytes, against the GEMV
    // loop's exact formula (a double exp per output: 6-9 us per EfficientNet-B0 SE expand of 6 or
    // 10 inputs at batch 1, 2-3 us on the kernel; docs/BENCHMARKS.md).
    bool pads_rows(const Tensor& x) const {
        return c_.in_channels % 4 != 0 && x.rank() == 4 && x.dim(2) == 1 && x.dim(3) == 1;
    }
    int64_t padded_row_bytes() const { return im2col_row_bytes(c_.in_channels, 1, 1); }
    int64_t row_bytes(const Tensor& x) const { return pads_rows(x) ? padded_row_bytes() : c_.in_channels; }

    // An INT8 3x3 or 5x5 depthwise convolution for depthwise_int8.h: stride 1 or 2, padding 1 or 2
    // (half the kernel) on every side, no dilation, no residual.
    bool own_dw_candidate(const std::vector<int64_t>& pb, const std::vector<int64_t>& pe) const {
        if (!c_.quantized || c_.transpose || c_.spatial != 2 || c_.group != c_.in_channels ||
            c_.out_channels != c_.in_channels || q_.has_residual() || !depthwise_int8_fits(*info_, c_.in_channels))
            return false;
        if (c_.strides[0] != c_.strides[1] || c_.strides[0] > 2 || c_.kernel[0] != c_.kernel[1]) return false;
        const int64_t k = c_.kernel[0];
        // (5x5 rows of stride 1 under 8 outputs wide stayed on oneDNN until the cheaper swish:
        // 7x7x1152 0.94-0.98x its jit_int8 then, 1.8x now; without swish 1.1x.)
        if (k != 3 && k != 5) return false;
        for (size_t i = 0; i < 2; ++i)
            if (c_.dilations[i] != 1 || pb[i] != k / 2 || pe[i] != k / 2) return false;
        return true;
    }

    // An INT8 convolution of at most kIm2colMaxTaps taps per output (C x kh x kw: an image's stem)
    // that pointwise_int8.h takes as a 1x1 one over gathered rows: ungrouped, no dilation, no
    // residual, larger than 1x1.
    bool im2col_candidate(const std::vector<int64_t>& pb, const std::vector<int64_t>& pe) const {
        if (!c_.quantized || c_.transpose || c_.spatial != 2 || c_.group != 1 || q_.has_residual() || pointwise() ||
            !pointwise_int8_available() || !im2col_int8_available())
            return false;
        if (c_.in_channels * c_.kernel[0] * c_.kernel[1] > kIm2colMaxTaps ||
            !pointwise_int8_fits(*info_, im2col_row_bytes(c_.in_channels, c_.kernel[0], c_.kernel[1]), c_.out_channels,
                                 /*gathered=*/true))
            return false;
        for (size_t i = 0; i < 2; ++i)
            if (c_.dilations[i] != 1 || pb[i] >= c_.kernel[i] || pe[i] >= c_.kernel[i]) return false;
        return true;
    }

    void plan_im2col(State& st, const Tensor& x, const md_t& x_md, const std::vector<int64_t>& pb) {
        st.own_1x1 = st.im2col = true;
        plan_channels_last(st, x_md);
        Im2colGeometry& g = st.cols_geom;
        g = {x.dim(0),     c_.in_channels, x.dim(2),      x.dim(3),      st.out_dims[2], st.out_dims[3],
             c_.kernel[0], c_.kernel[1],   c_.strides[0], c_.strides[1], pb[0],          pb[1]};
        // A padding tap holds the zero point as the input stores it (s8: its two's complement byte).
        g.fill = static_cast<uint8_t>(q_.x_zero_point);
    }

    // The weights as the 1x1 kernel reads rows padded to whole dwords (the gathered rows of
    // im2col_candidate, a 1x1 input's rows of pads_rows): [M][kernel row][kernel column][C], each
    // output's row zero-padded.
    std::vector<int8_t> dword_row_weights() const {
        const int64_t m = c_.out_channels, c = c_.in_channels, kh = c_.kernel[0], kw = c_.kernel[1];
        const int64_t kp = im2col_row_bytes(c, kh, kw);
        const int8_t* w = node_.input(1)->constant().data<int8_t>();  // ONNX [M][C][kh][kw]
        std::vector<int8_t> out(static_cast<size_t>(m * kp), 0);
        for (int64_t o = 0; o < m; ++o)
            for (int64_t ch = 0; ch < c; ++ch)
                for (int64_t y = 0; y < kh; ++y)
                    for (int64_t x = 0; x < kw; ++x)
                        out[static_cast<size_t>(o * kp + (y * kw + x) * c + ch)] = w[((o * c + ch) * kh + y) * kw + x];
        return out;
    }

    void plan_own_dw(State& st, const Tensor& x, const md_t& x_md) {
        st.own_dw = true;
        plan_channels_last(st, x_md);
        st.dw_geom = {x.dim(0), st.out_dims[2], st.out_dims[3], x.dim(2), x.dim(3)};
    }

    void prepare_own_dw(State& st) {
        prepare_channels_last(st);
        const bool x_is_u8 = st.x_md.data_type() == dt::u8;
        if (own_dw_ && own_dw_->x_is_u8() == x_is_u8) return;
        own_dw_ = std::make_unique<DepthwiseInt8>();
        const float* bias = node_.input(2) ? node_.input(2)->constant().data<float>() : nullptr;
        own_dw_->init(node_.input(1)->constant().data<int8_t>(), c_.out_channels, bias, *info_, x_is_u8,
                      static_cast<int>(c_.strides[0]), static_cast<int>(c_.kernel[0]));
    }

    Status run_own_dw(runtime::KernelContext& ctx, State& st, const Tensor& x) {
        const void* xdata = channels_last_input(st, x);
        Tensor* out = make_fixed_output(ctx, 0, q_.out_type(), st.out_dims, st.dst_md);
        own_dw_->run(st.dw_geom, xdata, out->raw_data(), ctx.num_threads());
        return declare_fixed_layout(ctx, 0, st.dst_md);
    }

    // Our INT8 kernels (1x1, depthwise) read and write channels-last: an input in another layout
    // is reordered into scratch first, as oneDNN's primitive does with the layouts it does not
    // take. The output is labelled as build_epilogue labels the primitive's.
    void plan_channels_last(State& st, const md_t& x_md) {
        const dt out_t = int8_output_stored_as_u8(q_) ? dt::u8 : to_dnnl(q_.out_type());
        st.dst_md = md_t(to_dims(st.out_dims), out_t, tag::acdb);
        st.src_md = md_t(x_md.dims(), x_md.data_type(), tag::acdb);
        st.src_reorder = !(st.src_md == x_md);
    }
    // The reorder's scratch (not made while probing).
    void prepare_channels_last(State& st) {
        if (st.src_reorder && !st.src_scratch) st.src_scratch = aligned_alloc_bytes(st.src_md.get_size());
    }
    // The input's bytes as the kernels read them.
    const void* channels_last_input(State& st, const Tensor& x) {
        if (!st.src_reorder) return x.raw_data();
        st.src_reorder_prim.run(st.x_mem.get(st.x_md, x.raw_data()), st.src_mem.get(st.src_md, st.src_scratch.get()));
        return st.src_scratch.get();
    }

    // The residual too is reordered to channels-last when it arrives otherwise.
    void plan_own_1x1(State& st, const Tensor& x, const md_t& x_md) {
        st.own_1x1 = true;
        st.pad_rows = pads_rows(x);
        plan_channels_last(st, x_md);
        st.geom = {x.dim(0), st.out_dims[2], st.out_dims[3], x.dim(2), x.dim(3), c_.strides[0], c_.strides[1]};
        if (st.res_md) st.res_nhwc_md = md_t(st.res_md.dims(), st.res_md.data_type(), tag::acdb);
    }

    // What a run of the state needs (not made while probing): the reorder scratch, and the kernel's
    // packed weights for the input's storage label (a u8-labelled int8 tensor holds 0..127: read
    // as u8).
    void prepare_own_1x1(State& st) {
        prepare_channels_last(st);
        if (st.res_md && !(st.res_nhwc_md == st.res_md) && !st.res_scratch)
            st.res_scratch = aligned_alloc_bytes(st.res_nhwc_md.get_size());
        if (st.im2col && !st.cols)
            st.cols = aligned_alloc_bytes(static_cast<size_t>(im2col_chunk_bytes(st) * std::max(1, st.threads)));
        if (st.pad_rows && !st.padded_x) {
            // Zeroed once: each run copies the rows' channels over, the padding stays.
            const size_t bytes = static_cast<size_t>(st.geom.n * padded_row_bytes());
            st.padded_x = aligned_alloc_bytes(bytes);
            std::memset(st.padded_x.get(), 0, bytes);
        }
        const bool x_is_u8 = st.x_md.data_type() == dt::u8;
        // Row bytes as the kernel reads them (the kernel is kept across states of one input kind).
        const int64_t k = st.im2col ? st.cols_geom.row_bytes() : st.pad_rows ? padded_row_bytes() : c_.in_channels;
        if (own_1x1_ && own_1x1_->x_is_u8() == x_is_u8 && own_1x1_->k() == k) return;
        own_1x1_ = std::make_unique<PointwiseInt8>();
        const float* bias = node_.input(2) ? node_.input(2)->constant().data<float>() : nullptr;
        if (st.im2col || st.pad_rows) {
            own_1x1_->init(dword_row_weights().data(), c_.out_channels, k, bias, *info_, x_is_u8);
        } else {
            own_1x1_->init(node_.input(1)->constant().data<int8_t>(), c_.out_channels, c_.in_channels, bias, *info_,
                           x_is_u8);
        }
    }

    // Output rows per gathered chunk (~16 KB of rows, which stay in L1 for the product), and the
    // bytes of a thread's chunk buffer (whole pages: threads do not share one; the gather's slack
    // past the rows included).
    static int64_t im2col_chunk_rows(const State& st) {
        return std::max<int64_t>(1, 16384 / (st.cols_geom.w * st.cols_geom.row_bytes()));
    }
    static int64_t im2col_chunk_bytes(const State& st) {
        const int64_t b = im2col_chunk_rows(st) * st.cols_geom.w * st.cols_geom.row_bytes() + kIm2colSlackBytes;
        return (b + 4095) / 4096 * 4096;
    }

    // Each thread gathers its output rows chunk by chunk and runs the 1x1 kernel on each (one
    // thread per call) while the chunk is in L1.
    Status run_im2col(runtime::KernelContext& ctx, State& st, const Tensor& x) {
        const auto* xdata = static_cast<const uint8_t*>(channels_last_input(st, x));
        Tensor* out = make_fixed_output(ctx, 0, q_.out_type(), st.out_dims, st.dst_md);
        auto* y = static_cast<uint8_t*>(out->raw_data());
        const Im2colGeometry& g = st.cols_geom;
        const int64_t total = g.n * g.h, chunk = im2col_chunk_rows(st), row_out = g.w * c_.out_channels;
        const int nt = static_cast<int>(std::clamp<int64_t>(std::min(ctx.num_threads(), st.threads), 1, total));
        auto work = [&](int t) {
            uint8_t* buf = static_cast<uint8_t*>(st.cols.get()) + t * im2col_chunk_bytes(st);
            for (int64_t r = total * t / nt, r1 = total * (t + 1) / nt; r < r1; r += chunk) {
                const int64_t e = std::min(r1, r + chunk);
                im2col_int8_rows(g, xdata, buf, r, e);
                const PointwiseInt8Geometry cg{1, e - r, g.w, e - r, g.w, 1, 1};
                own_1x1_->run(cg, buf, nullptr, false, y + r * row_out, 1);
            }
        };
        if (nt == 1) {
            work(0);
        } else {
#pragma omp parallel num_threads(nt)
            work(omp_get_thread_num());
        }
        return declare_fixed_layout(ctx, 0, st.dst_md);
    }

    Status run_own_1x1(runtime::KernelContext& ctx, State& st, const Tensor& x) {
        if (st.im2col) return run_im2col(ctx, st, x);
        const void* xdata = channels_last_input(st, x);
        if (st.pad_rows) {
            // N rows of C bytes (a 1x1 input: NCHW and channels-last alike) into the zero-padded rows.
            const int64_t c = c_.in_channels, kp = padded_row_bytes();
            auto* dst = static_cast<uint8_t*>(st.padded_x.get());
            for (int64_t i = 0; i < st.geom.n; ++i)
                std::memcpy(dst + i * kp, static_cast<const uint8_t*>(xdata) + i * c, static_cast<size_t>(c));
            xdata = dst;
        }
        const DataType out_t = q_.out_type();
        const Tensor* r = q_.has_residual() ? ctx.input(3) : nullptr;
        const void* rdata = r ? r->raw_data() : nullptr;
        Tensor* out = nullptr;
        if (r && st.res_scratch) {
            st.res_reorder_prim.run(st.res_mem.get(st.res_md, rdata),
                                    st.res_out_mem.get(st.res_nhwc_md, st.res_scratch.get()));
            rdata = st.res_scratch.get();
        }
        // In place over a channels-last residual when this is its last reader: each output element
        // is written after its own residual element was read, by the thread that read it.
        if (r && !st.res_scratch && r->dtype() == out_t) out = output_over_input(ctx, 3, out_t, st.out_dims);
        if (!out) out = make_fixed_output(ctx, 0, out_t, st.out_dims, st.dst_md);
        own_1x1_->run(st.geom, xdata, rdata, st.res_md && st.res_md.data_type() == dt::u8, out->raw_data(),
                      ctx.num_threads());
        return declare_fixed_layout(ctx, 0, st.dst_md);
    }

    // A 1x1 convolution of a 1x1 input without residual, small enough for pointwise_gemv.h, whose
    // input bytes are N x C row-major (a plain or channels-last desc; blocked ones are declined).
    bool gemv_candidate(const Tensor& x, const md_t& x_md, const std::vector<int64_t>& pb,
                        const std::vector<int64_t>& pe) const {
        if (!pointwise() || c_.gated || (c_.post_ops && q_.has_residual())) return false;
        for (size_t i = 0; i < c_.spatial; ++i)
            if (x.dim(2 + i) != 1 || pb[i] != 0 || pe[i] != 0) return false;
        const int64_t n = x.dim(0), c = c_.in_channels;
        if (n * c * c_.out_channels > kGemvMaxMacs || n * c_.out_channels > kGemvMaxOutputs) return false;
        if (x_md.data.format_kind != dnnl_blocked || x_md.data.offset0 != 0) return false;
        const auto& b = x_md.data.format_desc.blocking;
        return b.inner_nblks == 0 && (c == 1 || b.strides[1] == 1) && (n == 1 || b.strides[0] == c);
    }

    // The loop's weights (transposed once), for every shape that takes the gemv path.
    void prepare_gemv() {
        if (gemv_) return;
        const Tensor& w = node_.input(1)->constant();
        const float* bias = node_.input(2) ? node_.input(2)->constant().data<float>() : nullptr;
        gemv_ = std::make_unique<PointwiseGemv>();
        if (c_.quantized)
            gemv_->init_int8(w.data<int8_t>(), c_.out_channels, c_.in_channels, bias, *info_);
        else
            gemv_->init_f32(w.data<float>(), c_.out_channels, c_.in_channels, bias, info_ ? &*info_ : nullptr);
    }

    Status run_gemv(runtime::KernelContext& ctx, State& st, const Tensor& x) {
        const DataType out_t = c_.quantized ? q_.out_type() : DataType::kFloat32;
        Tensor* out = make_fixed_output(ctx, 0, out_t, st.out_dims, st.dst_md);
        if (c_.quantized)
            gemv_->run_int8(x.dim(0), x.raw_data(), x.dtype() == DataType::kUint8, out->raw_data());
        else
            gemv_->run_f32(x.dim(0), x.data<float>(), out->data<float>());
        return declare_fixed_layout(ctx, 0, st.dst_md);
    }

    // Gated FusedConv (input 4): how the gate goes in for this shape. Folding scales the plain
    // weights per input channel and reorders them into the primitive's layout on every run
    // (M x C x k products and a weight reorder, about twice the Mul's cost per element here), so
    // it pays where the activation it spares is at least 4x the weights, and only for a gate that
    // holds for the whole batch (batch 1, or a [1, C, 1, 1] gate). Otherwise the gate scales the
    // input (channel_scale.h, the Mul's own loop). A gate per image folded into a one-image
    // primitive run N times measured slower than the Mul at batch 16 (EfficientNet-B0's 56x56 and
    // 28x28 projections: +0.3-0.5 ms each), so that is not done.
    Status plan_gate(State& st, const Tensor& x, const md_t& weights_md) {
        int64_t k = 1;
        for (auto v : c_.kernel) k *= v;
        st.fold_gate = (st.gate_n == 1 || x.dim(0) == 1) && x.dim(0) * x.dim(2) * x.dim(3) >= 4 * c_.out_channels * k;
        if (st.fold_gate) {
            st.gated_weights = dnnl::memory(weights_md, cpu_engine());
            gate_w_.resize(static_cast<size_t>(node_.input(1)->constant().numel()));
            return OkStatus();
        }
        st.gate_nhwc = is_channels_last(st.x_md);
        if (!st.gate_nhwc && !is_plain(st.x_md))
            return runtime::kernel_error(node_, "gated input arrived as ", md_to_string(st.x_md),
                                         " (the gate takes NCHW or NHWC)");
        return OkStatus();
    }

    // The copy of the input the gate scales when it cannot do so in place (allocated once).
    void* gated_x(State& st) {
        if (!st.gated_x) st.gated_x = aligned_alloc_bytes(st.x_md.get_size());
        return st.gated_x.get();
    }

    // The input the gate accepts: channels-last (the network's layout) or plain NCHW.
    bool accepts_layout(size_t input, const runtime::Layout& layout) const override {
        if (c_.gated && input == 4) return false;
        if (c_.gated && input == 0) {
            const auto* l = dynamic_cast<const OnednnLayout*>(&layout);
            return l && is_channels_last(l->md());
        }
        return OnednnKernel::accepts_layout(input, layout);
    }

    // The gate for this run (its shape checked at prepare): folded into the weights, or applied to
    // the input, whose data `xdata` then points at.
    void apply_gate(runtime::KernelContext& ctx, State& st, const Tensor& x, const void** xdata,
                    dnnl::memory* weights) {
        const float* gp = ctx.input(4)->data<float>();
        if (st.fold_gate) {
            fold_weights(st, gp);
            *weights = st.gated_weights;
            return;
        }
        ChannelScaleShape cs;
        cs.n = x.dim(0);
        cs.c = c_.in_channels;
        cs.hw = x.dim(2) * x.dim(3);
        cs.channels_last = st.gate_nhwc;
        cs.gate_per_sample = st.gate_n != 1;
        // In place when this is the input's last reader, as the Mul it replaces ran: a second
        // buffer for a batch-16 activation measured 1-3% slower on EfficientNet-B0 FP32 here.
        float* dst = ctx.can_overwrite_input(0) && x.storage() ? const_cast<float*>(x.data<float>())
                                                               : static_cast<float*>(gated_x(st));
        channel_scale_f32(cs, x.data<float>(), gp, dst);
        *xdata = dst;
    }

    // st.gated_weights = the weights with input channel c scaled by g[c], in the primitive's layout.
    void fold_weights(State& st, const float* g) {
        const Tensor& w = node_.input(1)->constant();
        const int64_t ck = w.numel() / c_.out_channels, k = ck / c_.in_channels;
        const float* wp = w.data<float>();
        for (int64_t m = 0; m < c_.out_channels; ++m)
            for (int64_t c = 0; c < c_.in_channels; ++c) {
                const float s = g[c];
                const float* src = wp + m * ck + c * k;
                float* dst = gate_w_.data() + m * ck + c * k;
                for (int64_t i = 0; i < k; ++i) dst[i] = src[i] * s;
            }
        st.gate_w_reorder.run(st.gate_w_mem.get(plain_md(w.dims(), dt::f32), gate_w_.data()), st.gated_weights);
    }

    // An ungrouped, untransposed convolution with a 1x1 kernel.
    bool pointwise() const {
        if (c_.transpose || c_.group != 1) return false;
        for (auto k : c_.kernel)
            if (k != 1) return false;
        return true;
    }

    // A float chain ending in swish: the primitive runs the rest, swish.h the swish.
    bool own_swish() const {
        return c_.post_ops && !c_.quantized && !q_.post_ops.empty() && q_.post_ops.back() == "swish";
    }

    // FP32 2-D convolutions follow KernelHints::fp32_conv_blocked, except those of a 1x1 input
    // (squeeze-and-excitation vectors: no pixels to block).
    bool blocked_fp32(const Tensor& x) const {
        return hints_.fp32_conv_blocked && !c_.quantized && !c_.transpose && c_.spatial == 2 && x.dim(2) * x.dim(3) > 1;
    }

    bool winograd_candidate() const {
        if (c_.quantized || c_.transpose || c_.spatial != 2 || c_.group != 1) return false;
        for (size_t i = 0; i < 2; ++i)
            if (c_.kernel[i] != 3 || c_.strides[i] != 1 || c_.dilations[i] != 1) return false;
        return true;
    }

    static dnnl::memory zp_mem(std::unique_ptr<std::pair<int32_t, dnnl::memory>>& slot, int32_t v) {
        if (!slot) {
            slot = std::make_unique<std::pair<int32_t, dnnl::memory>>(v, dnnl::memory());
            slot->second = dnnl::memory(md_t({1}, dt::s32, tag::x), cpu_engine(), &slot->first);
        }
        return slot->second;
    }

    ConvDesc c_;
    runtime::KernelHints hints_;
    QParams q_;
    std::unique_ptr<PointwiseGemv> gemv_;
    std::optional<ir::fused::FusedOpInfo> info_;  // ops with post-ops: the attributes
    std::unique_ptr<PointwiseInt8> own_1x1_;
    std::unique_ptr<DepthwiseInt8> own_dw_;
    std::vector<float> gate_w_;  // the gate-scaled plain weights of a folding run
    std::vector<std::unique_ptr<State>> states_;
    State* cur_ = nullptr;
    std::vector<std::pair<md_t, dnnl::memory>> weights_;
    dnnl::memory bias_;
    std::unique_ptr<std::pair<int32_t, dnnl::memory>> zp_src_, zp_dst_;
};

void add_conv(runtime::KernelRegistry& reg, const char* op, const char* domain, bool transpose, bool quantized) {
    add_kernel(
        reg, op,
        [=](const ir::Node& n) -> Status {
            QAT_RETURN_IF_ERROR(supports_conv(n, transpose, quantized));
            ConvDesc c;
            QAT_RETURN_IF_ERROR(parse_conv(n, transpose, quantized, &c));
            ConvKernel k(n, std::move(c));
            return k.probe();
        },
        [=](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
            ConvDesc c;
            QAT_RETURN_IF_ERROR(parse_conv(n, transpose, quantized, &c));
            return std::unique_ptr<runtime::Kernel>(new ConvKernel(n, std::move(c)));
        },
        domain);
}

}  // namespace

void register_conv(runtime::KernelRegistry& reg) {
    add_conv(reg, "Conv", "", false, false);
    add_conv(reg, "ConvTranspose", "", true, false);
    add_conv(reg, ir::fused::kQConv, ir::fused::kDomain, false, true);
    add_conv(reg, ir::fused::kQConvTranspose, ir::fused::kDomain, true, true);
    add_conv(reg, ir::fused::kFusedConv, ir::fused::kDomain, false, false);
}

}  // namespace qat::onednn
