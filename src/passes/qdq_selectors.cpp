#include "passes/qdq_selectors.h"

#include <cmath>
#include <limits>

#include "passes/qdq_util.h"

namespace qat::passes {
namespace {

using ir::fused::PostOp;

Selection decline(std::string reason) {
    Selection s;
    s.reason = std::move(reason);
    return s;
}

// Per-tensor, int8/uint8, constant parameters: the input side of every fused op. Empty string
// when fine, else the reason.
std::string check_activation_dq(const ir::Node* dq, const char* what, QuantParams* p) {
    if (!is_dq(dq)) return std::string(what) + " is not quantized (no DequantizeLinear before it)";
    if (!const_qdq_params(*dq, p))
        return std::string(what) + "'s DequantizeLinear has non-constant scale or zero point";
    if (!p->per_tensor()) return std::string(what) + " is quantized per-channel (fused ops take per-tensor inputs)";
    const ir::Value* q = dq->input(0);
    if (!q || (q->dtype() != DataType::kInt8 && q->dtype() != DataType::kUint8 && q->dtype() != DataType::kUndefined))
        return std::string(what) + "'s DequantizeLinear reads " + (q ? dtype_name(q->dtype()) : "nothing") +
               ", not int8/uint8";
    return "";
}

bool const_scalar_float(const ir::Value* v, float* out) {
    if (!v || !v->is_constant() || v->constant().numel() != 1) return false;
    const Tensor& t = v->constant();
    if (t.dtype() != DataType::kFloat32 && t.dtype() != DataType::kFloat64) return false;
    *out = static_cast<float>(t.get_as_double(0));
    return true;
}

// Clip bounds (inputs for opset >= 11, attributes before); false when not constant.
bool clip_bounds(const ir::Node& n, float* lo, float* hi) {
    *lo = -std::numeric_limits<float>::infinity();
    *hi = std::numeric_limits<float>::infinity();
    if (n.has_attr("min")) *lo = n.attr_float("min", *lo);
    if (n.has_attr("max")) *hi = n.attr_float("max", *hi);
    if (n.input(1) && !const_scalar_float(n.input(1), lo)) return false;
    if (n.input(2) && !const_scalar_float(n.input(2), hi)) return false;
    return !(std::isnan(*lo) || std::isnan(*hi) || *lo > *hi);
}

// Values of a constant that adds one value per channel: scalar, or dims all 1 except the
// channel dim (counted from the end: `channel_from_end` = rank_out - 1 - channel axis).
bool per_channel_constant(const ir::Value* v, int64_t channels, size_t out_rank, size_t channel_axis,
                          std::vector<float>* out) {
    if (!v || !v->is_constant() || v->constant().dtype() != DataType::kFloat32) return false;
    const Tensor& t = v->constant();
    if (t.numel() == 1) {
        out->assign(static_cast<size_t>(channels), t.data<float>()[0]);
        return true;
    }
    if (t.rank() > out_rank || t.numel() != channels) return false;
    const size_t offset = out_rank - t.rank();
    for (size_t i = 0; i < t.rank(); ++i) {
        const size_t axis = offset + i;
        if (axis == channel_axis ? t.dim(i) != channels : t.dim(i) != 1) return false;
    }
    *out = t.to_vector<float>();
    return true;
}

std::string consumers_text(const ir::Value* v) {
    std::string s;
    size_t k = 0;
    for (const ir::Use& u : v->uses()) {
        if (k == 3) {
            s += ", ...";
            break;
        }
        s += (k++ ? ", " : "") + u.node->desc();
    }
    return s;
}

// Walks activations / residual add / Q after `v` (the value the fused op produces so far).
// `float_only` (FusedConv): the residual must be a float value, no Q is absorbed and no note is
// written.
void walk_chain(FusionGroup& g, ir::Value* v, bool allow_add, size_t out_rank, bool float_only = false) {
    bool have_clip = false, have_leaky = false, have_add = false;
    for (;;) {
        if (v->is_graph_output()) break;
        const auto& uses = v->uses();
        // Swish: v -> Sigmoid -> Mul(v, sigmoid(v)); v read by exactly those two nodes.
        if (uses.size() == 2) {
            ir::Node* sig = nullptr;
            ir::Node* mul = nullptr;
            for (const ir::Use& u : uses) {
                if (is_op(u.node, "Sigmoid")) sig = u.node;
                if (is_op(u.node, "Mul")) mul = u.node;
            }
            if (sig && mul && sole_consumer(sig->output(0)) == mul &&
                ((mul->input(0) == v && mul->input(1) == sig->output(0)) ||
                 (mul->input(1) == v && mul->input(0) == sig->output(0)))) {
                g.post_ops.push_back(PostOp::kSwish);
                g.absorbed.push_back(sig);
                g.absorbed.push_back(mul);
                v = mul->output(0);
                continue;
            }
            break;
        }
        if (uses.size() != 1) break;
        ir::Node* c = uses[0].node;
        float lo = 0, hi = 0;
        if (is_op(c, "Relu")) {
            g.post_ops.push_back(PostOp::kRelu);
        } else if (is_op(c, "Clip") && !have_clip && clip_bounds(*c, &lo, &hi)) {
            g.post_ops.push_back(PostOp::kClip);
            g.clip_min = lo;
            g.clip_max = hi;
            have_clip = true;
        } else if (is_op(c, "LeakyRelu") && !have_leaky) {
            g.post_ops.push_back(PostOp::kLeakyRelu);
            g.alpha = c->attr_float("alpha", 0.01f);
            have_leaky = true;
        } else if (is_op(c, "HardSwish")) {
            g.post_ops.push_back(PostOp::kHardSwish);
        } else if (is_op(c, "Sigmoid")) {
            g.post_ops.push_back(PostOp::kSigmoid);
        } else if (is_op(c, "Add") && allow_add && !have_add && c->num_inputs() == 2 && c->input(0) != c->input(1)) {
            ir::Value* other = c->input(0) == v ? c->input(1) : c->input(0);
            if (!other || other->is_constant()) break;
            // The residual must have the output's shape exactly (no broadcasting in the fused add).
            const Shape& so = other->shape();
            const Shape& sv = v->shape();
            if (!so.rank_known() || !sv.rank_known() || so != sv || so.rank() != out_rank) {
                if (!float_only)  // notes explain float outputs of INT8 ops
                    g.note = c->desc() + ": residual shape " + so.to_string() + " is not known to equal " +
                             sv.to_string() + ", kept out of the fused op";
                break;
            }
            QuantParams rp;
            ir::Node* rdq = other->producer();
            if (float_only) {
                if (other->dtype() != DataType::kFloat32) break;
                g.residual = other;
            } else if (is_dq(rdq) && check_activation_dq(rdq, "residual", &rp).empty()) {
                g.residual = rdq->input(0);
                g.residual_dq = rdq;
                g.residual_params = rp;
            } else if (other->dtype() == DataType::kFloat32) {
                g.residual = other;
            } else {
                break;
            }
            g.post_ops.push_back(PostOp::kAdd);
            have_add = true;
        } else {
            break;
        }
        g.absorbed.push_back(c);
        v = c->output(0);
    }
    g.last = v;
    if (float_only) return;
    // Output side: a single per-tensor Q makes the output INT8.
    if (v->is_graph_output()) {
        g.note = "output '" + v->name() + "' is a graph output: float output";
        return;
    }
    if (v->uses().empty()) return;
    ir::Node* q = sole_consumer(v);
    QuantParams yp;
    if (is_q(q) && const_qdq_params(*q, &yp) && yp.per_tensor() &&
        (yp.qtype == DataType::kInt8 || yp.qtype == DataType::kUint8)) {
        g.q_out = q;
        g.y_params = yp;
        g.absorbed.push_back(q);
        g.last = q->output(0);
        g.note.clear();
        return;
    }
    std::string why;
    if (is_q(q))
        why = q->desc() + " is per-channel or has non-constant parameters";
    else if (q)
        why = "output feeds " + q->desc() + ", no Q after";
    else
        why = "output feeds " + std::to_string(v->uses().size()) + " nodes (" + consumers_text(v) + ")";
    if (!g.note.empty()) why = g.note + "; " + why;
    g.note = why + ": float output";
}

}  // namespace

bool is_fusion_candidate(const ir::Node& n) {
    if (!(n.domain().empty() || n.domain() == "ai.onnx")) return false;
    const std::string& op = n.op_type();
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul" || op == "Add" || op == "Mul" ||
           op == "AveragePool" || op == "GlobalAveragePool";
}

Selection select_fusion(ir::Node& n) {
    if (!is_fusion_candidate(n)) return {};
    const std::string& op = n.op_type();
    if (op == "Add" || op == "Mul") return select_qbinary(n);
    if (op == "AveragePool" || op == "GlobalAveragePool") return select_qpool(n);
    return select_weighted(n);
}

Selection select_weighted(ir::Node& op) {
    const std::string& t = op.op_type();
    const bool conv = t == "Conv", convt = t == "ConvTranspose", gemm = t == "Gemm", matmul = t == "MatMul";
    if (!(conv || convt || gemm || matmul)) return decline("not a Conv, ConvTranspose, Gemm or MatMul");
    if (!op.input(0) || !op.input(1)) return decline("missing input");
    for (size_t i = 1; i < op.num_outputs(); ++i)
        if (op.output(i)) return decline("has extra outputs");
    FusionGroup g;
    g.kind = FusionKind::kWeighted;
    g.op = &op;

    if (gemm && op.attr_int("transA", 0) != 0) return decline("Gemm with transA=1 is not fused");
    // Input.
    ir::Node* dqx = producer_of(op, 0);
    std::string why = check_activation_dq(dqx, "input", &g.x_params);
    if (!why.empty()) return decline(why);
    g.dq_x = dqx;
    if (matmul && op.input(0)->shape().rank_known() && op.input(0)->shape().rank() < 2)
        return decline("MatMul with a 1-D input is not fused");

    // Weight: DQ of a constant int8 tensor, symmetric, per output channel (or per tensor).
    ir::Node* dqw = producer_of(op, 1);
    if (!is_dq(dqw)) {
        if (op.input(1)->is_constant()) return decline("weight is not quantized (float weight, no DequantizeLinear)");
        return decline("weight is not a constant (activation x activation)");
    }
    const ir::Value* wq = dqw->input(0);
    if (!wq || !wq->is_constant()) return decline("weight's DequantizeLinear does not read a constant");
    const Tensor& w = wq->constant();
    if (w.dtype() != DataType::kInt8)
        return decline(std::string("weight is ") + dtype_name(w.dtype()) + ", fused ops take int8 weights");
    QuantParams wp;
    if (!const_qdq_params(*dqw, &wp)) return decline("weight scale or zero point is not a constant");
    for (int32_t z : wp.zero_point)
        if (z != 0) return decline("weight zero point is not 0 (fused ops take symmetric weights)");
    if ((conv || convt) && w.rank() < 3) return decline("weight has rank " + std::to_string(w.rank()));
    if ((gemm || matmul) && w.rank() != 2)
        return decline("weight has rank " + std::to_string(w.rank()) + ", expected 2");
    const int64_t group = op.attr_int("group", 1);
    int64_t channels = 0, axis = 0;
    if (conv) {
        channels = w.dim(0);
        axis = 0;
    } else if (convt) {
        if (group < 1) return decline("bad group");
        channels = w.dim(1) * group;
        axis = 1;
    } else if (gemm) {
        g.trans_b = op.attr_int("transB", 0) != 0;
        channels = g.trans_b ? w.dim(0) : w.dim(1);
        axis = g.trans_b ? 0 : 1;
    } else {
        channels = w.dim(1);
        axis = 1;
    }
    if (wp.per_tensor()) {
        g.w_scales = {wp.scale[0]};
    } else {
        const int64_t per_axis = convt ? w.dim(1) : channels;
        if (wp.axis != axis || static_cast<int64_t>(wp.channels()) != per_axis)
            return decline("weight scales are per-axis on axis " + std::to_string(wp.axis) + " with " +
                           std::to_string(wp.channels()) + " entries, not per output channel (axis " +
                           std::to_string(axis) + ")");
        for (int64_t gi = 0; gi < (convt ? group : 1); ++gi)
            g.w_scales.insert(g.w_scales.end(), wp.scale.begin(), wp.scale.end());
    }
    g.dq_w = dqw;
    if (gemm) {
        const float alpha = op.attr_float("alpha", 1.0f);
        if (!(alpha > 0.0f) || !std::isfinite(alpha)) return decline("Gemm alpha <= 0 is not fused");
        if (alpha != 1.0f)
            for (float& s : g.w_scales) s = static_cast<float>(static_cast<double>(s) * alpha);
    }

    // Bias.
    const size_t out_rank = op.output(0)->shape().rank_known() ? op.output(0)->shape().rank() : 0;
    if (const ir::Value* b = op.input(2)) {
        if (!b->is_constant() || b->constant().dtype() != DataType::kFloat32)
            return decline("bias is not a float constant");
        if (gemm) {
            const Tensor& c = b->constant();
            const bool per_col =
                c.numel() == 1 || (c.numel() == channels && (c.rank() == 1 || (c.rank() == 2 && c.dim(0) == 1)));
            if (!per_col) return decline("Gemm's C " + dims_to_string(c.dims()) + " is not a per-column bias");
            const float beta = op.attr_float("beta", 1.0f);
            const std::vector<float> cv = c.to_vector<float>();
            for (int64_t i = 0; i < channels; ++i)
                g.bias.push_back(static_cast<float>(static_cast<double>(cv[c.numel() == 1 ? 0 : i]) * beta));
        } else {
            if (b->constant().numel() != channels) return decline("bias has the wrong length");
            g.bias = b->constant().to_vector<float>();
        }
    }
    g.absorbed = {dqx, dqw, &op};

    // A following Add of a per-channel constant is a bias (MatMul + Add from exporters).
    ir::Value* v = op.output(0);
    if (ir::Node* add = sole_consumer(v); add && is_op(add, "Add") && out_rank >= 2) {
        const ir::Value* other = add->input(0) == v ? add->input(1) : add->input(0);
        std::vector<float> extra;
        const size_t ch_axis = (conv || convt) ? 1 : out_rank - 1;
        if (per_channel_constant(other, channels, out_rank, ch_axis, &extra)) {
            if (g.bias.empty()) g.bias.assign(static_cast<size_t>(channels), 0.0f);
            for (int64_t i = 0; i < channels; ++i) g.bias[i] += extra[i];
            g.absorbed.push_back(add);
            v = add->output(0);
        }
    }
    walk_chain(g, v, /*allow_add=*/true, out_rank);
    Selection s;
    s.ok = true;
    s.group = std::move(g);
    return s;
}

Selection select_fp32_conv(ir::Node& conv) {
    if (!is_op(&conv, "Conv")) return decline("not a Conv");
    if (!conv.input(0) || !conv.input(1) || conv.input(0)->dtype() != DataType::kFloat32)
        return decline("input is not float32");
    for (size_t i = 1; i < conv.num_outputs(); ++i)
        if (conv.output(i)) return decline("has extra outputs");
    const ir::Value* w = conv.input(1);
    if (!w->is_constant() || w->constant().dtype() != DataType::kFloat32 || w->constant().rank() < 3)
        return decline("weight is not a float constant");
    if (const ir::Value* b = conv.input(2); b && (!b->is_constant() || b->constant().dtype() != DataType::kFloat32))
        return decline("bias is not a float constant");
    const size_t out_rank = conv.output(0)->shape().rank_known() ? conv.output(0)->shape().rank() : 0;
    FusionGroup g;
    g.kind = FusionKind::kFp32Conv;
    g.op = &conv;
    g.absorbed = {&conv};
    walk_chain(g, conv.output(0), /*allow_add=*/true, out_rank, /*float_only=*/true);
    if (g.post_ops.empty()) return decline("no activation or residual Add follows");
    Selection s;
    s.ok = true;
    s.group = std::move(g);
    return s;
}

Selection select_qbinary(ir::Node& add) {
    if (!(is_op(&add, "Add") || is_op(&add, "Mul")) || add.num_inputs() != 2)
        return decline("not a two-input Add or Mul");
    FusionGroup g;
    g.kind = FusionKind::kBinary;
    g.op = &add;
    ir::Node* da = producer_of(add, 0);
    ir::Node* db = producer_of(add, 1);
    std::string wa = check_activation_dq(da, "input 0", &g.x_params);
    std::string wb = check_activation_dq(db, "input 1", &g.b_params);
    if (!wa.empty() || !wb.empty()) {
        std::string r = !wa.empty() ? wa : wb;
        if (!wa.empty() && !wb.empty()) r = "inputs are not quantized";
        return decline(r);
    }
    g.dq_x = da;
    g.dq_b = db;
    g.absorbed = {da, db, &add};
    const size_t out_rank = add.output(0)->shape().rank_known() ? add.output(0)->shape().rank() : 0;
    walk_chain(g, add.output(0), /*allow_add=*/false, out_rank);
    Selection s;
    s.ok = true;
    s.group = std::move(g);
    return s;
}

Selection select_qpool(ir::Node& pool) {
    const bool global = is_op(&pool, "GlobalAveragePool");
    if (!global && !is_op(&pool, "AveragePool")) return decline("not an average pool");
    FusionGroup g;
    g.kind = FusionKind::kPool;
    g.op = &pool;
    ir::Node* dq = producer_of(pool, 0);
    std::string why = check_activation_dq(dq, "input", &g.x_params);
    if (!why.empty()) return decline(why);
    g.dq_x = dq;
    g.absorbed = {dq, &pool};
    // Pools take no post-ops: only the output Q.
    ir::Value* v = pool.output(0);
    g.last = v;
    ir::Node* q = sole_consumer(v);
    QuantParams yp;
    if (is_q(q) && const_qdq_params(*q, &yp) && yp.per_tensor() &&
        (yp.qtype == DataType::kInt8 || yp.qtype == DataType::kUint8)) {
        g.q_out = q;
        g.y_params = yp;
        g.absorbed.push_back(q);
        g.last = q->output(0);
    } else if (v->is_graph_output()) {
        g.note = "output '" + v->name() + "' is a graph output: float output";
    } else if (q) {
        g.note = "output feeds " + q->desc() + ", no Q after: float output";
    } else if (!v->uses().empty()) {
        g.note =
            "output feeds " + std::to_string(v->uses().size()) + " nodes (" + consumers_text(v) + "): float output";
    }
    Selection s;
    s.ok = true;
    s.group = std::move(g);
    return s;
}

}  // namespace qat::passes
