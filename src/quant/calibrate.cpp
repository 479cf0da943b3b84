#include "quant/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "backends/registry.h"
#include "core/progress.h"
#include "core/quant_params.h"
#include "passes/pass.h"
#include "passes/quant/insert_qdq.h"
#include "passes/quant/strip_qdq.h"
#include "quant/calibrated.h"
#include "quant/name_match.h"

namespace qat::quant {

// ---- batch sources --------------------------------------------------------------------------

namespace {

class LoaderSource : public BatchSource {
  public:
    LoaderSource(std::unique_ptr<data::Loader> loader, std::string desc)
        : loader_(std::move(loader)), desc_(std::move(desc)) {}
    int64_t num_samples() const override { return loader_->num_samples(); }
    Status rewind() override {
        loader_->start_epoch(0);
        return OkStatus();
    }
    Result<bool> next(Tensor* images, Tensor* labels) override {
        QAT_ASSIGN_OR_RETURN(bool more, loader_->next(&batch_));
        if (!more) return false;
        *images = batch_.images;
        if (labels) *labels = batch_.labels;
        return true;
    }
    std::string description() const override { return desc_; }

  private:
    std::unique_ptr<data::Loader> loader_;
    std::string desc_;
    data::Batch batch_;
};

class TensorSource : public BatchSource {
  public:
    TensorSource(std::vector<Tensor> b, std::vector<Tensor> l, std::string d)
        : batches_(std::move(b)), labels_(std::move(l)), desc_(std::move(d)) {
        for (const auto& t : batches_) samples_ += t.rank() ? t.dim(0) : 0;
    }
    int64_t num_samples() const override { return samples_; }
    Status rewind() override {
        pos_ = 0;
        return OkStatus();
    }
    Result<bool> next(Tensor* images, Tensor* labels) override {
        if (pos_ >= batches_.size()) return false;
        *images = batches_[pos_];
        if (labels) *labels = pos_ < labels_.size() ? labels_[pos_] : Tensor();
        ++pos_;
        return true;
    }
    std::string description() const override { return desc_; }

  private:
    std::vector<Tensor> batches_, labels_;
    std::string desc_;
    int64_t samples_ = 0;
    size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<BatchSource> make_loader_source(std::unique_ptr<data::Loader> loader, std::string description) {
    return std::make_unique<LoaderSource>(std::move(loader), std::move(description));
}

std::unique_ptr<BatchSource> make_tensor_source(std::vector<Tensor> batches, std::vector<Tensor> labels,
                                                std::string description) {
    return std::make_unique<TensorSource>(std::move(batches), std::move(labels), std::move(description));
}

// ---- GraphRunner ----------------------------------------------------------------------------

Result<const ir::Value*> single_input(const ir::Graph& g, const std::string& what) {
    std::vector<const ir::Value*> ins;
    for (const ir::Value* v : g.inputs())
        if (!v->is_constant()) ins.push_back(v);
    if (ins.size() != 1) {
        std::string names;
        for (const ir::Value* v : ins) names += (names.empty() ? "" : ", ") + v->name();
        return invalid_argument(what, ": calibration and evaluation feed one input tensor; the model has ", ins.size(),
                                ins.empty() ? "" : " (" + names + ")");
    }
    return ins[0];
}

Result<std::unique_ptr<GraphRunner>> GraphRunner::create(const ir::Graph& graph, const RunOptions& o,
                                                         const std::string& what) {
    auto r = std::unique_ptr<GraphRunner>(new GraphRunner());
    r->what_ = what;
    QAT_ASSIGN_OR_RETURN(const ir::Value* in, single_input(graph, what));
    runtime::PlanOptions po;
    po.registry = &backends::default_registry();
    po.backends = o.backends;
    po.num_threads = std::max(1, o.threads);
    auto plan = runtime::Plan::compile(graph, po);
    if (!plan.ok()) return std::move(plan).take_status().with_context("while compiling " + what);
    r->plan_ = std::move(plan).value();
    // The plan owns a copy of the graph: keep pointers into that one.
    r->input_ = r->plan_->graph().find_value(in->name());
    QAT_ASSERT(r->input_ != nullptr, "plan lost input ", in->name());
    const Shape& s = r->input_->shape();
    if (s.rank_known() && s.rank() >= 1 && s[0].is_static() && s[0].value > 0) r->fixed_batch_ = s[0].value;
    return r;
}

Result<std::vector<Tensor>> GraphRunner::run(const Tensor& batch, const Hook& hook) {
    if (!batch.defined() || batch.rank() < 1) return invalid_argument(what_, ": a batch must have a batch dimension");
    const int64_t rows = batch.dim(0);
    Tensor x = batch;
    if (fixed_batch_ > 0 && rows != fixed_batch_) {
        if (rows > fixed_batch_)
            return invalid_argument("a batch of ", rows, " samples does not fit input '", input_->name(), "' of ",
                                    what_, ", which has a fixed batch of ", fixed_batch_, " (use --batch ",
                                    fixed_batch_, ")");
        std::vector<int64_t> dims = batch.dims();
        dims[0] = fixed_batch_;
        if (!padded_.defined() || padded_.dims() != dims || padded_.dtype() != batch.dtype())
            padded_ = Tensor::zeros(batch.dtype(), dims);
        std::memset(padded_.raw_data(), 0, padded_.nbytes());
        std::memcpy(padded_.raw_data(), batch.raw_data(), batch.nbytes());
        x = padded_;
    }
    runtime::NodeHook h;
    if (hook) h = [&](const ir::Node& n, const std::vector<Tensor>& outs) { return hook(n, outs, rows); };
    QAT_ASSIGN_OR_RETURN(auto outs, plan_->run(std::map<std::string, Tensor>{{input_->name(), x}}, h));
    std::vector<Tensor> v;
    for (const auto& name : plan_->output_names()) v.push_back(outs.at(name));
    return v;
}

// ---- observing --------------------------------------------------------------------------------

std::vector<std::string> float_activation_tensors(const ir::Graph& g) {
    std::vector<std::string> out;
    auto floatish = [](const ir::Value* v) { return v->dtype() == DataType::kUndefined || is_float(v->dtype()); };
    for (const ir::Value* v : g.inputs())
        if (!v->is_constant() && floatish(v)) out.push_back(v->name());
    auto order = g.topo_order();
    if (!order.ok()) return out;
    for (const ir::Node* n : *order) {
        if (n->op_type() == "Constant") continue;
        for (const ir::Value* v : n->outputs())
            if (v && !v->name().empty() && !v->is_constant() && floatish(v)) out.push_back(v->name());
    }
    return out;
}

Result<ObserverMap> collect_observers(const ir::Graph& graph, const std::vector<std::string>& tensors,
                                      BatchSource& source, const CollectOptions& o,
                                      const std::vector<std::string>& extra) {
    ObserverMap obs;
    struct Want {
        TensorObserver* obs;
        bool required;
    };
    std::unordered_map<std::string, Want> want;  // node outputs and graph inputs
    std::vector<std::pair<std::string, Want>> inputs;
    auto add = [&](const std::string& t, bool required) -> Status {
        if (obs.count(t)) return OkStatus();
        const ir::Value* v = graph.find_value(t);
        if (!v) {
            if (!required) return OkStatus();
            return not_found("tensor '", t, "' is not in the model");
        }
        if (v->is_constant() && !v->is_graph_input()) {
            if (!is_float(v->constant().dtype())) {
                if (!required) return OkStatus();
                return invalid_argument("tensor '", t, "' is a ", dtype_name(v->constant().dtype()),
                                        " constant; only float tensors can be calibrated");
            }
            TensorObserver& ob = obs.emplace(t, TensorObserver(o.observer)).first->second;
            return ob.update(v->constant());
        }
        TensorObserver* ob = &obs.emplace(t, TensorObserver(o.observer)).first->second;
        if (v->is_graph_input())
            inputs.push_back({t, {ob, required}});
        else
            want[t] = {ob, required};
        return OkStatus();
    };
    for (const auto& t : tensors) QAT_RETURN_IF_ERROR(add(t, true));
    for (const auto& t : extra) QAT_RETURN_IF_ERROR(add(t, false));
    if (want.empty() && inputs.empty()) return obs;

    QAT_ASSIGN_OR_RETURN(auto runner, GraphRunner::create(graph, o.run, "the FP32 model"));
    for (const auto& [t, w] : inputs)
        if (t != runner->input_name()) return internal_error("graph input '", t, "' is not the fed input");
    if (source.num_samples() <= 0) return invalid_argument("the calibration set is empty");
    QAT_RETURN_IF_ERROR(source.rewind());
    ProgressBar bar(o.label, source.num_samples(), {.quiet = o.quiet});
    const int64_t fixed = runner->fixed_batch();
    std::vector<std::string> skipped;
    int64_t samples = 0;
    Tensor x, labels;
    for (;;) {
        QAT_ASSIGN_OR_RETURN(bool more, source.next(&x, &labels));
        if (!more) break;
        const int64_t rows = x.rank() ? x.dim(0) : 0;
        for (auto& [t, w] : inputs)
            QAT_RETURN_IF_ERROR(w.obs->update(x).with_context("while observing input '" + t + "'"));
        auto hook = [&](const ir::Node& n, const std::vector<Tensor>& outs, int64_t r) -> Status {
            for (size_t i = 0; i < outs.size() && i < n.num_outputs(); ++i) {
                const ir::Value* v = n.output(i);
                if (!v) continue;
                auto it = want.find(v->name());
                if (it == want.end() || !it->second.obs) continue;
                const Tensor& t = outs[i];
                if (!t.defined()) continue;
                if (!is_float(t.dtype())) {
                    if (it->second.required)
                        return invalid_argument("tensor '", v->name(), "' (output of ", n.desc(), ") has dtype ",
                                                dtype_name(t.dtype()), "; only float tensors can be calibrated");
                    skipped.push_back(v->name());
                    it->second.obs = nullptr;
                    continue;
                }
                int64_t valid = (fixed > 0 && r < fixed && t.rank() >= 1 && t.dim(0) == fixed) ? r : -1;
                QAT_RETURN_IF_ERROR(it->second.obs->update(t, valid));
            }
            return OkStatus();
        };
        auto res = runner->run(x, hook);
        if (!res.ok()) return std::move(res).take_status().with_context("while running the FP32 model for calibration");
        samples += rows;
        bar.advance(rows);
    }
    bar.finish();
    if (samples == 0) return invalid_argument("the calibration set is empty");
    std::vector<std::string> never;
    for (const auto& [t, w] : want) {
        if (w.required && w.obs && w.obs->batches() == 0) never.push_back(t);
    }
    if (!never.empty()) {
        std::sort(never.begin(), never.end());
        return invalid_argument("tensor(s) never computed while running the model: ", join(never));
    }
    for (const auto& s : skipped) obs.erase(s);
    for (const auto& [t, w] : want)
        if (!w.required && w.obs && w.obs->batches() == 0) obs.erase(t);
    return obs;
}

// ---- session --------------------------------------------------------------------------------

std::string graph_fingerprint(const ir::Graph& g) {
    std::ostringstream os;
    for (const ir::Value* v : g.inputs()) os << "in:" << v->name() << ";";
    for (const ir::Value* v : g.outputs()) os << "out:" << v->name() << ";";
    for (const ir::Node* n : g.nodes()) {
        os << n->op_type() << "|" << n->name() << "|";
        for (const ir::Value* v : n->inputs()) os << (v ? v->name() : "") << ",";
        os << "|";
        for (const ir::Value* v : n->outputs()) os << (v ? v->name() : "") << ",";
        os << ";";
    }
    return os.str();
}

std::string calibrator_key(const CalibratorOptions& c, const ObserverOptions& ob) {
    std::ostringstream os;
    os << calib_method_name(c.method);
    if (c.method == CalibMethod::kPercentile) os << ":" << c.percentile;
    if (c.method == CalibMethod::kMax && c.moving_average) os << ":ema" << ob.averaging_constant;
    if (c.method == CalibMethod::kEntropy && (c.entropy.quant_bins != 128 || c.entropy.stride != 1))
        os << ":" << c.entropy.quant_bins << "/" << c.entropy.stride;
    return os.str();
}

CalibrationSession::CalibrationSession(BatchSource* source, CollectOptions options)
    : source_(source), options_(std::move(options)) {}

Status CalibrationSession::observe(const ir::Graph& g, const std::vector<std::string>& tensors) {
    std::string fp = graph_fingerprint(g);
    bool fresh = !graph_ || fp != fingerprint_;
    if (fresh) {
        observers_.clear();
        amax_cache_.clear();
        fingerprint_ = std::move(fp);
        graph_ = g.clone();
    }
    std::vector<std::string> missing;
    for (const auto& t : tensors)
        if (!observers_.count(t) && std::find(missing.begin(), missing.end(), t) == missing.end()) missing.push_back(t);
    if (missing.empty()) return OkStatus();
    std::vector<std::string> extra;
    if (observe_all_ && fresh) extra = float_activation_tensors(g);
    QAT_ASSIGN_OR_RETURN(ObserverMap got, collect_observers(g, missing, *source_, options_, extra));
    for (auto& [k, v] : got) observers_.insert_or_assign(k, std::move(v));
    ++passes_;
    return OkStatus();
}

Result<std::map<std::string, float>> CalibrationSession::amax(const std::vector<std::string>& tensors,
                                                              const CalibratorOptions& calib) {
    QAT_RETURN_IF_ERROR(validate(calib));
    auto& cache = amax_cache_[calibrator_key(calib, options_.observer)];
    std::map<std::string, float> out;
    for (const auto& t : tensors) {
        auto c = cache.find(t);
        if (c != cache.end()) {
            out[t] = c->second;
            continue;
        }
        auto it = observers_.find(t);
        if (it == observers_.end()) return internal_error("tensor '", t, "' was not observed");
        auto a = compute_amax(it->second, calib);
        if (!a.ok()) return std::move(a).take_status().with_context("while calibrating tensor '" + t + "'");
        cache[t] = *a;
        out[t] = *a;
    }
    return out;
}

Result<CalibTable> CalibrationSession::table(const std::vector<std::string>& tensors, const CalibratorOptions& calib,
                                             bool with_counts) {
    std::vector<std::string> names = tensors;
    if (names.empty())
        for (const auto& [k, v] : observers_) names.push_back(k);
    QAT_ASSIGN_OR_RETURN(auto amax_map, amax(names, calib));
    CalibTable t;
    t.method = calibrator_key(calib, options_.observer);
    t.samples = source_->num_samples();
    for (const auto& n : names) {
        const TensorObserver& ob = observers_.at(n);
        CalibEntry e;
        e.amax = amax_map.at(n);
        HistogramSummary h;
        h.bins = ob.histogram().bins();
        h.min = 0.0f;
        h.max = static_cast<float>(ob.histogram().range());
        if (with_counts) h.counts = ob.histogram().counts();
        e.histogram = h;
        t.tensors[n] = e;
    }
    return t;
}

ActivationRangeFn CalibrationSession::range_fn(const CalibratorOptions& calib) {
    return [this, calib](const ir::Graph& g,
                         const std::vector<std::string>& tensors) -> Result<std::map<std::string, float>> {
        QAT_RETURN_IF_ERROR(observe(g, tensors));
        return amax(tensors, calib);
    };
}

// ---- models that already hold Q/DQ ----------------------------------------------------------

std::vector<std::string> qdq_activation_tensors(const ir::Graph& g) {
    std::vector<std::string> out;
    auto order = g.topo_order();
    std::vector<ir::Node*> nodes = order.ok() ? *order : g.nodes();
    for (const ir::Node* n : nodes) {
        if (n->op_type() != "QuantizeLinear") continue;
        const ir::Value* x = n->input(0);
        if (!x || x->is_constant()) continue;
        if (std::find(out.begin(), out.end(), x->name()) == out.end()) out.push_back(x->name());
    }
    return out;
}

Result<std::unique_ptr<ir::Graph>> strip_qdq_copy(const ir::Graph& g) {
    std::unique_ptr<ir::Graph> c = g.clone();
    passes::quant::StripQdqPass pass;
    passes::PassContext ctx;
    auto r = pass.run(*c, ctx);
    if (!r.ok()) return std::move(r).take_status().with_context("while removing the Q/DQ nodes");
    return c;
}

namespace {

// The DequantizeLinear nodes that read q's output.
std::vector<ir::Node*> dq_readers(const ir::Node* q) {
    std::vector<ir::Node*> out;
    for (const ir::Use& u : q->output(0)->uses())
        if (u.node->op_type() == "DequantizeLinear" && u.index == 0) out.push_back(u.node);
    return out;
}

// Sets the scale (input 1) of every node in `nodes` (one Q and its DQ readers). A scale value
// only these nodes read is updated in place (its name and dims stay); a shared one is replaced,
// for these nodes only, by a new initializer.
Status set_group_scale(ir::Graph& g, const std::vector<ir::Node*>& nodes, const std::vector<float>& scale,
                       const std::string& base) {
    ir::Value* fresh = nullptr;
    for (ir::Node* n : nodes) {
        ir::Value* v = n->input(1);
        if (!v) return invalid_model(n->desc(), " has no scale input");
        bool private_value = v->is_initializer() && !v->is_graph_input() && !v->is_graph_output();
        for (const ir::Use& u : v->uses())
            if (u.index != 1 || std::find(nodes.begin(), nodes.end(), u.node) == nodes.end()) private_value = false;
        std::vector<int64_t> dims = {static_cast<int64_t>(scale.size())};
        if (v->is_constant() && v->constant().numel() == static_cast<int64_t>(scale.size()))
            dims = v->constant().dims();
        else if (scale.size() == 1)
            dims = {};
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

Status check_int8_symmetric(const ir::Node* q) {
    const ir::Value* zp = q->input(2);
    if (!zp)
        return unsupported(q->desc(),
                           " has no zero point, which means uint8 in ONNX; calibration writes symmetric "
                           "int8 scales (place the Q/DQ again with --requantize)");
    if (!zp->is_constant()) return unsupported(q->desc(), ": its zero point '", zp->name(), "' is not a constant");
    const Tensor& z = zp->constant();
    if (z.dtype() != DataType::kInt8)
        return unsupported(q->desc(), " quantizes to ", dtype_name(z.dtype()),
                           "; calibration writes symmetric int8 scales (place the Q/DQ again with --requantize)");
    for (int64_t i = 0; i < z.numel(); ++i)
        if (z.get_as_double(i) != 0.0)
            return unsupported(q->desc(), " has a non-zero zero point; calibration writes symmetric int8 scales ",
                               "(place the Q/DQ again with --requantize)");
    return OkStatus();
}

}  // namespace

Status set_activation_scales(ir::Graph& g, const std::map<std::string, float>& amax) {
    std::vector<ir::Node*> act_q, weight_q;
    for (ir::Node* n : g.nodes()) {
        if (n->op_type() != "QuantizeLinear") continue;
        const ir::Value* x = n->input(0);
        if (!x) return invalid_model(n->desc(), " has no input");
        QAT_RETURN_IF_ERROR(check_int8_symmetric(n));
        (x->is_constant() ? weight_q : act_q).push_back(n);
    }
    // Concat groups: Q nodes whose DQ outputs meet in one Concat with equal scales today.
    std::map<ir::Node*, ir::Node*> parent;
    std::function<ir::Node*(ir::Node*)> find = [&](ir::Node* a) {
        auto it = parent.find(a);
        if (it == parent.end() || it->second == a) return a;
        return it->second = find(it->second);
    };
    auto scalar_scale = [](const ir::Node* q) -> std::optional<float> {
        const ir::Value* s = q->input(1);
        if (!s || !s->is_constant() || s->constant().numel() != 1) return std::nullopt;
        return static_cast<float>(s->constant().get_as_double(0));
    };
    for (ir::Node* n : g.nodes()) {
        if (n->op_type() != "Concat") continue;
        std::vector<ir::Node*> members;
        for (const ir::Value* in : n->inputs()) {
            if (!in || !in->producer() || in->producer()->op_type() != "DequantizeLinear") continue;
            const ir::Value* qv = in->producer()->input(0);
            if (!qv || !qv->producer() || qv->producer()->op_type() != "QuantizeLinear") continue;
            ir::Node* q = qv->producer();
            if (std::find(act_q.begin(), act_q.end(), q) == act_q.end()) continue;
            members.push_back(q);
        }
        if (members.size() < 2) continue;
        auto s0 = scalar_scale(members[0]);
        bool same = s0.has_value();
        for (ir::Node* q : members) same = same && scalar_scale(q) == s0;
        if (!same) continue;
        for (ir::Node* q : members) parent[find(q)] = find(members[0]);
    }
    std::map<ir::Node*, float> group_amax;
    for (ir::Node* q : act_q) {
        const std::string& t = q->input(0)->name();
        auto it = amax.find(t);
        if (it == amax.end()) return not_found("no calibrated range for tensor '", t, "' (read by ", q->desc(), ")");
        ir::Node* r = find(q);
        group_amax[r] = std::max(group_amax.count(r) ? group_amax[r] : 0.0f, it->second);
    }
    for (ir::Node* q : act_q) {
        if (q->input(1) && q->input(1)->is_constant() && q->input(1)->constant().numel() != 1)
            return unsupported(q->desc(), " has per-axis activation scales; calibration writes per-tensor ones");
        std::vector<ir::Node*> nodes = {q};
        for (ir::Node* d : dq_readers(q)) nodes.push_back(d);
        float s = symmetric_scale(group_amax.at(find(q)));
        QAT_RETURN_IF_ERROR(set_group_scale(g, nodes, {s}, q->input(0)->name()));
    }
    for (ir::Node* q : weight_q) {
        const Tensor& w = q->input(0)->constant();
        if (!is_float(w.dtype())) continue;
        Tensor wf = w.dtype() == DataType::kFloat32 ? w : w.cast(DataType::kFloat32);
        const ir::Value* sv = q->input(1);
        int64_t channels = sv && sv->is_constant() ? sv->constant().numel() : 1;
        int axis = -1;
        if (channels > 1) {
            int64_t a = q->attr_int("axis", 1);
            if (a < 0) a += static_cast<int64_t>(wf.rank());
            if (a < 0 || a >= static_cast<int64_t>(wf.rank()) || wf.dim(static_cast<size_t>(a)) != channels)
                return invalid_model(q->desc(), ": ", channels, " scales do not match axis ", q->attr_int("axis", 1),
                                     " of weight ", wf.desc());
            axis = static_cast<int>(a);
        }
        QAT_ASSIGN_OR_RETURN(std::vector<float> m, passes::quant::weight_amax(wf, axis));
        std::vector<float> scales;
        for (float a : m) scales.push_back(symmetric_scale(a));
        std::vector<ir::Node*> nodes = {q};
        for (ir::Node* d : dq_readers(q)) nodes.push_back(d);
        QAT_RETURN_IF_ERROR(set_group_scale(g, nodes, scales, q->input(0)->name()));
    }
    mark_calibrated(g);
    return OkStatus();
}

Status recalibrate_activations(ir::Graph& qdq_graph, const ir::Graph& fp32_graph, CalibrationSession& session,
                               const CalibratorOptions& calib) {
    const std::vector<std::string> tensors = qdq_activation_tensors(qdq_graph);
    QAT_RETURN_IF_ERROR(session.observe(fp32_graph, tensors));
    QAT_ASSIGN_OR_RETURN(auto amax, session.amax(tensors, calib));
    return set_activation_scales(qdq_graph, amax);
}

}  // namespace qat::quant
