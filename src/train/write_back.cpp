#include "train/write_back.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/qmath.h"
#include "quant/calibrated.h"

namespace qat::train {
namespace {

// Nodes that take a new scale together: a Q and the DQ nodes that read it (or a stored weight's
// DQ alone).
std::vector<ir::Node*> scale_group(ir::Node* n) {
    std::vector<ir::Node*> nodes = {n};
    if (n->op_type() == "QuantizeLinear")
        for (const ir::Use& u : n->output(0)->uses())
            if (u.node->op_type() == "DequantizeLinear" && u.index == 0) nodes.push_back(u.node);
    return nodes;
}

// Sets input 1 (scale) of every node in `nodes`. A scale value only these nodes read is edited in
// place (name and dims kept); a shared one is replaced, for these nodes, by a fresh initializer.
Status set_scale(ir::Graph& g, const std::vector<ir::Node*>& nodes, const std::vector<float>& scale,
                 const std::string& base) {
    for (float s : scale)
        if (!std::isfinite(s) || !(s > 0.0f))
            return invalid_argument("the trained scale of '", base, "' is ", s, " (not finite and positive)");
    ir::Value* fresh = nullptr;
    for (ir::Node* n : nodes) {
        ir::Value* v = n->input(1);
        if (!v) return invalid_model(n->desc(), " has no scale input");
        bool private_value = v->is_initializer() && !v->is_graph_input() && !v->is_graph_output();
        for (const ir::Use& u : v->uses())
            if (u.index != 1 || std::find(nodes.begin(), nodes.end(), u.node) == nodes.end()) private_value = false;
        std::vector<int64_t> dims =
            scale.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{(int64_t)scale.size()};
        if (v->is_constant() && v->constant().numel() == static_cast<int64_t>(scale.size()))
            dims = v->constant().dims();
        if (private_value) {
            v->set_constant(Tensor::from_vector<float>(dims, scale));
            continue;
        }
        if (!fresh)
            fresh = g.add_initializer(g.unique_value_name(base + "_scale"), Tensor::from_vector<float>(dims, scale));
        g.set_input(n, 1, fresh);
    }
    return OkStatus();
}

// The trained float values in the initializer's original dtype.
Result<Tensor> as_stored_float(const Tensor& trained, const Tensor& old, const std::string& name) {
    if (trained.numel() != old.numel())
        return invalid_argument("trained parameter '", name, "' has ", trained.numel(), " values, the model's ",
                                old.desc());
    Tensor t = trained.reshaped(old.dims());
    return old.dtype() == DataType::kFloat32 ? t.clone() : t.cast(old.dtype());
}

// q = clamp(round_half_even(w / s_c) + zp, qmin, qmax) per slice along axis (or per tensor).
Result<Tensor> requantize(const Tensor& w, const std::vector<float>& scale, int64_t axis, int64_t zp, int64_t qmin,
                          int64_t qmax, DataType dtype, const std::string& name) {
    const float* p = w.data<float>();
    int64_t outer = 1, channels = 1, inner = w.numel();
    if (scale.size() > 1) {
        if (axis < 0 || axis >= static_cast<int64_t>(w.rank()) ||
            w.dim(static_cast<size_t>(axis)) != (int64_t)scale.size())
            return invalid_argument("weight '", name, "' ", w.desc(), " does not have ", scale.size(),
                                    " channels on axis ", axis);
        channels = static_cast<int64_t>(scale.size());
        for (int64_t i = 0; i < axis; ++i) outer *= w.dim(static_cast<size_t>(i));
        inner = w.numel() / (outer * channels);
    }
    Tensor q = Tensor::empty(dtype, w.dims());
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t c = 0; c < channels; ++c) {
            const float s = scale[static_cast<size_t>(c)];
            for (int64_t i = 0; i < inner; ++i) {
                const int64_t k = (o * channels + c) * inner + i;
                double v = qmath::round_half_even(p[k] / s) + static_cast<double>(zp);
                v = std::min(std::max(v, static_cast<double>(qmin)), static_cast<double>(qmax));
                q.set_from_double(k, v);
            }
        }
    return q;
}

}  // namespace

Status write_back(ir::Graph& g, const TrainedState& state) {
    std::map<std::string, const TrainedQuantizer*> by_node;
    for (const TrainedQuantizer& q : state.quantizers) by_node[q.node] = &q;

    bool all_activations_ranged = true;
    for (const TrainedQuantizer& q : state.quantizers) {
        ir::Node* n = g.find_node(q.node);
        if (!n) return not_found("quantizer node '", q.node, "' is not in the model");
        if (q.weight) continue;  // with its parameter below
        if (!q.initialized) {
            all_activations_ranged = false;
            continue;
        }
        if (n->op_type() != "QuantizeLinear") return invalid_model(n->desc(), " is not a QuantizeLinear");
        QAT_RETURN_IF_ERROR(set_scale(g, scale_group(n), q.scale, n->input(0)->name()));
    }

    for (const TrainedParam& p : state.params) {
        ir::Value* v = g.find_value(p.name);
        if (!v || !v->is_constant()) return not_found("parameter '", p.name, "' is not a constant of the model");
        if (p.value.dtype() != DataType::kFloat32) return internal_error("parameter '", p.name, "' is not float32");
        if (p.dq_node.empty()) {
            QAT_ASSIGN_OR_RETURN(Tensor t, as_stored_float(p.value, v->constant(), p.name));
            v->set_constant(std::move(t));
            // A float-form weight Q/DQ pair: the Q reading it takes the final scale.
            for (const ir::Use& u : std::vector<ir::Use>(v->uses())) {
                auto it = by_node.find(u.node->name());
                if (it == by_node.end() || !it->second->weight || u.node->op_type() != "QuantizeLinear") continue;
                QAT_RETURN_IF_ERROR(set_scale(g, scale_group(u.node), it->second->scale, p.name));
            }
            continue;
        }
        ir::Node* dq = g.find_node(p.dq_node);
        if (!dq || dq->op_type() != "DequantizeLinear" || dq->input(0) != v)
            return not_found("DequantizeLinear '", p.dq_node, "' of parameter '", p.name, "' is not in the model");
        const Tensor& old = v->constant();
        Tensor w = p.value.reshaped(old.dims());
        if (old.dtype() == DataType::kInt32) {
            // A bias stored as int32: requantized with its own (unchanged) scale.
            const ir::Value* sv = dq->input(1);
            if (!sv || !sv->is_constant()) return invalid_model(dq->desc(), " has no constant scale");
            std::vector<float> s;
            for (int64_t i = 0; i < sv->constant().numel(); ++i)
                s.push_back(static_cast<float>(sv->constant().get_as_double(i)));
            int64_t axis = dq->attr_int("axis", 1);
            if (axis < 0) axis += static_cast<int64_t>(old.rank());
            QAT_ASSIGN_OR_RETURN(Tensor q, requantize(w, s, axis, 0, INT32_MIN, INT32_MAX, DataType::kInt32, p.name));
            v->set_constant(std::move(q));
            continue;
        }
        auto it = by_node.find(p.dq_node);
        if (it == by_node.end()) return not_found("no quantizer for the int8 weight '", p.name, "'");
        const TrainedQuantizer& tq = *it->second;
        QAT_ASSIGN_OR_RETURN(Tensor q,
                             requantize(w, tq.scale, tq.axis, tq.zero_point, tq.qmin, tq.qmax, old.dtype(), p.name));
        v->set_constant(std::move(q));
        QAT_RETURN_IF_ERROR(set_scale(g, {dq}, tq.scale, p.name));
    }

    for (const auto& [name, t] : state.buffers) {
        ir::Value* v = g.find_value(name);
        if (!v || !v->is_constant()) return not_found("buffer '", name, "' is not a constant of the model");
        QAT_ASSIGN_OR_RETURN(Tensor s, as_stored_float(t, v->constant(), name));
        v->set_constant(std::move(s));
    }
    if (all_activations_ranged) quant::mark_calibrated(g);
    return OkStatus();
}

}  // namespace qat::train
