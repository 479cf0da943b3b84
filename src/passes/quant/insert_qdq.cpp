#include "passes/quant/insert_qdq.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "core/qmath.h"
#include "core/quant_params.h"

namespace qat::passes::quant {

namespace {

// Normalises a (possibly negative) axis against a rank.
Result<int> normalize_axis(int axis, size_t rank, const std::string& what) {
    int r = static_cast<int>(rank);
    int a = axis < 0 ? axis + r : axis;
    if (a < 0 || a >= r) return invalid_model("per-channel axis ", axis, " out of range for rank ", r, " ", what);
    return a;
}

// outer x channels x inner decomposition of dims around axis.
void split_dims(const std::vector<int64_t>& dims, int axis, int64_t* outer, int64_t* channels, int64_t* inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; ++i) *outer *= dims[i];
    *channels = dims[axis];
    for (size_t i = axis + 1; i < dims.size(); ++i) *inner *= dims[i];
}

struct Key {
    const ir::Value* value;
    Granularity granularity;
    int axis;
    bool operator<(const Key& o) const {
        return std::tie(value, granularity, axis) < std::tie(o.value, o.granularity, o.axis);
    }
};

}  // namespace

Result<std::vector<float>> weight_amax(const Tensor& w, int axis) {
    if (w.dtype() != DataType::kFloat32)
        return unsupported("weight of dtype ", dtype_name(w.dtype()), " cannot be quantized (float32 only)");
    const float* p = w.data<float>();
    if (axis < 0) {
        float m = 0.0f;
        for (int64_t i = 0; i < w.numel(); ++i) m = std::max(m, std::fabs(p[i]));
        return std::vector<float>{m};
    }
    if (static_cast<size_t>(axis) >= w.rank())
        return invalid_model("per-channel axis ", axis, " out of range for weight ", w.desc());
    int64_t outer, channels, inner;
    split_dims(w.dims(), axis, &outer, &channels, &inner);
    std::vector<float> m(static_cast<size_t>(channels), 0.0f);
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
            const float* q = p + (o * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i) m[c] = std::max(m[c], std::fabs(q[i]));
        }
    return m;
}

Result<Tensor> quantize_weight(const Tensor& w, const std::vector<float>& scales, int axis) {
    if (w.dtype() != DataType::kFloat32)
        return unsupported("weight of dtype ", dtype_name(w.dtype()), " cannot be quantized (float32 only)");
    Tensor q = Tensor::empty(DataType::kInt8, w.dims());
    const float* p = w.data<float>();
    int8_t* out = q.data<int8_t>();
    auto one = [](float x, float s) {
        float r = qmath::round_half_even(x / s);
        r = std::fmin(std::fmax(r, -127.0f), 127.0f);
        return static_cast<int8_t>(r);
    };
    if (scales.size() == 1) {
        for (int64_t i = 0; i < w.numel(); ++i) out[i] = one(p[i], scales[0]);
        return q;
    }
    int64_t outer, channels, inner;
    split_dims(w.dims(), axis, &outer, &channels, &inner);
    if (static_cast<size_t>(channels) != scales.size())
        return internal_error("quantize_weight: ", scales.size(), " scales for ", channels, " channels");
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
            int64_t base = (o * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i) out[base + i] = one(p[base + i], scales[c]);
        }
    return q;
}

Result<std::vector<std::string>> planned_activation_tensors(const ir::Graph& graph, const QdqPlan& plan) {
    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, graph.topo_order());
    std::vector<std::string> out;
    for (const ir::Value* v : plan.quantized_values(order))
        if (!v->is_constant()) out.push_back(v->name());
    return out;
}

Result<bool> PlanQdqPass::run(ir::Graph& graph, PassContext&) {
    state_->plan = QdqPlan();
    state_->log.clear();
    QAT_RETURN_IF_ERROR(planner_(graph, *state_));
    return false;
}

Result<bool> InsertQdqPass::run(ir::Graph& g, PassContext& ctx) {
    const QdqPlan& plan = state_->plan;
    const QdqInsertOptions& opts = state_->insert;
    QdqInsertStats& stats = state_->stats;
    stats = {};
    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topo_order());

    // Group the requesting uses by (tensor, granularity, axis), first consumer first.
    std::vector<Key> keys;
    std::map<Key, std::vector<ir::Use>> uses;
    for (ir::Node* n : order) {
        const auto* ds = plan.decisions(*n);
        if (!ds) continue;
        for (const auto& [i, d] : *ds) {
            if (!d.quantize) continue;
            const ir::Value* v = n->input(static_cast<size_t>(i));
            if (!v) continue;
            Key k{v, v->is_constant() ? d.granularity : Granularity::kPerTensor,
                  d.granularity == Granularity::kPerChannel && v->is_constant() ? d.axis : -1};
            if (!uses.count(k)) keys.push_back(k);
            uses[k].push_back({n, i});
        }
    }

    // Activation amax, with shared-scale groups merged to their max.
    std::map<std::string, float> amax = opts.activation_amax;
    for (const ScaleGroup& grp : plan.scale_groups()) {
        float m = -1.0f;
        for (const ir::Value* v : grp.values) {
            auto it = amax.find(v->name());
            if (it != amax.end()) m = std::max(m, std::fabs(it->second));
        }
        if (m < 0.0f) continue;
        for (const ir::Value* v : grp.values) amax[v->name()] = m;
    }
    std::vector<std::string> missing;
    for (const Key& k : keys)
        if (!k.value->is_constant() && !amax.count(k.value->name())) missing.push_back(k.value->name());
    if (!missing.empty() && !opts.placeholder_scale) {
        std::string list;
        for (size_t i = 0; i < missing.size() && i < 20; ++i) list += (i ? ", " : "") + missing[i];
        if (missing.size() > 20) list += ", ... (" + std::to_string(missing.size() - 20) + " more)";
        return not_found("no activation range for ", missing.size(), " quantized tensor(s): ", list);
    }

    std::set<ir::Value*> old_weights;
    for (const Key& k : keys) {
        ir::Value* v = const_cast<ir::Value*>(k.value);
        std::vector<ir::Use> us = uses[k];
        const std::string base = v->name();
        auto scalar_zp = [&](const std::string& name, size_t n, bool per_channel) {
            std::vector<int8_t> z(n, 0);
            return g.add_initializer(g.unique_value_name(name), per_channel
                                                                    ? Tensor::from_vector<int8_t>({(int64_t)n}, z)
                                                                    : Tensor::scalar<int8_t>(0));
        };
        if (v->is_constant()) {
            const Tensor& w = v->constant();
            int axis = -1;
            if (k.granularity == Granularity::kPerChannel) {
                QAT_ASSIGN_OR_RETURN(axis, normalize_axis(k.axis, w.rank(), "of weight '" + base + "'"));
            }
            auto amax_w = weight_amax(w, axis);
            if (!amax_w.ok())
                return std::move(amax_w).take_status().with_context("while quantizing weight '" + base + "'");
            std::vector<float> scales;
            for (float a : *amax_w) scales.push_back(symmetric_scale(a));
            bool per_channel = axis >= 0;
            ir::Value* scale =
                g.add_initializer(g.unique_value_name(base + "_scale"),
                                  per_channel ? Tensor::from_vector<float>({(int64_t)scales.size()}, scales)
                                              : Tensor::scalar<float>(scales[0]));
            ir::Value* zp = scalar_zp(base + "_zero_point", scales.size(), per_channel);
            ir::Node* dq = nullptr;
            if (opts.weights == WeightFormat::kInt8) {
                QAT_ASSIGN_OR_RETURN(Tensor q, quantize_weight(w, scales, axis));
                ir::Value* qv = g.add_initializer(g.unique_value_name(base + "_quantized"), std::move(q));
                dq = g.add_node("DequantizeLinear", {qv, scale, zp}, {base + "_dequantized"},
                                g.unique_node_name(base + "_DequantizeLinear"));
                g.replace_uses_with(v, us, dq->output(0));
                // Keep the node list close to topological: before the first reader.
                g.move_before(dq, us.front().node);
                old_weights.insert(v);
            } else {
                ir::Node* qn = g.insert_after(v, "QuantizeLinear", {scale, zp},
                                              g.unique_node_name(base + "_QuantizeLinear"), base + "_quantized", &us);
                qn->output(0)->set_dtype(DataType::kInt8);
                qn->output(0)->set_shape(v->shape());
                if (per_channel) qn->set_attr("axis", ir::Attribute::from_int(axis));
                std::vector<ir::Use> q_uses = qn->output(0)->uses();
                dq = g.insert_after(qn->output(0), "DequantizeLinear", {scale, zp},
                                    g.unique_node_name(base + "_DequantizeLinear"), base + "_dequantized", &q_uses);
            }
            if (per_channel) dq->set_attr("axis", ir::Attribute::from_int(axis));
            dq->output(0)->set_dtype(DataType::kFloat32);
            dq->output(0)->set_shape(v->shape());
            ++stats.weight_pairs;
            ctx.note_rewrite(
                name(), "weight " + base + (per_channel ? " per-channel axis " + std::to_string(axis) : " per-tensor"));
            continue;
        }
        float s;
        auto it = amax.find(base);
        bool placeholder = it == amax.end();
        if (placeholder) {
            s = *opts.placeholder_scale;
            ++stats.placeholder_scales;
            stats.placeholder_tensors.push_back(base);
        } else {
            if (!std::isfinite(it->second))
                return invalid_argument("activation range of '", base, "' is not finite (", it->second, ")");
            s = symmetric_scale(it->second);
        }
        ir::Value* scale = g.add_initializer(g.unique_value_name(base + "_scale"), Tensor::scalar<float>(s));
        ir::Value* zp = scalar_zp(base + "_zero_point", 1, false);
        ir::Node* qn = g.insert_after(v, "QuantizeLinear", {scale, zp}, g.unique_node_name(base + "_QuantizeLinear"),
                                      base + "_quantized", &us);
        qn->output(0)->set_dtype(DataType::kInt8);
        qn->output(0)->set_shape(v->shape());
        if (placeholder) qn->doc_string = kPlaceholderDoc;
        std::vector<ir::Use> q_uses = qn->output(0)->uses();
        ir::Node* dq = g.insert_after(qn->output(0), "DequantizeLinear", {scale, zp},
                                      g.unique_node_name(base + "_DequantizeLinear"), base + "_dequantized", &q_uses);
        dq->output(0)->set_dtype(v->dtype() == DataType::kUndefined ? DataType::kFloat32 : v->dtype());
        dq->output(0)->set_shape(v->shape());
        ++stats.activation_pairs;
        ctx.note_rewrite(name(), "activation " + base + (placeholder ? " (placeholder scale)" : ""));
    }

    // The float copy of an int8-stored weight goes when nothing reads it any more.
    for (ir::Value* w : old_weights) {
        if (w->has_uses() || w->is_graph_output() || w->is_graph_input()) continue;
        if (w->producer()) {
            g.remove_node(w->producer());  // a Constant node
        } else {
            g.remove_value(w);
        }
    }
    return !keys.empty();
}

}  // namespace qat::passes::quant
