#include "runtime/plan.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "core/logging.h"
#include "core/prefetch.h"

namespace qat::runtime {
namespace {

// The dims recorded for an omitted input. Compared by reference: a conditional between an input's
// dims and a temporary would copy every input's dims each run.
const std::vector<int64_t> kOmitted{-1};

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

bool same_layout(const Layout* a, const Layout* b) {
    if (!a || !b) return a == b;
    return a == b || a->equals(*b);
}

}  // namespace

Tensor& KernelContext::allocate_output(size_t i, DataType dtype, std::vector<int64_t> dims) {
    Tensor& out = (*outputs_)[i];
    out = allocator_ ? allocator_->allocate(dtype, std::move(dims)) : Tensor::empty(dtype, std::move(dims));
    return out;
}

Tensor& KernelContext::allocate_output_bytes(size_t i, DataType dtype, std::vector<int64_t> dims, size_t bytes) {
    Tensor& out = (*outputs_)[i];
    if (allocator_) {
        out = allocator_->allocate_bytes(dtype, std::move(dims), bytes);
    } else {
        size_t need = std::max(bytes, static_cast<size_t>(numel_of(dims)) * dtype_size(dtype));
        out = Tensor::from_storage(dtype, std::move(dims), aligned_alloc_bytes(need));
    }
    return out;
}

Status KernelContext::set_output_layout(size_t i, LayoutPtr layout) {
    if (i >= outputs_->size()) return internal_error(node_.desc(), ": set_output_layout(", i, ") past the outputs");
    if (out_layouts_) {
        if (out_layouts_->size() < outputs_->size()) out_layouts_->resize(outputs_->size());
        (*out_layouts_)[i] = std::move(layout);
        return OkStatus();
    }
    if (!layout) return OkStatus();
    // No sink: whoever reads this context expects plain tensors.
    QAT_ASSIGN_OR_RETURN(Tensor plain, layout->to_plain((*outputs_)[i], allocator_, threads_));
    (*outputs_)[i] = std::move(plain);
    return OkStatus();
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
        plan->slot_layouts_.emplace_back();
        plan->slot_plain_.emplace_back();
        plan->slot_is_input_.push_back(false);
        plan->slot_is_constant_.push_back(false);
        plan->slot_threads_.push_back(0);
        return s;
    };

    for (const ir::Value* in : g.inputs()) {
        int s = slot(in);
        plan->slot_is_input_[s] = true;
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
            st.kernel->set_hints(options.hints);
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
        out.push_back({st.node, st.candidate ? st.candidate->backend : "constant", st.refusals, st.threads});
    return out;
}

Status Plan::set_step_threads(size_t step, int n) {
    if (step >= steps_.size()) return invalid_argument("step ", step, " is past the plan's ", steps_.size(), " steps");
    if (n < 0)
        return invalid_argument("step ", step, " (", steps_[step].node->desc(), "): threads must be >= 0, got ", n);
    steps_[step].threads = n;
    return OkStatus();
}

int Plan::step_threads(size_t step) const {
    return step < steps_.size() ? step_threads(steps_[step]) : options_.num_threads;
}

int Plan::step_threads(const Step& st) const { return st.threads > 0 ? st.threads : options_.num_threads; }

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

Result<const Tensor*> Plan::input_for(Step& st, size_t i, int s, const Layout** layout) {
    *layout = nullptr;
    const LayoutPtr& l = slot_layouts_[s];
    if (!l) return &slots_[s];
    if (st.kernel->accepts_layout(i, *l)) {
        *layout = l.get();
        return &slots_[s];
    }
    if (!slot_plain_[s].defined()) {
        auto t0 = std::chrono::steady_clock::now();
        auto plain = l->to_plain(slots_[s], &allocator_, step_threads(st));
        if (!plain.ok())
            return std::move(plain).take_status().with_context("while converting input " + std::to_string(i) + " of " +
                                                               st.node->desc() + " from " + l->desc());
        slot_plain_[s] = std::move(plain).value();
        if (profiling_) st.prof.convert_ms += ms_since(t0);
    }
    return &slot_plain_[s];
}

bool Plan::overwritable(const Step& st, size_t i, const Tensor* t) const {
    int s = st.in_slots[i];
    if (s < 0 || t != &slots_[s] || slot_is_input_[s] || slot_is_constant_[s]) return false;
    if (std::find(st.release_after.begin(), st.release_after.end(), s) == st.release_after.end()) return false;
    if (std::count(st.in_slots.begin(), st.in_slots.end(), s) != 1) return false;
    // Held only by the pool and this slot: no view (Reshape output, plain copy) aliases it.
    return allocator_.is_pooled(*t) && t->storage().use_count() == 2;
}

void Plan::prefetch_step(size_t i, int stage) const {
    if (i >= steps_.size()) return;
    const Step& st = steps_[i];
    switch (stage) {
        case 0:  // the Step's fields that a run reads (those before its profile)
            for (const char* p = reinterpret_cast<const char*>(&st); p < reinterpret_cast<const char*>(&st.prof);
                 p += 64)
                prefetch_lines({p});
            break;
        case 1:  // its vectors' elements, its kernel object
            prefetch_lines({st.in_slots.data(), st.out_slots.data(), st.release_after.data(), st.prepared_dims.data(),
                            st.prepared_layouts.data(), st.kernel.get()});
            break;
        case 2:  // the slots it reads and writes, the dims it was prepared for, the kernel's state
            for (int s : st.in_slots)
                if (s >= 0) prefetch_lines({&slots_[static_cast<size_t>(s)], &slot_layouts_[static_cast<size_t>(s)]});
            for (int s : st.out_slots) prefetch_lines({&slots_[static_cast<size_t>(s)]});
            for (const auto& d : st.prepared_dims) prefetch_lines({d.data()});
            if (st.kernel) st.kernel->prefetch_run(0);
            break;
        default:  // what the slots' tensors point to, the kernel's own state
            for (int s : st.in_slots)
                if (s >= 0) {
                    const Tensor& t = slots_[static_cast<size_t>(s)];
                    prefetch_lines({t.dims().data(), t.storage().get()});
                }
            if (st.kernel) st.kernel->prefetch_run(1);
            break;
    }
}

Result<Tensor> Plan::plain_of(int s) {
    if (!slot_layouts_[s]) return slots_[s];
    if (!slot_plain_[s].defined()) {
        // Converted on the threads of the step that made it (a graph output, a hook's view).
        const int nt = slot_threads_[s] > 0 ? slot_threads_[s] : options_.num_threads;
        QAT_ASSIGN_OR_RETURN(slot_plain_[s], slot_layouts_[s]->to_plain(slots_[s], &allocator_, nt));
    }
    return slot_plain_[s];
}

void Plan::release(int s) {
    slots_[s] = Tensor();
    slot_layouts_[s] = nullptr;
    slot_plain_[s] = Tensor();
}

void Plan::bind(int s, Tensor t, LayoutPtr layout, int threads) {
    slots_[s] = std::move(t);
    slot_layouts_[s] = std::move(layout);
    slot_plain_[s] = Tensor();
    slot_threads_[s] = threads;
}

// The bookkeeping of a step reads a few dozen lines (the Step, its slots, the kernel's state)
// that the steps between two runs of it have pushed out of the caches; read one after the
// other they cost ~0.5 us a step. Each step asks for the next steps' lines in four stages, each
// stage reading only what the one before asked for a step earlier, so that they arrive
// together while the kernels run (docs/BENCHMARKS.md).
Status Plan::run_step(size_t idx, const NodeHook& hook, int64_t images) {
    auto& st = steps_[idx];
    const ir::Node& n = *st.node;
    for (int stage = 0; stage < 4; ++stage) prefetch_step(idx + 4 - static_cast<size_t>(stage), stage);
    if (!st.kernel) return OkStatus();  // folded Constant
    auto t_step = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    std::vector<const Tensor*> ins;
    std::vector<const Layout*> layouts;
    ins.reserve(st.in_slots.size());
    layouts.reserve(st.in_slots.size());
    for (size_t i = 0; i < st.in_slots.size(); ++i) {
        int s = st.in_slots[i];
        if (s < 0) {
            ins.push_back(nullptr);
            layouts.push_back(nullptr);
            continue;
        }
        if (!slots_[s].defined()) return internal_error("input ", ins.size(), " of ", n.desc(), " was not computed");
        const Layout* l = nullptr;
        QAT_ASSIGN_OR_RETURN(const Tensor* t, input_for(st, i, s, &l));
        ins.push_back(t);
        layouts.push_back(l);
    }
    // prepare() on the first run and whenever an input shape or layout changes (dynamic batch)
    // or the step's thread count does.
    const int threads = step_threads(st);
    bool reprepare = !st.prepared || st.prepared_dims.size() != ins.size() || st.prepared_threads != threads;
    for (size_t i = 0; !reprepare && i < ins.size(); ++i)
        reprepare = (ins[i] ? ins[i]->dims() : kOmitted) != st.prepared_dims[i] ||
                    !same_layout(layouts[i], st.prepared_layouts[i].get());
    if (reprepare) {
        auto t0 = std::chrono::steady_clock::now();
        st.kernel->set_prepare_threads(threads);
        Status s = st.kernel->prepare_with_layouts(ins, layouts);
        if (!s.ok()) return std::move(s).with_context("while preparing " + n.desc());
        st.prepared_dims.clear();
        st.prepared_layouts.clear();
        for (size_t i = 0; i < ins.size(); ++i) {
            st.prepared_dims.push_back(ins[i] ? ins[i]->dims() : kOmitted);
            st.prepared_layouts.push_back(layouts[i] ? slot_layouts_[st.in_slots[i]] : nullptr);
        }
        st.prepared = true;
        st.prepared_threads = threads;
        if (profiling_) {
            double p = ms_since(t0);
            st.prof.prepare_ms += p;
            t_step += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double, std::milli>(p));
        }
    }
    std::vector<bool> may_overwrite(ins.size(), false);
    bool any_overwritable = false;
    for (size_t i = 0; i < ins.size(); ++i) {
        may_overwrite[i] = ins[i] && overwritable(st, i, ins[i]);
        any_overwritable = any_overwritable || may_overwrite[i];
    }
    if (profiling_) {
        st.prof.in_dims.clear();
        for (const Tensor* t : ins) st.prof.in_dims.push_back(t ? t->dims() : std::vector<int64_t>{});
    }
    outs_buf_.assign(st.out_slots.size(), Tensor());
    out_layouts_.assign(st.out_slots.size(), nullptr);
    KernelContext ctx(n, std::move(ins), &outs_buf_, &allocator_, threads);
    ctx.set_input_layouts(std::move(layouts));
    ctx.set_output_layouts(&out_layouts_);
    if (any_overwritable) ctx.set_overwritable_inputs(std::move(may_overwrite));
    Status s = st.kernel->run(ctx);
    if (!s.ok()) return std::move(s).with_context("while running " + n.desc());
    for (size_t i = 0; i < st.out_slots.size(); ++i) {
        if (!outs_buf_[i].defined() && n.output(i)->has_uses())
            return internal_error(n.desc(), " did not produce output ", i);
        bind(st.out_slots[i], std::move(outs_buf_[i]), i < out_layouts_.size() ? std::move(out_layouts_[i]) : nullptr,
             threads);
    }
    if (profiling_) {
        if (images > 0) {
            st.prof.runs++;
            st.prof.images = images;
        }
        st.prof.total_ms += ms_since(t_step);
        const LayoutPtr* l0 = st.out_slots.empty() ? nullptr : &slot_layouts_[st.out_slots[0]];
        st.prof.out_layout = l0 && *l0 ? (*l0)->desc() : std::string();
        st.prof.implementation = st.kernel->implementation();
        st.prof.threads = threads;
        st.prof.out_dims.clear();
        for (int o : st.out_slots) st.prof.out_dims.push_back(slots_[o].dims());
    }
    if (hook) {
        // Hooks (observers, per-layer compare) always see plain tensors.
        std::vector<Tensor> view;
        for (int o : st.out_slots) {
            QAT_ASSIGN_OR_RETURN(Tensor t, plain_of(o));
            view.push_back(std::move(t));
        }
        Status hs = hook(n, view);
        if (!hs.ok()) return hs;
    }
    for (int s2 : st.release_after) release(s2);
    return OkStatus();
}

Status Plan::set_image_steps(size_t k) {
    if (k > steps_.size()) return invalid_argument("image steps ", k, " past the plan's ", steps_.size(), " steps");
    image_steps_ = k;
    image_outs_.clear();
    if (k == 0) return OkStatus();
    // Values of those steps that depend on an input: each image has its own. (One made from
    // constants alone is the same for every image and stays as the last image left it.)
    std::vector<bool> per_image(slots_.size(), false), read_later(slots_.size(), false);
    for (int s : input_slots_) per_image[s] = true;
    for (size_t i = 0; i < k; ++i) {
        bool from_input = false;
        for (int s : steps_[i].in_slots) from_input = from_input || (s >= 0 && per_image[s]);
        for (int o : steps_[i].out_slots) per_image[o] = from_input;
    }
    for (int s : input_slots_) per_image[s] = false;
    for (size_t i = k; i < steps_.size(); ++i)
        for (int s : steps_[i].in_slots)
            if (s >= 0) read_later[s] = true;
    for (int s : output_slots_) read_later[s] = true;
    for (size_t s = 0; s < slots_.size(); ++s)
        if (per_image[s] && read_later[s]) image_outs_.push_back(static_cast<int>(s));
    return OkStatus();
}

int64_t Plan::image_batch() const {
    if (image_steps_ == 0 || input_slots_.empty()) return 0;
    int64_t batch = 0;
    for (int s : input_slots_) {
        const Tensor& t = slots_[s];
        if (t.rank() == 0) return 0;
        if (batch == 0) batch = t.dim(0);
        if (t.dim(0) != batch) return 0;
    }
    return batch >= 2 ? batch : 0;
}

Status Plan::run_images(int64_t batch) {
    std::vector<Tensor> whole(input_slots_.size());
    for (size_t j = 0; j < input_slots_.size(); ++j) whole[j] = slots_[input_slots_[j]];
    std::vector<Tensor> assembled(image_outs_.size());
    std::vector<LayoutPtr> assembled_layouts(image_outs_.size());
    for (int64_t i = 0; i < batch; ++i) {
        // Image i of every input: a view of its rows (inputs are plain, batch outermost).
        for (size_t j = 0; j < input_slots_.size(); ++j) {
            const Tensor& w = whole[j];
            std::vector<int64_t> dims = w.dims();
            dims[0] = 1;
            const size_t bytes = w.nbytes() / static_cast<size_t>(batch);
            auto* data = static_cast<char*>(const_cast<void*>(w.raw_data())) + static_cast<size_t>(i) * bytes;
            slots_[input_slots_[j]] = Tensor::wrap(w.dtype(), std::move(dims), data);
        }
        for (size_t idx = 0; idx < image_steps_; ++idx) QAT_RETURN_IF_ERROR(run_step(idx, nullptr, i == 0 ? batch : 0));
        // What the later steps read, copied into its place in the batch-sized value.
        for (size_t c = 0; c < image_outs_.size(); ++c) {
            const int s = image_outs_[c];
            const Tensor& t = slots_[s];
            if (!t.defined() || t.rank() == 0 || t.dim(0) != 1)
                return unsupported("the first ", image_steps_,
                                   " steps do not run one image at a time: ", steps_[image_steps_ - 1].node->desc(),
                                   " and the steps before it hand on dims ", dims_to_string(t.dims()),
                                   " for one image");
            if (i == 0) {
                if (slot_layouts_[s]) assembled_layouts[c] = slot_layouts_[s]->with_batch(batch);
                std::vector<int64_t> dims = t.dims();
                dims[0] = batch;
                assembled[c] = allocator_.allocate(t.dtype(), std::move(dims));
            }
            // A layout that cannot grow a batch goes on in its plain form.
            const bool as_is = !slot_layouts_[s] || assembled_layouts[c];
            QAT_ASSIGN_OR_RETURN(Tensor src, as_is ? Result<Tensor>(t) : plain_of(s));
            const size_t bytes = src.nbytes();
            std::memcpy(static_cast<char*>(assembled[c].raw_data()) + static_cast<size_t>(i) * bytes, src.raw_data(),
                        bytes);
            release(s);
        }
    }
    for (size_t j = 0; j < input_slots_.size(); ++j) slots_[input_slots_[j]] = whole[j];
    for (size_t c = 0; c < image_outs_.size(); ++c)
        bind(image_outs_[c], std::move(assembled[c]), std::move(assembled_layouts[c]), options_.num_threads);
    return OkStatus();
}

Result<std::vector<Tensor>> Plan::run(const std::vector<Tensor>& inputs, const NodeHook& hook) {
    QAT_RETURN_IF_ERROR(bind_inputs(inputs));
    size_t first = 0;
    if (const int64_t batch = hook ? 0 : image_batch(); batch > 0) {
        QAT_RETURN_IF_ERROR(run_images(batch));
        first = image_steps_;
    }
    for (size_t idx = first; idx < steps_.size(); ++idx) QAT_RETURN_IF_ERROR(run_step(idx, hook, 1));
    std::vector<Tensor> result;
    for (int s : output_slots_) {
        QAT_ASSIGN_OR_RETURN(Tensor t, plain_of(s));
        result.push_back(std::move(t));
    }
    // Drop references to inputs and outputs so their buffers can be reused next run.
    for (size_t s = 0; s < slots_.size(); ++s)
        if (!slot_is_constant_[s]) release(static_cast<int>(s));
    return result;
}

std::vector<StepProfile> Plan::profile() const {
    std::vector<StepProfile> out;
    for (const auto& st : steps_) {
        StepProfile p = st.prof;
        p.node = st.node;
        p.backend = st.candidate ? st.candidate->backend : "constant";
        out.push_back(std::move(p));
    }
    return out;
}

void Plan::reset_profile() {
    for (auto& st : steps_) st.prof = StepProfile();
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
