#include "train/graph_module.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "onnx/onnx_import.h"
#include "passes/quant/insert_qdq.h"
#include "quant/calibrated.h"
#include "quant/name_match.h"
#include "train/torch_util.h"

namespace qat::train::detail {
namespace {

using Tensors = std::vector<at::Tensor>;

bool is_q(const ir::Node* n) { return n && n->op_type() == "QuantizeLinear" && n->domain().empty(); }
bool is_dq(const ir::Node* n) { return n && n->op_type() == "DequantizeLinear" && n->domain().empty(); }

// Where a weight input of an op comes from.
struct WeightSource {
    enum Form { kNone, kFloat, kFloatQdq, kStoredDq } form = kNone;
    ir::Value* init = nullptr;  // the constant holding the values (float, or int8 / int32 behind a DQ)
    ir::Node* q = nullptr;      // kFloatQdq
    ir::Node* dq = nullptr;     // kFloatQdq, kStoredDq
};

WeightSource trace_weight(ir::Value* v) {
    WeightSource s;
    if (!v) return s;
    if (v->is_constant()) {
        if (is_float(v->constant().dtype())) {
            s.form = WeightSource::kFloat;
            s.init = v;
        }
        return s;
    }
    ir::Node* dq = v->producer();
    if (!is_dq(dq) || !dq->input(0)) return s;
    ir::Value* x = dq->input(0);
    if (x->is_constant()) {
        const DataType t = x->constant().dtype();
        if (t == DataType::kInt8 || t == DataType::kUint8 || t == DataType::kInt32) {
            s.form = WeightSource::kStoredDq;
            s.init = x;
            s.dq = dq;
        }
        return s;
    }
    ir::Node* q = x->producer();
    if (is_q(q) && q->input(0) && q->input(0)->is_constant() && is_float(q->input(0)->constant().dtype())) {
        s.form = WeightSource::kFloatQdq;
        s.init = q->input(0);
        s.q = q;
        s.dq = dq;
    }
    return s;
}

struct Role {
    ParamKind kind;
    bool decay;
    bool buffer = false;
};

// Which inputs of a node are trainable weights.
std::vector<std::pair<size_t, Role>> weight_roles(const ir::Node& n) {
    const std::string& op = n.op_type();
    if (!n.domain().empty()) return {};
    if (op == "Conv" || op == "ConvTranspose") return {{1, {ParamKind::kWeight, true}}, {2, {ParamKind::kBias, false}}};
    if (op == "Gemm")
        return {{0, {ParamKind::kWeight, true}}, {1, {ParamKind::kWeight, true}}, {2, {ParamKind::kBias, false}}};
    if (op == "MatMul") return {{0, {ParamKind::kWeight, true}}, {1, {ParamKind::kWeight, true}}};
    if (op == "PRelu") return {{1, {ParamKind::kOther, false}}};
    if (op == "BatchNormalization")
        return {{1, {ParamKind::kBnScale, false}},
                {2, {ParamKind::kBnBias, false}},
                {3, {ParamKind::kOther, false, true}},
                {4, {ParamKind::kOther, false, true}}};
    if (op == "Add") {
        // The bias of a MatMul (the form exporters give a Linear layer): Add(MatMul(x, W), b).
        for (size_t i = 0; i < 2; ++i) {
            const ir::Value* other = n.input(1 - i);
            if (other && other->producer() && other->producer()->op_type() == "MatMul")
                return {{i, {ParamKind::kBias, false}}};
        }
    }
    return {};
}

// A scale or zero point that must be a constant of a Q/DQ node.
Result<Tensor> qdq_constant(const ir::Node& n, size_t i, const char* what) {
    const ir::Value* v = n.input(i);
    if (!v) return Tensor();
    if (!v->is_constant())
        return unsupported(n.desc(), ": its ", what, " '", v->name(), "' is not a constant, which training needs");
    return v->constant();
}

std::vector<float> float_values(const Tensor& t) {
    std::vector<float> out(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = static_cast<float>(t.get_as_double(i));
    return out;
}

bool same_constant(const ir::Value* a, const ir::Value* b) {
    if (a == b) return true;
    if (!a || !b) return false;
    return a->is_constant() && b->is_constant() && a->constant().equals(b->constant());
}

// Dequantizes a stored (int8 / uint8 / int32) constant like DequantizeLinear: (q - zp) * scale,
// per axis when the scale has several values.
Result<at::Tensor> dequantize_stored(const ir::Node& dq, const Tensor& q, const Tensor& scale, const Tensor& zp,
                                     int64_t axis) {
    QAT_ASSIGN_OR_RETURN(at::Tensor tq, to_torch(q));
    QAT_ASSIGN_OR_RETURN(at::Tensor ts, to_torch(scale.cast(DataType::kFloat32)));
    at::Tensor tz = zp.defined() ? *to_torch(zp) : at::zeros_like(ts, at::TensorOptions().dtype(at::kInt));
    std::vector<int64_t> bshape(static_cast<size_t>(tq.dim()), 1);
    if (ts.numel() > 1) {
        if (axis < 0 || axis >= tq.dim() || tq.size(axis) != ts.numel())
            return invalid_model(dq.desc(), ": ", ts.numel(), " scales do not match axis ", axis, " of ", q.desc());
        bshape[static_cast<size_t>(axis)] = ts.numel();
        ts = ts.reshape(bshape);
        tz = tz.reshape(bshape);
    } else {
        ts = ts.reshape({});
        tz = tz.reshape({});
    }
    return ((tq.to(at::kInt) - tz.to(at::kInt)).to(at::kFloat) * ts).contiguous();
}

}  // namespace

FakeQuantizer* GraphModule::weight_quantizer(const std::string& param_name) const {
    auto it = weight_quantizer_.find(param_name);
    return it == weight_quantizer_.end() ? nullptr : it->second;
}

std::vector<at::Tensor> GraphModule::trainable_tensors() const {
    std::vector<at::Tensor> out;
    std::set<const void*> seen;
    for (const Param& p : params_)
        if (p.tensor.requires_grad() && seen.insert(p.tensor.unsafeGetTensorImpl()).second) out.push_back(p.tensor);
    for (const auto& q : quantizers_)
        if (q->learned() && q->learned_scale.defined() && seen.insert(q->learned_scale.unsafeGetTensorImpl()).second)
            out.push_back(q->learned_scale);
    return out;
}

Result<std::unique_ptr<GraphModule>> GraphModule::build(const ir::Graph& graph, const ModuleOptions& options) {
    std::unique_ptr<GraphModule> m(new GraphModule());
    m->graph_ = graph.clone();
    m->graph_->remove_dead_code();
    m->ctx_.seed = options.seed;
    QAT_RETURN_IF_ERROR(guard_torch("while building the training module", [&] { return m->build_program(options); }));
    return m;
}

Status GraphModule::build_program(const ModuleOptions& options) {
    ir::Graph& g = *graph_;
    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topo_order());

    std::unordered_map<const ir::Value*, int> slot;
    auto new_slot = [&]() { return static_cast<int>(num_slots_++); };
    auto slot_of = [&](const ir::Value* v) -> int {
        if (!v) return -1;
        auto it = slot.find(v);
        if (it != slot.end()) return it->second;
        int s = new_slot();
        slot[v] = s;
        return s;
    };

    // ---- parameters and buffers ----
    std::unordered_map<const ir::Value*, int> param_of;  // source constant -> index in params_
    std::unordered_map<const ir::Value*, int> buffer_of;
    std::unordered_map<const ir::Node*, int> stored_param_of_dq;  // stored-weight DQ -> param
    for (ir::Node* n : order) {
        for (const auto& [idx, role] : weight_roles(*n)) {
            WeightSource src = trace_weight(n->input(idx));
            if (src.form == WeightSource::kNone) continue;
            if (role.buffer) {
                if (src.form != WeightSource::kFloat || buffer_of.count(src.init) || param_of.count(src.init)) continue;
                QAT_ASSIGN_OR_RETURN(at::Tensor t, to_torch(src.init->constant()));
                buffer_of[src.init] = static_cast<int>(buffers_.size());
                buffers_.push_back({src.init->name(), t.to(at::kFloat).contiguous()});
                continue;
            }
            if (param_of.count(src.init)) continue;
            Param p;
            p.name = src.init->name();
            p.kind = role.kind;
            p.decay = role.decay;
            if (src.form == WeightSource::kStoredDq) {
                QAT_ASSIGN_OR_RETURN(Tensor sc, qdq_constant(*src.dq, 1, "scale"));
                QAT_ASSIGN_OR_RETURN(Tensor zp, qdq_constant(*src.dq, 2, "zero point"));
                if (!sc.defined()) return invalid_model(src.dq->desc(), " has no scale");
                int64_t axis = src.dq->attr_int("axis", 1);
                const int64_t r = static_cast<int64_t>(src.init->constant().rank());
                if (axis < 0) axis += r;
                QAT_ASSIGN_OR_RETURN(p.tensor, dequantize_stored(*src.dq, src.init->constant(), sc, zp, axis));
                p.dq_node = src.dq->name();
                p.stored_dtype = src.init->constant().dtype();
                if (p.stored_dtype == DataType::kInt32) p.kind = ParamKind::kBias;
                stored_param_of_dq[src.dq] = static_cast<int>(params_.size());
            } else {
                QAT_ASSIGN_OR_RETURN(at::Tensor t, to_torch(src.init->constant()));
                p.tensor = t.to(at::kFloat).contiguous();
            }
            p.tensor.set_requires_grad(true);
            param_of[src.init] = static_cast<int>(params_.size());
            params_.push_back(std::move(p));
        }
    }

    // ---- quantizers ----
    const bool graph_uncalibrated = quant::is_uncalibrated(g);
    bool any_placeholder_doc = false;
    for (const ir::Node* n : order)
        if (is_q(n) && n->doc_string == passes::quant::kPlaceholderDoc) any_placeholder_doc = true;
    std::unordered_map<const ir::Node*, FakeQuantizer*> quantizer_of;  // Q node (or stored DQ) -> quantizer

    auto resolve_mode = [&](const std::string& node_name, const std::string& tensor, bool weight, bool* disabled) {
        RangeMode mode =
            weight ? (options.learned_weights ? RangeMode::kLearned : RangeMode::kFixed)
                   : options.activation_mode.value_or(graph_uncalibrated ? RangeMode::kEma : RangeMode::kFixed);
        *disabled = !options.fake_quant;
        for (const QuantizerOverride& o : options.overrides) {
            if (!quant::glob_match(o.pattern, node_name) && !quant::glob_match(o.pattern, tensor)) continue;
            if (o.disabled) {
                *disabled = true;
            } else if (o.mode) {
                *disabled = !options.fake_quant;
                // Weights follow their values or learn; the activation modes mean "follow" for them.
                mode = weight ? (*o.mode == RangeMode::kLearned ? RangeMode::kLearned : RangeMode::kFixed) : *o.mode;
            }
        }
        return mode;
    };

    auto make_quantizer = [&](const ir::Node& node, const ir::Value* x, const ir::Node& scale_node,
                              bool weight) -> Result<FakeQuantizer*> {
        QAT_ASSIGN_OR_RETURN(Tensor sc, qdq_constant(scale_node, 1, "scale"));
        QAT_ASSIGN_OR_RETURN(Tensor zp, qdq_constant(scale_node, 2, "zero point"));
        if (!sc.defined()) return invalid_model(scale_node.desc(), " has no scale");
        FakeQuantConfig c;
        c.name = node.name();
        c.tensor = x->name();
        c.weight = weight;
        c.ema_momentum = options.ema_momentum;
        const DataType qt = zp.defined() ? zp.dtype() : DataType::kUint8;
        if (qt != DataType::kInt8 && qt != DataType::kUint8)
            return unsupported(scale_node.desc(), " quantizes to ", dtype_name(qt),
                               "; training fake-quantizes int8 and uint8");
        c.qmin = qt == DataType::kUint8 ? 0 : (weight ? -127 : -128);
        c.qmax = qt == DataType::kUint8 ? 255 : 127;
        std::vector<float> scales = float_values(sc);
        if (scales.size() > 1) {
            int64_t axis = scale_node.attr_int("axis", 1);
            int64_t rank = x->is_constant() ? static_cast<int64_t>(x->constant().rank())
                                            : (x->shape().rank_known() ? static_cast<int64_t>(x->shape().rank()) : -1);
            if (rank < 0) return unsupported(scale_node.desc(), ": per-axis scales on a tensor of unknown rank");
            if (axis < 0) axis += rank;
            if (axis < 0 || axis >= rank) return invalid_model(scale_node.desc(), ": axis is out of range");
            c.axis = axis;
            c.channels = static_cast<int64_t>(scales.size());
        }
        bool asymmetric = qt == DataType::kUint8;
        if (zp.defined())
            for (int64_t i = 0; i < zp.numel(); ++i) asymmetric = asymmetric || zp.get_as_double(i) != 0.0;
        if (asymmetric && c.axis >= 0)
            return unsupported(scale_node.desc(), ": per-axis quantization with non-zero zero points is not supported");
        if (zp.defined() && zp.numel() > 0) c.zero_point = static_cast<int64_t>(zp.get_as_double(0));
        bool disabled = false;
        c.mode = resolve_mode(node.name(), x->name(), weight, &disabled);
        if (asymmetric && c.mode != RangeMode::kFixed) {
            notes_.push_back(scale_node.desc() + " is asymmetric (" + dtype_name(qt) + ", zero point " +
                             std::to_string(c.zero_point) + "): its range stays fixed");
            c.mode = RangeMode::kFixed;
        }
        const bool placeholder = !weight && (node.doc_string == passes::quant::kPlaceholderDoc ||
                                             (graph_uncalibrated && !any_placeholder_doc));
        // Weights that follow their values ignore it; learned ones start from it.
        if (!placeholder) c.initial_scale = scales;
        c.state = disabled ? QuantizerState::kDisabled : QuantizerState::kQuantize;
        quantizers_.push_back(std::make_unique<FakeQuantizer>(std::move(c)));
        return quantizers_.back().get();
    };

    for (ir::Node* n : order) {
        if (is_q(n)) {
            ir::Value* x = n->input(0);
            if (!x) return invalid_model(n->desc(), " has no input");
            const ir::Value* y = n->output(0);
            if (y->is_graph_output())
                return unsupported(n->desc(),
                                   ": its int8 output is a graph output; training needs every "
                                   "QuantizeLinear to be followed by a DequantizeLinear");
            for (const ir::Use& u : y->uses())
                if (!is_dq(u.node) || u.index != 0)
                    return unsupported(n->desc(), ": its output is read by ", u.node->desc(),
                                       "; training needs QuantizeLinear -> DequantizeLinear pairs");
            const bool weight = param_of.count(x) > 0;
            QAT_ASSIGN_OR_RETURN(FakeQuantizer * q, make_quantizer(*n, x, *n, weight));
            quantizer_of[n] = q;
            if (weight) weight_quantizer_[x->name()] = q;
        } else if (is_dq(n)) {
            ir::Value* x = n->input(0);
            if (!x) return invalid_model(n->desc(), " has no input");
            if (is_q(x->producer())) {
                const ir::Node* q = x->producer();
                if (!same_constant(q->input(1), n->input(1)) || !same_constant(q->input(2), n->input(2)) ||
                    q->attr_int("axis", 1) != n->attr_int("axis", 1))
                    return unsupported(n->desc(), " dequantizes with other parameters than ", q->desc(),
                                       " quantized with; training needs matching Q/DQ pairs");
                continue;
            }
            auto it = stored_param_of_dq.find(n);
            if (it == stored_param_of_dq.end())
                return unsupported(n->desc(), ": it dequantizes '", x->name(),
                                   "', which is neither a QuantizeLinear "
                                   "output nor a stored weight of a Conv / Gemm / MatMul");
            Param& p = params_[static_cast<size_t>(it->second)];
            if (p.stored_dtype == DataType::kInt32) continue;  // a bias: trained in float, no quantizer
            QAT_ASSIGN_OR_RETURN(FakeQuantizer * q, make_quantizer(*n, x, *n, true));
            q->cfg.name = n->name();
            quantizer_of[n] = q;
            weight_quantizer_[p.name] = q;
        }
    }

    // Concat groups: activation quantizers whose DQ outputs meet in one Concat with equal scales.
    for (ir::Node* n : order) {
        if (n->op_type() != "Concat") continue;
        std::vector<FakeQuantizer*> members;
        for (const ir::Value* in : n->inputs()) {
            if (!in || !is_dq(in->producer())) continue;
            const ir::Value* qv = in->producer()->input(0);
            if (!qv || !is_q(qv->producer())) continue;
            auto it = quantizer_of.find(qv->producer());
            if (it == quantizer_of.end() || it->second->cfg.weight || it->second->group) continue;
            if (std::find(members.begin(), members.end(), it->second) == members.end()) members.push_back(it->second);
        }
        if (members.size() < 2) continue;
        bool same = true;
        for (FakeQuantizer* q : members)
            same = same && q->cfg.initial_scale == members[0]->cfg.initial_scale && q->cfg.axis < 0 &&
                   q->cfg.mode == members[0]->cfg.mode;
        if (!same) continue;
        auto grp = std::make_shared<QuantGroup>();
        grp->members = members;
        for (FakeQuantizer* q : members) {
            q->group = grp;
            if (q->learned()) q->learned_scale = members[0]->learned_scale;
        }
        groups_.push_back(grp);
    }

    // ---- slots and steps ----
    for (ir::Value* v : g.inputs()) {
        if (v->is_constant()) continue;
        input_slots_.push_back(slot_of(v));
        input_names_.push_back(v->name());
    }
    std::vector<at::Tensor> fixed;
    auto set_fixed = [&](int s, at::Tensor t) {
        if (fixed.size() <= static_cast<size_t>(s)) fixed.resize(static_cast<size_t>(s) + 1);
        fixed[static_cast<size_t>(s)] = std::move(t);
    };
    // The slot a step reads for input value v: parameters, buffers and constants are bound once.
    auto input_slot = [&](const ir::Value* v) -> Result<int> {
        if (!v || onnx::is_omitted_output(*v)) return -1;
        bool known = slot.count(v) > 0;
        int s = slot_of(v);
        if (known) return s;
        if (auto it = param_of.find(v); it != param_of.end()) {
            set_fixed(s, params_[static_cast<size_t>(it->second)].tensor);
        } else if (auto b = buffer_of.find(v); b != buffer_of.end()) {
            set_fixed(s, buffers_[static_cast<size_t>(b->second)].tensor);
        } else if (v->is_constant()) {
            QAT_ASSIGN_OR_RETURN(at::Tensor t, to_torch(v->constant()));
            set_fixed(s, t);
        } else if (!v->producer() && !v->is_graph_input()) {
            return invalid_model("value '", v->name(), "' has no producer and is not a graph input");
        }
        return s;
    };

    for (ir::Node* n : order) {
        if (n->op_type() == "Constant" && n->domain().empty() && n->output(0) && n->output(0)->is_constant()) continue;
        Step st;
        st.node = n;
        if (is_q(n)) {
            FakeQuantizer* q = quantizer_of.at(n);
            QAT_ASSIGN_OR_RETURN(int s, input_slot(n->input(0)));
            st.in = {s};
            st.fn = [q](OpContext& c, const Tensors& in) -> Tensors { return {q->forward(in[0], c.training)}; };
        } else if (is_dq(n) && is_q(n->input(0)->producer())) {
            QAT_ASSIGN_OR_RETURN(int s, input_slot(n->input(0)));
            st.in = {s};
            st.fn = [](OpContext&, const Tensors& in) -> Tensors { return {in[0]}; };
        } else if (is_dq(n)) {
            // A stored weight: the parameter (dequantized at build), through its quantizer.
            const Param& p = params_[static_cast<size_t>(stored_param_of_dq.at(n))];
            int s = new_slot();
            set_fixed(s, p.tensor);
            st.in = {s};
            auto it = quantizer_of.find(n);
            FakeQuantizer* q = it == quantizer_of.end() ? nullptr : it->second;
            st.fn = [q](OpContext& c, const Tensors& in) -> Tensors {
                return {q ? q->forward(in[0], c.training) : in[0]};
            };
        } else {
            auto fn = lower_node(*n);
            if (!fn.ok()) return fn.status();
            st.fn = std::move(fn).value();
            for (const ir::Value* v : n->inputs()) {
                QAT_ASSIGN_OR_RETURN(int s, input_slot(v));
                st.in.push_back(s);
            }
        }
        for (const ir::Value* v : n->outputs()) {
            const bool read = v && !onnx::is_omitted_output(*v) && (v->has_uses() || v->is_graph_output());
            st.out.push_back(read ? slot_of(v) : -1);
        }
        steps_.push_back(std::move(st));
    }
    for (const ir::Value* v : g.outputs()) {
        QAT_ASSIGN_OR_RETURN(int s, input_slot(v));
        output_slots_.push_back(s);
        output_names_.push_back(v->name());
    }
    fixed.resize(num_slots_);
    fixed_ = std::move(fixed);

    // Release each computed slot after its last reader (outputs and bound tensors stay).
    std::vector<int> last(num_slots_, -1);
    for (size_t k = 0; k < steps_.size(); ++k)
        for (int s : steps_[k].in)
            if (s >= 0) last[static_cast<size_t>(s)] = static_cast<int>(k);
    std::set<int> keep(output_slots_.begin(), output_slots_.end());
    for (size_t s = 0; s < num_slots_; ++s) {
        if (last[s] < 0 || fixed_[s].defined() || keep.count(static_cast<int>(s))) continue;
        steps_[static_cast<size_t>(last[s])].release.push_back(static_cast<int>(s));
    }
    return OkStatus();
}

Result<std::vector<at::Tensor>> GraphModule::forward(const std::vector<at::Tensor>& inputs) {
    if (inputs.size() != input_slots_.size())
        return invalid_argument("the model takes ", input_slots_.size(), " input(s), got ", inputs.size());
    std::vector<at::Tensor> v = fixed_;
    for (size_t i = 0; i < inputs.size(); ++i) v[static_cast<size_t>(input_slots_[i])] = inputs[i];
    ctx_.bn_training = ctx_.training && !bn_frozen_;
    Tensors ins;
    for (size_t k = 0; k < steps_.size(); ++k) {
        Step& st = steps_[k];
        ctx_.node_index = static_cast<int64_t>(k);
        ins.clear();
        for (int s : st.in) ins.push_back(s >= 0 ? v[static_cast<size_t>(s)] : at::Tensor());
        Tensors outs;
        try {
            outs = st.fn(ctx_, ins);
        } catch (const std::exception& e) {
            std::string msg = e.what();
            size_t nl = msg.find('\n');
            if (nl != std::string::npos) msg.resize(nl);
            return invalid_argument(st.node->desc(), ": ", msg);
        }
        for (size_t o = 0; o < st.out.size(); ++o) {
            if (st.out[o] < 0) continue;
            if (o >= outs.size() || !outs[o].defined())
                return internal_error(st.node->desc(), ": output ", o, " was not computed");
            v[static_cast<size_t>(st.out[o])] = std::move(outs[o]);
        }
        for (int s : st.release) v[static_cast<size_t>(s)] = at::Tensor();
    }
    std::vector<at::Tensor> out;
    for (int s : output_slots_) out.push_back(v[static_cast<size_t>(s)]);
    return out;
}

}  // namespace qat::train::detail
