// Gemm, MatMul (FP32) and QGemm (INT8 with fused post-ops) on oneDNN's matmul primitive.
//
// Constant weights are prepacked once into the layout the primitive chose; transposed operands
// are described with strides instead of being copied. Inputs and outputs are plain row-major
// (a u8-stored int8 input is read as u8), so these ops sit at layout boundaries for free.
#include <cmath>
#include <cstring>

#include "backends/onednn/gemv_f32.h"
#include "backends/onednn/gemv_int8.h"
#include "backends/onednn/onednn_common.h"
#include "ir/fused_ops.h"

namespace qat::onednn {
namespace {

enum class Kind { kGemm, kMatMul, kQGemm };

// 2-D desc of a row-major [rows, cols] buffer, optionally read transposed.
md_t matrix_md(int64_t rows, int64_t cols, dt type, bool transposed) {
    if (!transposed) return md_t({rows, cols}, type, dnnl::memory::dims{cols, 1});
    return md_t({cols, rows}, type, dnnl::memory::dims{1, cols});
}

Status supports_matmul(const ir::Node& n, Kind kind) {
    if (kind == Kind::kGemm) {
        for (size_t i = 0; i < 2; ++i) {
            DataType t = input_dtype(n, i);
            if (t != DataType::kUndefined && t != DataType::kFloat32)
                return unsupported("input ", i, " is ", dtype_name(t));
        }
        if (n.attr_float("alpha", 1.0f) == 0.0f) return unsupported("alpha = 0");
        if (n.input(2) && !n.input(2)->is_constant() && n.attr_float("beta", 1.0f) != 1.0f)
            return unsupported("non-constant C with beta != 1");
        if (n.input(2) && n.input(2)->is_constant() && n.input(2)->constant().dtype() != DataType::kFloat32)
            return unsupported("C is not f32");
        return OkStatus();
    }
    if (kind == Kind::kMatMul) {
        for (size_t i = 0; i < 2; ++i) {
            const ir::Value* v = n.input(i);
            if (!v) return invalid_argument("input ", i, " is missing");
            if (v->dtype() != DataType::kUndefined && v->dtype() != DataType::kFloat32)
                return unsupported("input ", i, " is ", dtype_name(v->dtype()));
            if (v->shape().rank_known() && v->shape().rank() < 2)
                return unsupported("1-D MatMul operand (input ", i, ")");
            if (v->shape().rank_known() && v->shape().rank() > 12) return unsupported("rank above 12");
        }
        return OkStatus();
    }
    // QGemm
    QAT_RETURN_IF_ERROR(require_constant(n, 1, "weights"));
    const Tensor& w = n.input(1)->constant();
    if (w.dtype() != DataType::kInt8) return unsupported("weights are ", dtype_name(w.dtype()), ", expected i8");
    if (w.rank() != 2) return unsupported("weights of rank ", w.rank(), ", expected 2");
    bool trans_b = n.attr_int("trans_b", 0) != 0;
    int64_t nout = trans_b ? w.dim(0) : w.dim(1);
    QParams p;
    QAT_RETURN_IF_ERROR(parse_qparams(n, static_cast<size_t>(nout), &p));
    DataType xt = input_dtype(n, 0);
    if (xt != DataType::kUndefined && !is_quantized_type(xt))
        return unsupported("input is ", dtype_name(xt), ", expected i8 or u8");
    if (n.input(2)) {
        QAT_RETURN_IF_ERROR(require_constant(n, 2, "bias"));
        const Tensor& b = n.input(2)->constant();
        if (b.dtype() != DataType::kFloat32 || b.numel() != nout)
            return invalid_argument("bias must be f32 with ", nout, " elements, got ", b.desc());
    }
    DataType rt = input_dtype(n, 3);
    if (p.has_residual() && rt != DataType::kUndefined && rt != DataType::kFloat32 && !is_quantized_type(rt))
        return unsupported("residual is ", dtype_name(rt));
    return OkStatus();
}

class MatMulKernel : public OnednnKernel {
  public:
    MatMulKernel(const ir::Node& n, Kind kind) : OnednnKernel(n), kind_(kind) {
        if (kind_ == Kind::kQGemm) {
            const Tensor& w = n.input(1)->constant();
            trans_b_ = n.attr_int("trans_b", 0) != 0;
            Status s = parse_qparams(n, static_cast<size_t>(trans_b_ ? w.dim(0) : w.dim(1)), &q_, &info_);
            QAT_ASSERT(s.ok(), "supports() accepted ", n.desc(), ": ", s.message());
        } else if (kind_ == Kind::kGemm) {
            trans_a_ = n.attr_int("transA", 0) != 0;
            trans_b_ = n.attr_int("transB", 0) != 0;
            alpha_ = n.attr_float("alpha", 1.0f);
            beta_ = n.attr_float("beta", 1.0f);
        }
    }
    size_t prepacked_bytes() const override {
        return (weights_ ? weights_.get_desc().get_size() : 0) + gemv8_.packed_bytes();
    }

  protected:
    struct State {
        std::vector<int64_t> a_dims, b_dims;
        int threads = 0;  // prepare_threads() it was built for (the primitive's split)
        md_t a_in, b_in, c_in;
        bool a_reorder = false, c_reorder = false;
        md_t src_md, wei_md, dst_md, bias_md, c_md;
        std::vector<int64_t> out_dims;
        dnnl::primitive prim;
        Epilogue epi;
        std::shared_ptr<void> a_scratch, c_scratch;
        MemCache a_mem, src_mem, b_mem, dst_mem, c_mem, c_plain_mem, a_plain_mem, c_scratch_mem;
        ReorderCache a_reorder_prim, c_reorder_prim;
        std::unordered_map<int, dnnl::memory> args;  // kept between runs (same keys each run)
        bool gemv = false;                           // gemv_f32.h's loop instead of the primitive
        bool gemv8 = false;                          // gemv_int8.h's (QGemm)
        int64_t m = 0;                               // rows of A (gemv, gemv8)
    };

    std::string implementation() const override {
        if (cur_ && cur_->gemv) return "qat:gemv_f32";
        return cur_ && cur_->gemv8 ? "qat:gemv_int8" : std::string();
    }

    Status do_prepare(const std::vector<const Tensor*>& in, const std::vector<md_t>& mds) override {
        const Tensor* a = in[0];
        const Tensor* b = in[1];
        if (!a || !b) return runtime::kernel_error(node_, "missing input");
        const bool q = kind_ == Kind::kQGemm;
        if (q ? !is_quantized_type(a->dtype()) : a->dtype() != DataType::kFloat32)
            return runtime::kernel_error(node_, "input 0 is ", dtype_name(a->dtype()));
        md_t c_in = in.size() > (q ? 3u : 2u) && in[q ? 3 : 2] ? mds[q ? 3 : 2] : md_t();
        for (auto& s : states_)
            if (s->a_dims == a->dims() && s->b_dims == b->dims() && s->a_in == mds[0] && s->b_in == mds[1] &&
                s->c_in == c_in && s->threads == prepare_threads()) {
                cur_ = s.get();
                return OkStatus();
            }
        auto st = std::make_unique<State>();
        st->a_dims = a->dims();
        st->threads = prepare_threads();
        st->b_dims = b->dims();
        st->a_in = mds[0];
        st->b_in = mds[1];
        st->c_in = c_in;
        const dnnl::engine& eng = cpu_engine();
        const bool b_const = node_.input(1)->is_constant();
        dt a_t = q ? mds[0].data_type() : dt::f32;
        // Operands are read row-major: a non-plain source is reordered to plain first.
        md_t a_plain = plain_md(a->dims(), a_t);
        st->a_reorder = !(mds[0] == a_plain);
        if (st->a_reorder) st->a_scratch = aligned_alloc_bytes(a_plain.get_size());
        if (!b_const && !(mds[1] == plain_md(b->dims(), dt::f32)))
            return runtime::kernel_error(node_, "input 1 arrives in a layout this kernel does not read");

        dnnl::primitive_attr attr;
        dnnl::memory::dims src_d, wei_d;
        md_t src_md, wei_user;
        int64_t n_out = 0;
        if (kind_ == Kind::kMatMul) {
            if (a->rank() < 2 || b->rank() < 2)
                return runtime::kernel_error(node_, "1-D operand: ", dims_to_string(a->dims()), " x ",
                                             dims_to_string(b->dims()));
            int64_t k = a->dims().back();
            if (b->dim(b->rank() - 2) != k)
                return runtime::kernel_error(node_, "shapes ", dims_to_string(a->dims()), " and ",
                                             dims_to_string(b->dims()), " do not multiply");
            n_out = b->dims().back();
            if (b_const && b->rank() == 2) {
                // Constant 2-D weights: fold A's leading dims into M (one big GEMM).
                int64_t m = a->numel() / k;
                src_md = md_t({m, k}, dt::f32, dnnl::memory::dims{k, 1});
                wei_user = plain_md(b->dims(), dt::f32);
                st->dst_md = md_t({m, n_out}, dt::f32, dnnl::memory::dims{n_out, 1});
                st->out_dims = a->dims();
                st->out_dims.back() = n_out;
            } else {
                size_t r = std::max(a->rank(), b->rank());
                std::vector<int64_t> ad(r - a->rank(), 1), bd(r - b->rank(), 1);
                ad.insert(ad.end(), a->dims().begin(), a->dims().end());
                bd.insert(bd.end(), b->dims().begin(), b->dims().end());
                std::vector<int64_t> od(r);
                for (size_t i = 0; i + 2 < r; ++i) {
                    if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
                        return runtime::kernel_error(node_, "batch dims of ", dims_to_string(a->dims()), " and ",
                                                     dims_to_string(b->dims()), " do not broadcast");
                    od[i] = std::max(ad[i], bd[i]);
                }
                od[r - 2] = ad[r - 2];
                od[r - 1] = n_out;
                src_md = plain_md(ad, dt::f32);
                wei_user = plain_md(bd, dt::f32);
                st->dst_md = plain_md(od, dt::f32);
                st->out_dims = std::vector<int64_t>(od.end() - std::max(a->rank(), b->rank()), od.end());
            }
        } else {
            // Gemm / QGemm: A is [M, K] (QGemm: [..., K] with leading dims folded).
            int64_t m, k;
            if (kind_ == Kind::kGemm) {
                if (a->rank() != 2 || b->rank() != 2)
                    return runtime::kernel_error(node_, "Gemm needs 2-D inputs, got ", dims_to_string(a->dims()),
                                                 " and ", dims_to_string(b->dims()));
                m = trans_a_ ? a->dim(1) : a->dim(0);
                k = trans_a_ ? a->dim(0) : a->dim(1);
            } else {
                if (a->rank() < 1) return runtime::kernel_error(node_, "scalar input");
                k = a->dims().back();
                m = a->numel() / std::max<int64_t>(k, 1);
            }
            int64_t kb = trans_b_ ? b->dim(1) : b->dim(0);
            n_out = trans_b_ ? b->dim(0) : b->dim(1);
            if (kb != k)
                return runtime::kernel_error(node_, "inner dims differ: ", dims_to_string(a->dims()), " and weights ",
                                             dims_to_string(b->dims()), trans_b_ ? " (transposed)" : "");
            src_md = matrix_md(trans_a_ ? k : m, trans_a_ ? m : k, a_t, trans_a_);
            wei_user = matrix_md(trans_b_ ? n_out : k, trans_b_ ? k : n_out, q ? dt::s8 : dt::f32, trans_b_);
            if (kind_ == Kind::kGemm) {
                st->out_dims = {m, n_out};
            } else {
                st->out_dims = a->dims();
                st->out_dims.back() = n_out;
            }
            st->dst_md = md_t({m, n_out}, dt::f32, dnnl::memory::dims{n_out, 1});
        }
        if (gemv_candidate(*a, *b, in, st->out_dims)) {
            st->gemv = true;
            st->m = st->out_dims[0];
            if (probing_) return OkStatus();  // as for the primitive: a probe keeps no state
            if (!gemv_.ready()) {
                const Tensor* c = node_.input(2) ? &node_.input(2)->constant() : nullptr;
                std::vector<float> bias;
                if (c) {
                    bias.assign(static_cast<size_t>(n_out), 0.0f);
                    for (int64_t j = 0; j < n_out; ++j)
                        bias[static_cast<size_t>(j)] = beta_ * c->data<float>()[c->numel() == 1 ? 0 : j];
                }
                gemv_.init(b->data<float>(), n_out, trans_b_ ? b->dim(1) : b->dim(0), trans_b_,
                           c ? bias.data() : nullptr, alpha_);
            }
            cur_ = keep_state(states_, std::move(st));
            return OkStatus();
        }
        if (gemv8_candidate(*b, st->out_dims)) {
            st->gemv8 = true;
            st->m = numel_of(st->out_dims) / st->out_dims.back();
            if (probing_) return OkStatus();
            const bool x_u8 = a_t == dt::u8;
            if (!gemv8_.ready() || gemv8_.x_is_u8() != x_u8) {
                const float* bias = node_.input(2) ? node_.input(2)->constant().data<float>() : nullptr;
                gemv8_.init(b->data<int8_t>(), n_out, trans_b_ ? b->dim(1) : b->dim(0), trans_b_, bias, info_, x_u8);
            }
            cur_ = keep_state(states_, std::move(st));
            return OkStatus();
        }
        md_t wei_any = b_const ? md_t(wei_user.dims(), wei_user.data_type(), tag::any) : wei_user;

        // Bias / C.
        md_t bias_md;
        if (kind_ == Kind::kQGemm) {
            bias_md = md_t({1, n_out}, dt::f32, tag::ab);
            QAT_ASSIGN_OR_RETURN(st->epi, build_epilogue(q_, 1 << 1, c_in ? &c_in : nullptr));
            attr = st->epi.attr;
            st->dst_md = md_t(st->dst_md.dims(), st->epi.dst_type, dnnl::memory::dims{n_out, 1});
            if (q_.has_residual()) {
                // The residual must be row-major [M, N] like the output.
                md_t r_plain = plain_md(in[3]->dims(), c_in.data_type());
                if (in[3]->numel() != numel_of(st->out_dims))
                    return runtime::kernel_error(node_, "residual has shape ", dims_to_string(in[3]->dims()),
                                                 ", output has ", dims_to_string(st->out_dims));
                st->c_reorder = !(c_in == r_plain);
                if (st->c_reorder) st->c_scratch = aligned_alloc_bytes(r_plain.get_size());
                st->c_md = md_t(st->dst_md.dims(), c_in.data_type(), dnnl::memory::dims{n_out, 1});
                if (st->epi.residual == Epilogue::Residual::kBinary) {
                    // Rebuild with a 2-D residual desc.
                    QAT_ASSIGN_OR_RETURN(st->epi, build_epilogue(q_, 1 << 1, &st->c_md));
                    attr = st->epi.attr;
                }
            }
        } else if (kind_ == Kind::kGemm) {
            if (alpha_ != 1.0f) attr.set_output_scales(0, {alpha_});
            if (node_.input(2)) {
                const Tensor* c = in[2];
                std::vector<int64_t> cd = c->dims();
                while (cd.size() < 2) cd.insert(cd.begin(), 1);
                if (cd.size() != 2 || (cd[0] != 1 && cd[0] != st->out_dims[0]) || (cd[1] != 1 && cd[1] != n_out))
                    return runtime::kernel_error(node_, "C of shape ", dims_to_string(c->dims()),
                                                 " does not broadcast to ", dims_to_string(st->out_dims));
                if (node_.input(2)->is_constant()) {
                    bias_md = md_t({cd[0], cd[1]}, dt::f32, tag::ab);
                } else {
                    // dst = alpha*A*B, then + C (beta == 1, checked by supports()).
                    if (!(c_in == plain_md(c->dims(), dt::f32)))
                        return runtime::kernel_error(node_, "C arrives in a layout this kernel does not read");
                    st->c_md = md_t({cd[0], cd[1]}, dt::f32, tag::ab);
                    dnnl::post_ops po;
                    po.append_binary(dnnl::algorithm::binary_add, st->c_md);
                    attr.set_post_ops(po);
                    st->epi.residual = Epilogue::Residual::kBinary;
                    st->epi.binary_index = 0;
                }
            }
        }
        auto d = dnnl::matmul::desc(src_md, wei_any, bias_md, st->dst_md);
        dnnl::matmul::primitive_desc pd(d, attr, eng);
        note_impl(node_, "matmul", pd.impl_info_str());
        st->src_md = pd.src_desc();
        st->wei_md = pd.weights_desc();
        st->bias_md = bias_md;
        if (probing_) return OkStatus();
        st->prim = dnnl::matmul(pd);
        if (b_const) {
            if (!weights_ || !(weights_.get_desc() == st->wei_md)) {
                weights_ = dnnl::memory(st->wei_md, eng);
                reorder_into(dnnl::memory(wei_user, eng, const_cast<void*>(b->raw_data())), weights_);
            }
        }
        if (bias_md && !bias_) {
            bias_ = dnnl::memory(bias_md, eng);
            float* bp = static_cast<float*>(bias_.get_data_handle());
            if (kind_ == Kind::kQGemm) {
                const Tensor* bt = node_.input(2) ? &node_.input(2)->constant() : nullptr;
                for (int64_t j = 0; j < n_out; ++j) {
                    float ws = q_.w_scales.size() == 1 ? q_.w_scales[0] : q_.w_scales[j];
                    bp[j] = bt ? bt->data<float>()[j] / (q_.x_scale * ws) : 0.0f;  // before the output scale
                }
            } else {
                // dst = alpha * (A*B + bias): bias = beta * C / alpha.
                const Tensor& c = node_.input(2)->constant();
                for (int64_t j = 0; j < c.numel(); ++j) bp[j] = beta_ * c.data<float>()[j] / alpha_;
            }
        }
        cur_ = keep_state(states_, std::move(st));
        return OkStatus();
    }

    Status do_run(runtime::KernelContext& ctx) override {
        State& st = *cur_;
        const bool q = kind_ == Kind::kQGemm;
        const Tensor& a = *ctx.input(0);
        auto& args = st.args;
        const void* a_data = a.raw_data();
        if (st.a_reorder) {
            md_t a_plain = plain_md(a.dims(), st.a_in.data_type());
            st.a_reorder_prim.run(st.a_mem.get(st.a_in, a.raw_data()), st.a_plain_mem.get(a_plain, st.a_scratch.get()));
            a_data = st.a_scratch.get();
        }
        if (st.gemv) {
            md_t out_md = plain_md(st.out_dims, dt::f32);
            Tensor* out = make_output(ctx, 0, DataType::kFloat32, st.out_dims, out_md);
            gemv_.run(static_cast<const float*>(a_data), st.m, out->data<float>(), ctx.num_threads());
            return declare_layout(ctx, 0, out_md);
        }
        if (st.gemv8) {
            md_t out_md = plain_md(st.out_dims, to_dnnl(q_.out_type()));
            Tensor* out = make_output(ctx, 0, q_.out_type(), st.out_dims, out_md);
            gemv8_.run(a_data, st.m, out->raw_data(), ctx.num_threads());
            return declare_layout(ctx, 0, out_md);
        }
        args[DNNL_ARG_SRC] = st.src_mem.get(st.src_md, a_data);
        args[DNNL_ARG_WEIGHTS] = weights_ ? weights_ : st.b_mem.get(st.wei_md, ctx.input(1)->raw_data());
        if (bias_) args[DNNL_ARG_BIAS] = bias_;
        DataType out_t = q ? q_.out_type() : DataType::kFloat32;
        md_t out_md = plain_md(st.out_dims, st.dst_md.data_type());
        Tensor* out = nullptr;
        const size_t ci = q ? 3 : 2;
        const void* c_data = nullptr;
        if (st.c_md) {
            const Tensor& c = *ctx.input(ci);
            c_data = c.raw_data();
            if (st.c_reorder) {
                st.c_reorder_prim.run(
                    st.c_mem.get(st.c_in, c.raw_data()),
                    st.c_scratch_mem.get(plain_md(c.dims(), st.c_in.data_type()), st.c_scratch.get()));
                c_data = st.c_scratch.get();
            }
        }
        if (st.epi.residual == Epilogue::Residual::kSum) {
            if (!st.c_reorder) out = output_over_input(ctx, ci, out_t, st.out_dims);
            if (!out) {
                out = make_output(ctx, 0, out_t, st.out_dims, out_md);
                std::memcpy(out->raw_data(), c_data, st.c_md.get_size());
            }
        } else {
            out = make_output(ctx, 0, out_t, st.out_dims, out_md);
            if (st.epi.residual == Epilogue::Residual::kBinary)
                args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(st.epi.binary_index) | DNNL_ARG_SRC_1] =
                    st.c_plain_mem.get(st.c_md, c_data);
        }
        args[DNNL_ARG_DST] = st.dst_mem.get(st.dst_md, out->raw_data());
        if (q) {
            if (q_.x_zero_point != 0) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp(zp_src_, q_.x_zero_point);
            if (st.epi.dst_zero_point) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = zp(zp_dst_, q_.y_zero_point);
        }
        st.prim.execute(cpu_stream(), args);
        cpu_stream().wait();
        return declare_layout(ctx, 0, out_md);
    }

  private:
    // An FP32 Gemm of at most kGemvF32MaxRows rows of A (not transposed) against constant weights
    // of kGemvF32MinMacs or more per row, C constant and one value or one per output (or none).
    bool gemv_candidate(const Tensor& a, const Tensor& b, const std::vector<const Tensor*>& in,
                        const std::vector<int64_t>& out_dims) const {
        if (kind_ != Kind::kGemm || trans_a_ || !node_.input(1)->is_constant() || b.dtype() != DataType::kFloat32)
            return false;
        if (out_dims.size() != 2 || out_dims[0] > kGemvF32MaxRows || a.dim(1) * out_dims[1] < kGemvF32MinMacs)
            return false;
        if (!node_.input(2)) return true;
        const Tensor* c = in.size() > 2 ? in[2] : nullptr;
        return node_.input(2)->is_constant() && c &&
               (c->numel() == 1 ||
                (c->numel() == out_dims[1] && c->dims().size() >= 1 && c->dims().back() == out_dims[1]));
    }

    // A QGemm of at most kGemvInt8MaxRows rows (leading dims folded) and kGemvInt8MinMacs or more
    // per row that gemv_int8.h's loop runs (no post-ops, no residual).
    bool gemv8_candidate(const Tensor& b, const std::vector<int64_t>& out_dims) const {
        if (kind_ != Kind::kQGemm || !node_.input(1)->is_constant() || out_dims.empty()) return false;
        const int64_t n = out_dims.back(), k = trans_b_ ? b.dim(1) : b.dim(0);
        if (n <= 0 || numel_of(out_dims) / n > kGemvInt8MaxRows || k * n < kGemvInt8MinMacs) return false;
        return gemv_int8_fits(info_, k);
    }

    static dnnl::memory zp(std::unique_ptr<std::pair<int32_t, dnnl::memory>>& slot, int32_t v) {
        if (!slot) {
            slot = std::make_unique<std::pair<int32_t, dnnl::memory>>(v, dnnl::memory());
            slot->second = dnnl::memory(md_t({1}, dt::s32, tag::x), cpu_engine(), &slot->first);
        }
        return slot->second;
    }

    Kind kind_;
    bool trans_a_ = false, trans_b_ = false;
    float alpha_ = 1, beta_ = 1;
    QParams q_;
    ir::fused::FusedOpInfo info_;  // QGemm: the attributes as ir::fused reads them (gemv8_)
    std::vector<std::unique_ptr<State>> states_;
    State* cur_ = nullptr;
    dnnl::memory weights_, bias_;
    std::unique_ptr<std::pair<int32_t, dnnl::memory>> zp_src_, zp_dst_;
    GemvF32 gemv_;    // the weights for every state that takes the loop
    GemvInt8 gemv8_;  // likewise (QGemm)
};

void add_matmul(runtime::KernelRegistry& reg, const char* op, const char* domain, Kind kind) {
    add_kernel(
        reg, op,
        [=](const ir::Node& n) -> Status {
            QAT_RETURN_IF_ERROR(supports_matmul(n, kind));
            MatMulKernel k(n, kind);
            return k.probe();
        },
        [=](const ir::Node& n) -> Result<std::unique_ptr<runtime::Kernel>> {
            return std::unique_ptr<runtime::Kernel>(new MatMulKernel(n, kind));
        },
        domain);
}

}  // namespace

void register_matmul(runtime::KernelRegistry& reg) {
    add_matmul(reg, "Gemm", "", Kind::kGemm);
    add_matmul(reg, "MatMul", "", Kind::kMatMul);
    add_matmul(reg, ir::fused::kQGemm, ir::fused::kDomain, Kind::kQGemm);
}

}  // namespace qat::onednn
