#include "runtime/plan.h"

#include <unordered_map>

#include "core/logging.h"

namespace qat::runtime {

Tensor& KernelContext::allocate_output(size_t i, DataType dtype, std::vector<int64_t> dims) {
    Tensor& out = (*outputs_)[i];
    out = allocator_ ? allocator_->allocate(dtype, std::move(dims)) : Tensor::empty(dtype, std::move(dims));
    return out;
}

Plan::~Plan() = default;

Status check_tensor_matches(const ir::Value& v, const Tensor& t, const std::string& what) {
    if (!t.defined()) return invalid_argument(what, " '", v.name(), "' is empty");
    if (v.dtype() != DataType::kUndefined && t.dtype() != v.dtype())
        return invalid_argument(what, " '", v.name(), "' expects dtype ", dtype_name(v.dtype()), ", got ",
                                dtype_name(t.dtype()));
    const Shape& s = v.shape();
    if (!s.rank_known()) return OkStatus();
    bool ok = s.rank() == t.rank();
    for (size_t i = 0; ok && i < s.rank(); ++i)
        if (s[i].is_static() && s[i].value != t.dim(i)) ok = false;
    if (!ok)
        return invalid_argument(what, " '", v.name(), "' expects shape ", s.to_string(), ", got ",
                                dims_to_string(t.dims()));
    return OkStatus();
}

Result<std::unique_ptr<Plan>> Plan::compile(const ir::Graph& graph, const PlanOptions& options) {
    if (!options.registry) return internal_error("Plan::compile needs a kernel registry");
    std::unique_ptr<Plan> plan(new Plan());
    plan->options_ = options;
    if (plan->options_.num_threads < 1) plan->options_.num_threads = 1;
    plan->graph_ = graph.clone();
    const ir::Graph& g = *plan->graph_;

    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topo_order());

    std::unordered_map<const ir::Value*, int> slot_of;
    auto slot = [&](const ir::Value* v) {
        auto it = slot_of.find(v);
        if (it != slot_of.end()) return it->second;
        int s = static_cast<int>(plan->slots_.size());
        slot_of[v] = s;
        plan->slots_.emplace_back();
        plan->slot_is_constant_.push_back(false);
        return s;
    };

    for (const ir::Value* in : g.inputs()) {
        int s = slot(in);
        plan->input_slots_.push_back(s);
        plan->input_values_.push_back(in);
        plan->input_defaults_.push_back(in->is_constant() ? in->constant() : Tensor());
        plan->input_names_.push_back(in->name());
    }
    // Constants: initializers (not overridable inputs) and Constant-node outputs are bound once.
    for (const ir::Value* v : g.values()) {
        if (v->is_constant() && !v->is_graph_input()) {
            int s = slot(v);
            plan->slots_[s] = v->constant();
            plan->slot_is_constant_[s] = true;
        }
    }

    // Kernel selection; every unsupported op is reported at once.
    std::vector<std::string> unsupported_list;
    std::string first_reason;
    for (const ir::Node* n : order) {
        Step st;
        st.node = n;
        // A Constant node's output is already bound as a constant: no kernel needed.
        bool folded = n->op_type() == "Constant" && n->num_outputs() == 1 && n->output(0)->is_constant();
        if (!folded) {
            auto sel = options.registry->select(*n, options.backends);
            if (!sel.ok()) {
                unsupported_list.push_back(n->op_type() + " (node '" + n->name() + "')");
                if (first_reason.empty()) first_reason = sel.status().message();
                continue;
            }
            st.candidate = sel->candidate;
            st.refusals = sel->refusals;
            auto k = st.candidate->create(*n);
            if (!k.ok()) return std::move(k).take_status().with_context("while creating the kernel of " + n->desc());
            st.kernel = std::move(k).value();
        }
        for (const ir::Value* in : n->inputs()) {
            if (!in) {
                st.in_slots.push_back(-1);
                continue;
            }
            if (!in->producer() && !in->is_constant() && !in->is_graph_input())
                return invalid_model(n->desc(), " reads '", in->name(),
                                     "', which is neither a graph input, an initializer nor a node output");
            st.in_slots.push_back(slot(in));
        }
        for (const ir::Value* out : n->outputs()) st.out_slots.push_back(slot(out));
        plan->steps_.push_back(std::move(st));
    }
    if (!unsupported_list.empty()) {
        std::string msg = "unsupported op" + std::string(unsupported_list.size() > 1 ? "s" : "") + ": ";
        for (size_t i = 0; i < unsupported_list.size(); ++i) msg += (i ? ", " : "") + unsupported_list[i];
        if (unsupported_list.size() == 1 && first_reason.find("no kernel for op") == std::string::npos)
            msg += " (" + first_reason + ")";
        return unsupported(msg);
    }

    for (const ir::Value* out : g.outputs()) {
        if (!out->producer() && !out->is_constant() && !out->is_graph_input())
            return invalid_model("graph output '", out->name(), "' has no producer");
        plan->output_slots_.push_back(slot(out));
        plan->output_names_.push_back(out->name());
    }

    // Liveness: release a slot after its last reader, unless it is a graph output or constant.
    std::vector<int> last_reader(plan->slots_.size(), -1);
    for (size_t i = 0; i < plan->steps_.size(); ++i)
        for (int s : plan->steps_[i].in_slots)
            if (s >= 0) last_reader[s] = static_cast<int>(i);
    std::vector<bool> keep(plan->slots_.size(), false);
    for (int s : plan->output_slots_) keep[s] = true;
    for (size_t s = 0; s < plan->slots_.size(); ++s)
        if (plan->slot_is_constant_[s]) keep[s] = true;
    for (size_t s = 0; s < plan->slots_.size(); ++s)
        if (!keep[s] && last_reader[s] >= 0) plan->steps_[last_reader[s]].release_after.push_back(static_cast<int>(s));

    if (verbose("plan")) {
        for (const auto& st : plan->steps_) {
            QAT_VLOG("plan") << st.node->desc() << " -> " << (st.candidate ? st.candidate->backend : "constant");
        }
    }
    return plan;
}

std::vector<StepInfo> Plan::steps() const {
    std::vector<StepInfo> out;
    for (const auto& st : steps_)
        out.push_back({st.node, st.candidate ? st.candidate->backend : "constant", st.refusals});
    return out;
}

Status Plan::bind_inputs(const std::vector<Tensor>& inputs) {
    if (inputs.size() != input_slots_.size())
        return invalid_argument("model has ", input_slots_.size(), " inputs, got ", inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i].defined() ? inputs[i] : input_defaults_[i];
        if (!t.defined()) return invalid_argument("missing model input '", input_names_[i], "'");
        QAT_RETURN_IF_ERROR(check_tensor_matches(*input_values_[i], t, "input"));
        slots_[input_slots_[i]] = t;
    }
    return OkStatus();
}

Result<std::vector<Tensor>> Plan::run(const std::vector<Tensor>& inputs, const NodeHook& hook) {
    QAT_RETURN_IF_ERROR(bind_inputs(inputs));
    std::vector<Tensor> outs_buf;
    for (auto& st : steps_) {
        const ir::Node& n = *st.node;
        if (!st.kernel) continue;  // folded Constant
        std::vector<const Tensor*> ins;
        ins.reserve(st.in_slots.size());
        for (int s : st.in_slots) {
            if (s < 0) {
                ins.push_back(nullptr);
                continue;
            }
            if (!slots_[s].defined())
                return internal_error("input ", ins.size(), " of ", n.desc(), " was not computed");
            ins.push_back(&slots_[s]);
        }
        // prepare() on the first run and whenever an input shape changes (dynamic batch).
        bool reprepare = !st.prepared || st.prepared_dims.size() != ins.size();
        for (size_t i = 0; !reprepare && i < ins.size(); ++i)
            reprepare = (ins[i] ? ins[i]->dims() : std::vector<int64_t>{-1}) != st.prepared_dims[i];
        if (reprepare) {
            Status s = st.kernel->prepare(ins);
            if (!s.ok()) return std::move(s).with_context("while preparing " + n.desc());
            st.prepared_dims.clear();
            for (auto* t : ins) st.prepared_dims.push_back(t ? t->dims() : std::vector<int64_t>{-1});
            st.prepared = true;
        }
        outs_buf.assign(st.out_slots.size(), Tensor());
        KernelContext ctx(n, std::move(ins), &outs_buf, &allocator_, options_.num_threads);
        Status s = st.kernel->run(ctx);
        if (!s.ok()) return std::move(s).with_context("while running " + n.desc());
        for (size_t i = 0; i < st.out_slots.size(); ++i) {
            if (!outs_buf[i].defined() && n.output(i)->has_uses())
                return internal_error(n.desc(), " did not produce output ", i);
            slots_[st.out_slots[i]] = std::move(outs_buf[i]);
        }
        if (hook) {
            std::vector<Tensor> view;
            for (int o : st.out_slots) view.push_back(slots_[o]);
            Status hs = hook(n, view);
            if (!hs.ok()) return hs;
        }
        for (int s2 : st.release_after) slots_[s2] = Tensor();
    }
    std::vector<Tensor> result;
    for (int s : output_slots_) result.push_back(slots_[s]);
    // Drop references to inputs and outputs so their buffers can be reused next run.
    for (size_t s = 0; s < slots_.size(); ++s)
        if (!slot_is_constant_[s]) slots_[s] = Tensor();
    return result;
}

Result<std::map<std::string, Tensor>> Plan::run(const std::map<std::string, Tensor>& inputs, const NodeHook& hook) {
    std::vector<Tensor> ordered(input_names_.size());
    for (const auto& [name, t] : inputs) {
        bool found = false;
        for (size_t i = 0; i < input_names_.size(); ++i)
            if (input_names_[i] == name) {
                ordered[i] = t;
                found = true;
            }
        if (!found) {
            std::string names;
            for (const auto& n : input_names_) names += (names.empty() ? "" : ", ") + n;
            return invalid_argument("model has no input named '", name, "' (inputs: ", names, ")");
        }
    }
    QAT_ASSIGN_OR_RETURN(std::vector<Tensor> outs, run(ordered, hook));
    std::map<std::string, Tensor> result;
    for (size_t i = 0; i < outs.size(); ++i) result[output_names_[i]] = outs[i];
    return result;
}

}  // namespace qat::runtime
