#include "backends/onednn/onednn_common.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/logging.h"
#include "ir/fused_ops.h"

namespace qat::onednn {

dnnl::engine& cpu_engine() {
    static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    return eng;
}

dnnl::stream& cpu_stream() {
    thread_local dnnl::stream s(cpu_engine());
    return s;
}

void set_num_threads(int n) {
    if (n < 1) n = 1;
    if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

dt to_dnnl(DataType t) {
    switch (t) {
        case DataType::kFloat32:
            return dt::f32;
        case DataType::kFloat16:
            return dt::f16;
        case DataType::kInt8:
            return dt::s8;
        case DataType::kUint8:
            return dt::u8;
        case DataType::kInt32:
            return dt::s32;
        default:
            return dt::undef;
    }
}

DataType from_dnnl(dt t) {
    switch (t) {
        case dt::f32:
            return DataType::kFloat32;
        case dt::f16:
            return DataType::kFloat16;
        case dt::s8:
            return DataType::kInt8;
        case dt::u8:
            return DataType::kUint8;
        case dt::s32:
            return DataType::kInt32;
        default:
            return DataType::kUndefined;
    }
}

dnnl::memory::dims to_dims(const std::vector<int64_t>& dims) {
    if (dims.empty()) return {1};
    return dnnl::memory::dims(dims.begin(), dims.end());
}

md_t plain_md(const std::vector<int64_t>& dims, dt type) {
    dnnl::memory::dims d = to_dims(dims);
    dnnl::memory::dims strides(d.size(), 1);
    for (int i = static_cast<int>(d.size()) - 2; i >= 0; --i)
        strides[i] = strides[i + 1] * std::max<int64_t>(d[i + 1], 1);
    return md_t(d, type, strides);
}

md_t with_type(const md_t& md, dt type) {
    dnnl_memory_desc_t c = md.data;
    c.data_type = static_cast<dnnl_data_type_t>(type);
    return md_t(c);
}

bool is_plain(const md_t& md) {
    // Equal to plain_md(dims, type) by oneDNN's rules (a size-1 dim's stride does not count),
    // checked on the fields: it runs twice per kernel run, and building that desc to compare
    // cost more than some small kernels.
    const dnnl_memory_desc_t& d = md.data;
    if (d.format_kind != dnnl_blocked || d.offset0 != 0 || d.extra.flags != 0) return false;
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    if (b.inner_nblks != 0) return false;
    int64_t stride = 1;
    for (int i = d.ndims - 1; i >= 0; --i) {
        if (d.padded_dims[i] != d.dims[i] || d.padded_offsets[i] != 0) return false;
        if (d.dims[i] != 1 && b.strides[i] != stride) return false;
        stride *= std::max<int64_t>(d.dims[i], 1);
    }
    return d.ndims > 0;
}

bool is_channels_last(const md_t& md) { return md.data.ndims == 4 && md == md_t(md.dims(), md.data_type(), tag::acdb); }

std::string md_to_string(const md_t& md) {
    const char* type = "?";
    switch (md.data_type()) {
        case dt::f32:
            type = "f32";
            break;
        case dt::s8:
            type = "s8";
            break;
        case dt::u8:
            type = "u8";
            break;
        case dt::s32:
            type = "s32";
            break;
        case dt::f16:
            type = "f16";
            break;
        default:
            break;
    }
    if (md.data.format_kind != dnnl_blocked) return std::string("opaque ") + type;
    if (is_plain(md)) return std::string("plain ") + type;
    const auto& blk = md.data.format_desc.blocking;
    int nd = md.data.ndims;
    std::vector<int> order(nd);
    std::iota(order.begin(), order.end(), 0);
    // Outer dims from the largest stride to the smallest (ties keep logical order).
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return blk.strides[a] > blk.strides[b]; });
    std::vector<bool> blocked(nd, false);
    for (int i = 0; i < blk.inner_nblks; ++i) blocked[blk.inner_idxs[i]] = true;
    std::string s;
    for (int d : order) s += static_cast<char>((blocked[d] ? 'A' : 'a') + d);
    for (int i = 0; i < blk.inner_nblks; ++i)
        s += std::to_string(blk.inner_blks[i]) + static_cast<char>('a' + blk.inner_idxs[i]);
    return s + " " + type;
}

std::string OnednnLayout::desc() const { return std::string("onednn:") + md_to_string(md_); }

bool OnednnLayout::equals(const runtime::Layout& other) const {
    const auto* o = dynamic_cast<const OnednnLayout*>(&other);
    return o && o->md_ == md_;
}

runtime::LayoutPtr OnednnLayout::with_batch(int64_t n) const {
    const dnnl_memory_desc_t& d = md_.data;
    if (d.format_kind != dnnl_blocked || d.format_desc.blocking.inner_nblks != 0 || d.ndims < 1 || n < 1)
        return nullptr;
    // Dense with dimension 0 outermost: its stride is the item's element count and the md's size
    // that of the elements.
    int64_t item = 1;
    for (int i = 1; i < d.ndims; ++i) item *= d.dims[i];
    const auto& strides = d.format_desc.blocking.strides;
    if (d.offset0 != 0 || strides[0] != item ||
        md_.get_size() != static_cast<size_t>(item * d.dims[0]) * dnnl::memory::data_type_size(md_.data_type()))
        return nullptr;
    dnnl::memory::dims dims = md_.dims(), st(strides, strides + d.ndims);
    dims[0] = n;
    try {
        return std::make_shared<OnednnLayout>(md_t(dims, md_.data_type(), st));
    } catch (const dnnl::error&) {
        return nullptr;
    }
}

namespace {

// Whether every element of a blocked md sits where the row-major desc of the same dims puts it:
// no block, or one inner block of B on a dimension d whose following dimensions are all 1 (so its
// row-major stride is 1) with outer stride B, e.g. the aBcd16b output of a global pool (N x C x 1 x
// 1, C a multiple of 16); every other dimension of size > 1 at its row-major stride.
bool same_bytes_as_plain(const md_t& md) {
    const dnnl_memory_desc_t& d = md.data;
    if (d.format_kind != dnnl_blocked || d.offset0 != 0 || d.ndims < 1) return false;
    const auto& b = d.format_desc.blocking;
    if (b.inner_nblks > 1) return false;
    const int bd = b.inner_nblks == 1 ? b.inner_idxs[0] : -1;
    const int64_t bs = b.inner_nblks == 1 ? b.inner_blks[0] : 1;
    int64_t plain_stride = 1;
    for (int i = d.ndims - 1; i >= 0; --i) {
        if (d.padded_dims[i] != d.dims[i]) return false;
        if (i == bd) {
            if (plain_stride != 1 || b.strides[i] != bs || d.dims[i] % bs != 0) return false;
        } else if (d.dims[i] > 1 && b.strides[i] != plain_stride) {
            return false;
        }
        plain_stride *= d.dims[i];
    }
    return true;
}

}  // namespace

Result<Tensor> OnednnLayout::to_plain(const Tensor& src, runtime::Allocator* allocator, int num_threads) const {
    try {
        md_t target = plain_md(src.dims(), md_.data_type());
        if (target == md_ || same_bytes_as_plain(md_)) {
            // Already row-major (a u8-stored int8 tensor, or a blocked layout with the bytes of the
            // row-major one): same bytes, logical dtype.
            if (src.storage()) return Tensor::from_storage(src.dtype(), src.dims(), src.storage());
            return Tensor::wrap(src.dtype(), src.dims(), const_cast<void*>(src.raw_data()));
        }
        set_num_threads(num_threads);
        Tensor out = allocator ? allocator->allocate(src.dtype(), src.dims()) : Tensor::empty(src.dtype(), src.dims());
        reorder_into(mem(md_, src), mem(target, out));
        return out;
    } catch (const dnnl::error& e) {
        return internal_error("oneDNN reorder from ", desc(), " to plain failed: ", e.what());
    }
}

md_t input_md(const Tensor& t, const runtime::Layout* layout) {
    if (const auto* l = dynamic_cast<const OnednnLayout*>(layout)) return l->md();
    return plain_md(t.dims(), to_dnnl(t.dtype()));
}

Tensor* make_output(runtime::KernelContext& ctx, size_t i, DataType dtype, const std::vector<int64_t>& dims,
                    const md_t& md) {
    if (is_plain(md) && md.data_type() == to_dnnl(dtype)) return &ctx.allocate_output(i, dtype, dims);
    return &ctx.allocate_output_bytes(i, dtype, dims, md.get_size());
}

Tensor* output_over_input(runtime::KernelContext& ctx, size_t i, DataType dtype, const std::vector<int64_t>& dims) {
    const Tensor& in = *ctx.input(i);
    if (!ctx.can_overwrite_input(i) || !in.storage()) return nullptr;
    ctx.set_output(0, Tensor::from_storage(dtype, dims, in.storage()));
    return &ctx.output(0);
}

dnnl::memory mem(const md_t& md, const Tensor& t) {
    return dnnl::memory(md, cpu_engine(), const_cast<void*>(t.raw_data()));
}

dnnl::memory& MemCache::get(const md_t& md, const void* data) {
    if (!has_ || m_.get_desc() != md) {
        m_ = dnnl::memory(md, cpu_engine(), const_cast<void*>(data));
        has_ = true;
    } else {
        m_.set_data_handle(const_cast<void*>(data));
    }
    return m_;
}

void reorder_into(const dnnl::memory& src, const dnnl::memory& dst) {
    dnnl::reorder r(src, dst);
    r.execute(cpu_stream(), const_cast<dnnl::memory&>(src), const_cast<dnnl::memory&>(dst));
    cpu_stream().wait();
}

void ReorderCache::run(const dnnl::memory& src, const dnnl::memory& dst) {
    md_t s = src.get_desc(), d = dst.get_desc();
    if (!has_ || !(s == src_) || !(d == dst_)) {
        r_ = dnnl::reorder(src, dst);
        src_ = s;
        dst_ = d;
        has_ = true;
    }
    r_.execute(cpu_stream(), const_cast<dnnl::memory&>(src), const_cast<dnnl::memory&>(dst));
}

void note_impl(const ir::Node& node, const char* what, const char* impl_info) {
    if (impl_info && std::strncmp(impl_info, "ref", 3) == 0) {
        QAT_VLOG("dispatch") << "onednn: " << node.desc() << ": " << what << " runs oneDNN's reference implementation ("
                             << impl_info << "): slow";
    }
}

// ---- kernel base ----

Status OnednnKernel::prepare(const std::vector<const Tensor*>& inputs) {
    return prepare_with_layouts(inputs, std::vector<const runtime::Layout*>(inputs.size(), nullptr));
}

Status OnednnKernel::prepare_with_layouts(const std::vector<const Tensor*>& inputs,
                                          const std::vector<const runtime::Layout*>& layouts) {
    // Primitives split their work for the thread count they are built under.
    if (prepare_threads() > 0) set_num_threads(prepare_threads());
    fixed_.clear();  // the descs may change now
    try {
        std::vector<md_t> mds(inputs.size());
        for (size_t i = 0; i < inputs.size(); ++i)
            if (inputs[i]) {
                if (to_dnnl(inputs[i]->dtype()) == dt::undef && !dynamic_cast<const OnednnLayout*>(layouts[i]))
                    continue;  // e.g. i64 shape inputs: the kernel reads them directly
                mds[i] = input_md(*inputs[i], i < layouts.size() ? layouts[i] : nullptr);
            }
        return do_prepare(inputs, mds);
    } catch (const dnnl::error& e) {
        return runtime::kernel_error(node_, "oneDNN could not build the primitive: ", e.what());
    }
}

Status OnednnKernel::declare_layout(runtime::KernelContext& ctx, size_t i, const md_t& md) {
    if (is_plain(md) && md.data_type() == to_dnnl(ctx.output(i).dtype())) return ctx.set_output_layout(i, nullptr);
    if (out_layouts_.size() <= i) out_layouts_.resize(i + 1);
    auto& l = out_layouts_[i];
    if (!l || !(l->md() == md)) l = std::make_shared<OnednnLayout>(md);
    return ctx.set_output_layout(i, l);
}

const OnednnKernel::FixedDesc& OnednnKernel::fixed(const md_t& md, DataType dtype) {
    for (const FixedDesc& f : fixed_)
        if (f.md == &md && f.dtype == dtype) return f;
    FixedDesc f{&md, dtype, is_plain(md) && md.data_type() == to_dnnl(dtype), md.get_size(), nullptr};
    if (!f.plain) f.layout = std::make_shared<OnednnLayout>(md);
    fixed_.push_back(std::move(f));
    return fixed_.back();
}

Tensor* OnednnKernel::make_fixed_output(runtime::KernelContext& ctx, size_t i, DataType dtype,
                                        const std::vector<int64_t>& dims, const md_t& md) {
    const FixedDesc& f = fixed(md, dtype);
    if (f.plain) return &ctx.allocate_output(i, dtype, dims);
    return &ctx.allocate_output_bytes(i, dtype, dims, f.bytes);
}

Status OnednnKernel::declare_fixed_layout(runtime::KernelContext& ctx, size_t i, const md_t& md) {
    const FixedDesc& f = fixed(md, ctx.output(i).dtype());
    return ctx.set_output_layout(i, f.layout);
}

Status OnednnKernel::run(runtime::KernelContext& ctx) {
    set_num_threads(ctx.num_threads());
    try {
        return do_run(ctx);
    } catch (const dnnl::error& e) {
        return runtime::kernel_error(node_, "oneDNN failed: ", e.what());
    }
}

Status OnednnKernel::probe(int64_t unknown_dim) {
    std::vector<Tensor> fake;
    for (size_t i = 0; i < node_.num_inputs(); ++i) {
        const ir::Value* v = node_.input(i);
        if (!v) {
            fake.emplace_back();
            continue;
        }
        if (v->is_constant()) {
            fake.push_back(v->constant());
            continue;
        }
        if (!v->shape().rank_known()) return OkStatus();  // nothing to probe with: prepare decides
        std::vector<int64_t> dims;
        for (size_t d = 0; d < v->shape().rank(); ++d)
            dims.push_back(v->shape()[d].is_static() ? v->shape()[d].value : (d == 0 ? 1 : unknown_dim));
        DataType t = v->dtype() == DataType::kUndefined ? DataType::kFloat32 : v->dtype();
        fake.push_back(Tensor::wrap(t, dims, nullptr));
    }
    std::vector<const Tensor*> ins;
    for (const auto& t : fake) ins.push_back(t.defined() ? &t : nullptr);
    probing_ = true;
    Status s = prepare(ins);
    probing_ = false;
    if (!s.ok()) return unsupported("oneDNN cannot build it: ", s.message());
    return OkStatus();
}

bool OnednnKernel::accepts_layout(size_t input, const runtime::Layout& layout) const {
    return dynamic_cast<const OnednnLayout*>(&layout) != nullptr && takes_layout(input);
}

// ---- quantized parameters ----

bool QParams::has_residual() const { return std::find(post_ops.begin(), post_ops.end(), "add") != post_ops.end(); }

DataType QParams::out_type() const {
    switch (out_dtype) {
        case ir::fused::kOnnxInt8:
            return DataType::kInt8;
        case ir::fused::kOnnxUint8:
            return DataType::kUint8;
        default:
            return DataType::kFloat32;
    }
}

Status check_post_ops(const std::vector<std::string>& post_ops) {
    static const char* kKnown[] = {"add", "relu", "clip", "leaky_relu", "hard_swish", "sigmoid", "swish"};
    int adds = 0;
    for (const auto& op : post_ops) {
        if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return op == k; }) ==
            std::end(kKnown))
            return unsupported("post-op '", op, "' is not one oneDNN fuses");
        adds += op == "add";
    }
    if (adds > 1) return unsupported("more than one 'add' post-op");
    return OkStatus();
}

Status parse_qparams(const ir::Node& node, size_t num_out_channels, QParams* p, ir::fused::FusedOpInfo* info_out) {
    // One reading of the attributes for every backend (ir/fused_ops.h).
    auto info = ir::fused::read_fused_op(node);
    if (!info.ok()) return info.status();
    p->x_scale = info->x_scale;
    p->x_zero_point = info->x_zero_point;
    p->w_scales = info->w_scales;
    if (p->w_scales.empty()) p->w_scales = {1.0f};  // FusedConv: float weights
    p->out_dtype = static_cast<int>(ir::fused::data_type_to_out_dtype(info->out_dtype));
    p->y_scale = info->y_scale;
    p->y_zero_point = info->y_zero_point;
    p->post_ops.clear();
    for (auto op : info->post_ops) p->post_ops.push_back(ir::fused::post_op_name(op));
    p->clip_min = info->clip_min;
    p->clip_max = info->clip_max;
    p->alpha = info->alpha;
    p->residual_scale = info->residual_scale;
    p->residual_zero_point = info->residual_zero_point;
    if (p->w_scales.size() != 1 && p->w_scales.size() != num_out_channels)
        return invalid_argument("w_scales has ", p->w_scales.size(), " entries for ", num_out_channels,
                                " output channels");
    QAT_RETURN_IF_ERROR(check_post_ops(p->post_ops));
    if (info_out) *info_out = std::move(*info);
    return OkStatus();
}

bool int8_output_stored_as_u8(const QParams& p) {
    if (p.out_dtype != ir::fused::kOnnxInt8 || p.y_zero_point != 0 || p.post_ops.empty()) return false;
    const std::string& last = p.post_ops.back();
    return last == "relu" || (last == "leaky_relu" && p.alpha == 0.0f) || (last == "clip" && p.clip_min >= 0.0f);
}

namespace {

struct PlannedOp {
    enum Kind { kEltwise, kSum, kBinary } kind = kEltwise;
    dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
    float scale = 1, alpha = 0, beta = 0;
    int32_t zp = 0;
    dt sum_type = dt::undef;
    md_t src1;
};

PlannedOp eltwise(dnnl::algorithm alg, float alpha = 0, float beta = 0) {
    PlannedOp o;
    o.alg = alg;
    o.alpha = alpha;
    o.beta = beta;
    return o;
}

}  // namespace

Result<Epilogue> build_epilogue(const QParams& p, int oc_mask, const md_t* residual_md) {
    using alg = dnnl::algorithm;
    Epilogue e;
    const bool quant = p.quantized_out();
    const size_t dst_bytes = quant ? 1 : 4;
    bool res_sum = false, res_bin = false;
    dt res_type = dt::undef;
    if (p.has_residual()) {
        if (!residual_md) return internal_error("residual desc missing");
        res_type = residual_md->data_type();
        size_t rb = res_type == dt::f32 ? 4 : 1;
        (rb == dst_bytes ? res_sum : res_bin) = true;
    }
    // Scale-invariant chains run in output units (y / y_scale): cheaper, one post-op less.
    bool scalable = !res_bin;
    for (const auto& op : p.post_ops)
        if (op == "hard_swish" || op == "sigmoid" || op == "swish") scalable = false;
    const float m = (quant && scalable) ? 1.0f / p.y_scale : 1.0f;
    for (float ws : p.w_scales) e.oscales.push_back(p.x_scale * ws * m);

    std::vector<PlannedOp> ops;
    const bool res_int = res_type == dt::s8 || res_type == dt::u8;
    for (const auto& op : p.post_ops) {
        if (op == "relu") {
            ops.push_back(eltwise(alg::eltwise_relu));
        } else if (op == "leaky_relu") {
            ops.push_back(eltwise(alg::eltwise_relu, p.alpha));
        } else if (op == "clip") {
            ops.push_back(eltwise(alg::eltwise_clip, p.clip_min * m, p.clip_max * m));
        } else if (op == "hard_swish") {
            ops.push_back(eltwise(alg::eltwise_hardswish));
        } else if (op == "sigmoid") {
            ops.push_back(eltwise(alg::eltwise_logistic));
        } else if (op == "swish") {
            ops.push_back(eltwise(alg::eltwise_swish, 1.0f));
        } else if (op == "add") {
            if (res_sum) {
                PlannedOp s;
                s.kind = PlannedOp::kSum;
                s.scale = res_int ? p.residual_scale * m : m;
                s.zp = res_int ? p.residual_zero_point : 0;
                s.sum_type = res_type;
                ops.push_back(s);
            } else {
                PlannedOp b;
                b.kind = PlannedOp::kBinary;
                b.alg = alg::binary_add;
                b.src1 = *residual_md;
                if (res_int) {
                    // The binary post-op adds raw values: y + rs*(r - rz) = rs * (y/rs - rz + r).
                    ops.push_back(eltwise(alg::eltwise_linear, 1.0f / p.residual_scale,
                                          -static_cast<float>(p.residual_zero_point)));
                    ops.push_back(b);
                    ops.push_back(eltwise(alg::eltwise_linear, p.residual_scale, 0.0f));
                } else {
                    ops.push_back(b);
                }
            }
        } else {
            return unsupported("post-op '", op, "'");
        }
    }
    if (quant && m == 1.0f) {
        // Real units so far: go to output units, folded into the last eltwise when there is one.
        if (!ops.empty() && ops.back().kind == PlannedOp::kEltwise && ops.back().scale == 1.0f)
            ops.back().scale = 1.0f / p.y_scale;
        else
            ops.push_back(eltwise(alg::eltwise_linear, 1.0f / p.y_scale, 0.0f));
    }
    if (p.out_dtype == ir::fused::kOnnxInt8) {
        e.dst_type = dt::s8;
        // Non-negative int8 is stored as u8; the clamp at 127 keeps int8's saturation. The last
        // planned op is then the chain's relu / clip (scaled to output units at most).
        if (int8_output_stored_as_u8(p)) {
            e.dst_type = dt::u8;
            e.u8_storage = true;
            PlannedOp& l = ops.back();
            if (l.alg == alg::eltwise_relu && l.scale == 1.0f)
                l = eltwise(alg::eltwise_clip, 0.0f, 127.0f);
            else if (l.alg == alg::eltwise_clip && l.scale == 1.0f)
                l.beta = std::min(l.beta, 127.0f);
            else
                ops.push_back(eltwise(alg::eltwise_clip, 0.0f, 127.0f));
        }
    } else if (p.out_dtype == ir::fused::kOnnxUint8) {
        e.dst_type = dt::u8;
    } else {
        e.dst_type = dt::f32;
    }

    dnnl::post_ops po;
    for (size_t i = 0; i < ops.size(); ++i) {
        const PlannedOp& o = ops[i];
        switch (o.kind) {
            case PlannedOp::kEltwise:
                po.append_eltwise(o.scale, o.alg, o.alpha, o.beta);
                break;
            case PlannedOp::kSum:
                po.append_sum(o.scale, o.zp, o.sum_type);
                break;
            case PlannedOp::kBinary:
                po.append_binary(o.alg, o.src1);
                e.binary_index = static_cast<int>(i);
                break;
        }
    }
    e.residual = res_sum ? Epilogue::Residual::kSum : res_bin ? Epilogue::Residual::kBinary : Epilogue::Residual::kNone;
    // A float op (FusedConv) has output scale 1: leave oneDNN's default rather than ask for it.
    if (!(e.oscales.size() == 1 && e.oscales[0] == 1.0f))
        e.attr.set_output_scales(e.oscales.size() > 1 ? oc_mask : 0, e.oscales);
    e.attr.set_post_ops(po);
    if (p.x_zero_point != 0) e.attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (quant && p.y_zero_point != 0) {
        e.attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
        e.dst_zero_point = true;
    }
    return e;
}

// ---- registration helpers ----

void add_kernel(runtime::KernelRegistry& reg, const std::string& op_type,
                std::function<Status(const ir::Node&)> supports,
                std::function<Result<std::unique_ptr<runtime::Kernel>>(const ir::Node&)> create,
                const std::string& domain) {
    runtime::KernelCandidate c;
    c.backend = kBackend;
    c.supports = std::move(supports);
    c.create = std::move(create);
    reg.add(op_type, std::move(c), domain);
}

std::vector<std::string> attr_strings(const ir::Node& node, const std::string& name) {
    const ir::Attribute* a = node.attr(name);
    return a ? a->strings : std::vector<std::string>{};
}

Status require_constant(const ir::Node& node, size_t input, const char* what) {
    const ir::Value* v = node.input(input);
    if (!v) return unsupported(what, " (input ", input, ") is missing");
    if (!v->is_constant()) return unsupported(what, " (input ", input, ") is not a constant");
    return OkStatus();
}

DataType input_dtype(const ir::Node& node, size_t i) {
    const ir::Value* v = node.input(i);
    return v ? v->dtype() : DataType::kUndefined;
}

Result<float> constant_scalar(const ir::Node& node, size_t input) {
    const ir::Value* v = node.input(input);
    if (!v || !v->is_constant()) return unsupported("input ", input, " is not a constant");
    const Tensor& t = v->constant();
    if (t.numel() != 1) return unsupported("input ", input, " has ", t.numel(), " elements, expected 1");
    return static_cast<float>(t.get_as_double(0));
}

}  // namespace qat::onednn
