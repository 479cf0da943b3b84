#include "quant/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/progress.h"
#include "quant/compare.h"
#include "quant/name_match.h"

namespace qat::quant {

const char* metric_name(Metric m) { return m == Metric::kAccuracy ? "accuracy" : "sqnr"; }

Result<Metric> parse_metric(const std::string& s) {
    if (s == "accuracy") return Metric::kAccuracy;
    if (s == "sqnr") return Metric::kSqnr;
    return invalid_argument("unknown metric '", s, "' (known: accuracy, sqnr)");
}

double metric_value(const EvalResult& r, Metric m) {
    if (m == Metric::kAccuracy) return r.top1;
    return std::min(r.sqnr_db, 200.0);
}

std::string format_metric(const EvalResult& r, Metric m) {
    char buf[64];
    if (m == Metric::kAccuracy) {
        std::snprintf(buf, sizeof buf, "top-1 %.2f%%", r.top1);
        return buf;
    }
    return "SQNR " + format_db(r.sqnr_db);
}

// ---- evaluator --------------------------------------------------------------------------

namespace {

Tensor rows_of(const Tensor& t, int64_t rows) {
    if (t.rank() < 1 || t.dim(0) == rows) return t.clone();
    std::vector<int64_t> d = t.dims();
    d[0] = rows;
    Tensor out = Tensor::empty(t.dtype(), d);
    std::memcpy(out.raw_data(), t.raw_data(), out.nbytes());
    return out;
}

Tensor to_f32(const Tensor& t) { return t.dtype() == DataType::kFloat32 ? t : t.cast(DataType::kFloat32); }

}  // namespace

Result<std::unique_ptr<Evaluator>> Evaluator::create(const ir::Graph& fp32, BatchSource* source, const RunOptions& run,
                                                     bool quiet, std::function<Status(int64_t)> check_classes) {
    auto ev = std::unique_ptr<Evaluator>(new Evaluator());
    ev->source_ = source;
    ev->run_ = run;
    ev->quiet_ = quiet;
    QAT_ASSIGN_OR_RETURN(auto runner, GraphRunner::create(fp32, run, "the FP32 model"));
    if (source->num_samples() <= 0) return invalid_argument("the evaluation data set is empty");
    QAT_RETURN_IF_ERROR(source->rewind());
    ProgressBar bar("evaluate fp32", source->num_samples(), {.quiet = quiet});
    Tensor x, labels;
    int64_t correct = 0, labeled = 0;
    bool first = true;
    for (;;) {
        QAT_ASSIGN_OR_RETURN(bool more, source->next(&x, &labels));
        if (!more) break;
        const int64_t rows = x.dim(0);
        auto hook = [&](const ir::Node& n, const std::vector<Tensor>& outs, int64_t) -> Status {
            if (!first) return OkStatus();
            for (size_t i = 0; i < outs.size() && i < n.num_outputs(); ++i)
                if (n.output(i) && outs[i].defined()) ev->dims_[n.output(i)->name()] = outs[i].dims();
            return OkStatus();
        };
        if (first) ev->dims_[runner->input_name()] = x.dims();
        auto outs = runner->run(x, hook);
        if (!outs.ok()) return std::move(outs).take_status().with_context("while running the FP32 model");
        const Tensor& y = (*outs)[0];
        if (y.rank() < 1 || y.dim(0) < rows || !is_float(y.dtype()))
            return invalid_argument("output '", runner->plan().output_names()[0], "' of the FP32 model has shape ",
                                    dims_to_string(y.dims()), " ", dtype_name(y.dtype()),
                                    "; evaluation needs float scores [batch, classes]");
        if (first) {
            ev->classes_ = y.numel() / y.dim(0);
            if (check_classes) QAT_RETURN_IF_ERROR(check_classes(ev->classes_));
            first = false;
        }
        Tensor ref = to_f32(rows_of(y, rows));
        std::vector<int64_t> am = argmax_rows(ref, rows);
        if (labels.defined() && labels.numel() >= rows) {
            Tensor l = labels.dtype() == DataType::kInt64 ? labels.clone() : labels.cast(DataType::kInt64);
            const int64_t* lp = l.data<int64_t>();
            for (int64_t i = 0; i < rows; ++i) {
                if (lp[i] < 0) continue;
                if (lp[i] >= ev->classes_)
                    return invalid_argument("label ", lp[i], " of evaluation sample ", ev->fp32_.samples + i,
                                            " is out of range for a ", ev->classes_, "-class model");
                ++labeled;
                correct += am[static_cast<size_t>(i)] == lp[i];
            }
            ev->labels_.push_back(l);
        } else {
            ev->labels_.push_back(Tensor());
        }
        ev->ref_out_.push_back(ref);
        ev->fp32_.samples += rows;
        bar.advance(rows);
    }
    bar.finish();
    if (ev->fp32_.samples == 0) return invalid_argument("the evaluation data set is empty");
    ev->fp32_.labeled = labeled == ev->fp32_.samples;
    ev->fp32_.top1 = labeled ? 100.0 * static_cast<double>(correct) / static_cast<double>(labeled) : 0.0;
    ev->fp32_.sqnr_db = std::numeric_limits<double>::infinity();
    ev->fp32_.agreement = 100.0;
    return ev;
}

Result<EvalResult> Evaluator::evaluate(const ir::Graph& g, const std::string& label) {
    ++evaluations_;
    QAT_ASSIGN_OR_RETURN(auto runner, GraphRunner::create(g, run_, "the quantized model"));
    QAT_RETURN_IF_ERROR(source_->rewind());
    ProgressBar bar(label, source_->num_samples(), {.quiet = quiet_});
    EvalResult r;
    ErrorStats err;
    int64_t correct = 0, labeled = 0, agree = 0;
    Tensor x, labels;
    size_t b = 0;
    for (;; ++b) {
        QAT_ASSIGN_OR_RETURN(bool more, source_->next(&x, &labels));
        if (!more) break;
        if (b >= ref_out_.size()) return internal_error("the evaluation data changed between passes");
        const int64_t rows = x.dim(0);
        QAT_ASSIGN_OR_RETURN(auto outs, runner->run(x));
        Tensor y = to_f32(rows_of(outs[0], std::min(rows, outs[0].rank() ? outs[0].dim(0) : 0)));
        const Tensor& ref = ref_out_[b];
        if (y.dims() != ref.dims())
            return invalid_argument("the quantized model's output has shape ", dims_to_string(y.dims()),
                                    ", the FP32 model's ", dims_to_string(ref.dims()));
        err.add(ref.data<float>(), y.data<float>(), y.numel());
        auto a = argmax_rows(y, rows), fa = argmax_rows(ref, rows);
        for (int64_t i = 0; i < rows; ++i) {
            agree += a[static_cast<size_t>(i)] == fa[static_cast<size_t>(i)];
            if (labels_[b].defined()) {
                int64_t l = labels_[b].data<int64_t>()[i];
                if (l < 0) continue;
                ++labeled;
                correct += a[static_cast<size_t>(i)] == l;
            }
        }
        r.samples += rows;
        bar.advance(rows);
    }
    bar.finish();
    if (r.samples != fp32_.samples) return internal_error("the evaluation data changed between passes");
    r.labeled = labeled == r.samples;
    r.top1 = labeled ? 100.0 * static_cast<double>(correct) / static_cast<double>(labeled) : 0.0;
    r.sqnr_db = err.sqnr_db();
    r.agreement = 100.0 * static_cast<double>(agree) / static_cast<double>(r.samples);
    return r;
}

std::map<std::string, int64_t> Evaluator::layer_macs(const ir::Graph& g) const {
    std::map<std::string, int64_t> out;
    auto dims_of = [&](const ir::Value* v) -> std::vector<int64_t> {
        if (!v) return {};
        if (v->is_constant()) return v->constant().dims();
        auto it = dims_.find(v->name());
        if (it != dims_.end()) return it->second;
        // A DequantizeLinear output in a QDQ variant: the dims of what it dequantizes.
        if (v->producer() && v->producer()->op_type() == "DequantizeLinear") {
            const ir::Value* x = v->producer()->input(0);
            if (x && x->producer() && x->producer()->op_type() == "QuantizeLinear") x = x->producer()->input(0);
            if (x && x != v) {
                if (x->is_constant()) return x->constant().dims();
                auto jt = dims_.find(x->name());
                if (jt != dims_.end()) return jt->second;
            }
        }
        return {};
    };
    auto per_sample = [](const std::vector<int64_t>& d) -> int64_t {
        if (d.empty() || d[0] <= 0) return 0;
        return numel_of(d) / d[0];
    };
    for (const ir::Node* n : g.nodes()) {
        const std::string& op = n->op_type();
        if (op != "Conv" && op != "ConvTranspose" && op != "Gemm" && op != "MatMul") continue;
        std::vector<int64_t> x = dims_of(n->input(0)), w = dims_of(n->input(1)), y = dims_of(n->output(0));
        int64_t macs = 0;
        if (op == "Conv" && w.size() >= 2 && !y.empty()) {
            macs = per_sample(y) * (numel_of(w) / w[0]);
        } else if (op == "ConvTranspose" && w.size() >= 2 && !x.empty()) {
            macs = per_sample(x) * (numel_of(w) / w[0]);
        } else if (op == "Gemm" && x.size() == 2 && !y.empty()) {
            int64_t k = n->attr_int("transA", 0) ? x[0] : x[1];
            macs = per_sample(y) * k;
        } else if (op == "MatMul" && !x.empty() && !y.empty()) {
            macs = per_sample(y) * x.back();
        }
        out[n->name()] = macs;
    }
    return out;
}

Int8Coverage int8_coverage(const ir::Graph& g, const std::map<std::string, int64_t>& macs) {
    Int8Coverage c;
    auto from_dq = [](const ir::Value* v) {
        return v && v->producer() && v->producer()->op_type() == "DequantizeLinear";
    };
    for (const ir::Node* n : g.nodes()) {
        auto it = macs.find(n->name());
        if (it == macs.end()) continue;
        const std::string& op = n->op_type();
        if (op != "Conv" && op != "ConvTranspose" && op != "Gemm" && op != "MatMul") continue;
        c.total_macs += it->second;
        if (from_dq(n->input(0)) && from_dq(n->input(1))) c.int8_macs += it->second;
    }
    return c;
}

// ---- variants ---------------------------------------------------------------------------

std::string exact_name_pattern(const std::string& name) {
    if (!is_glob(name)) return name;
    std::string p;
    for (char c : name) {
        if (c == '*' || c == '?' || c == '[' || c == '\\') p += '\\';
        p += c;
    }
    return p;
}

Result<std::unique_ptr<ir::Graph>> build_variant(const ir::Graph& float_model, const QuantizeOptionsFactory& factory,
                                                 CalibrationSession& session, const CalibratorOptions& calib,
                                                 const VariantSpec& v, QuantizeSummary* summary) {
    std::unique_ptr<ir::Graph> g = float_model.clone();
    QAT_ASSIGN_OR_RETURN(QuantizeOptions q, factory());
    q.calib_table.reset();
    q.activation_ranges = session.range_fn(calib);
    if (v.only_layer) {
        q.mode = QuantMode::kPartial;
        q.preset = "none";
        q.cases.clear();
        q.extra_cases.clear();
        q.spec.entries.clear();
        q.spec.mode.reset();
        SpecEntry e;
        e.name = exact_name_pattern(*v.only_layer);
        e.origin = "sensitivity: only '" + *v.only_layer + "'";
        q.spec.entries.push_back(e);
    }
    for (const auto& name : v.float_layers) {
        SpecEntry e;
        e.name = exact_name_pattern(name);
        e.quantize_input = false;
        e.quantize_weight = false;
        e.origin = "mixed precision: keep '" + name + "' float";
        q.spec.entries.push_back(e);
    }
    auto s = quantize_graph(*g, q);
    if (!s.ok()) return std::move(s).take_status();
    if (summary) *summary = std::move(s).value();
    return g;
}

// ---- sensitivity ------------------------------------------------------------------------

namespace {

// Most damaging first: lowest metric with only L quantized, then most recovered by leaving L
// out, then lowest SQNR with only L quantized.
bool more_damaging(const LayerSensitivity& a, const LayerSensitivity& b, Metric m, const EvalResult& int8) {
    auto only = [&](const LayerSensitivity& l) { return l.only ? metric_value(*l.only, m) : 1e300; };
    auto gain = [&](const LayerSensitivity& l) {
        return l.all_but ? metric_value(*l.all_but, m) - metric_value(int8, m) : 0.0;
    };
    auto osq = [&](const LayerSensitivity& l) { return l.only ? std::min(l.only->sqnr_db, 200.0) : 1e300; };
    const double eps = 1e-9;
    if (std::fabs(only(a) - only(b)) > eps) return only(a) < only(b);
    if (std::fabs(gain(a) - gain(b)) > eps) return gain(a) > gain(b);
    return osq(a) < osq(b);
}

}  // namespace

Result<SensitivityReport> analyze_sensitivity(const ir::Graph& float_model, const QuantizeOptionsFactory& factory,
                                              CalibrationSession& session, const CalibratorOptions& calib,
                                              Evaluator& ev, const SensitivityOptions& o) {
    SensitivityReport rep;
    rep.metric = o.metric;
    rep.fp32 = ev.fp32();
    if (o.metric == Metric::kAccuracy && !rep.fp32.labeled)
        return invalid_argument("--metric accuracy needs a labeled evaluation set (use --metric sqnr)");
    QAT_ASSIGN_OR_RETURN(auto full, build_variant(float_model, factory, session, calib, {}));
    QAT_ASSIGN_OR_RETURN(rep.int8, ev.evaluate(*full, "evaluate int8"));
    auto macs = ev.layer_macs(*full);
    rep.coverage = int8_coverage(*full, macs);
    for (const ir::Node* n : quantized_layer_nodes(*full)) {
        LayerSensitivity l;
        l.layer = n->name();
        l.op_type = n->op_type();
        auto it = macs.find(n->name());
        l.macs = it == macs.end() ? 0 : it->second;
        rep.layers.push_back(l);
    }
    if (rep.layers.empty()) return invalid_argument("the placement quantizes no layer of this model");
    for (auto& l : rep.layers) {
        if (o.only) {
            VariantSpec v;
            v.only_layer = l.layer;
            auto g = build_variant(float_model, factory, session, calib, v);
            if (!g.ok()) return std::move(g).take_status().with_context("while quantizing only " + l.layer);
            QAT_ASSIGN_OR_RETURN(l.only, ev.evaluate(**g, "only " + l.layer));
        }
        if (o.all_but) {
            VariantSpec v;
            v.float_layers = {l.layer};
            auto g = build_variant(float_model, factory, session, calib, v);
            if (!g.ok()) return std::move(g).take_status().with_context("while keeping " + l.layer + " float");
            QAT_ASSIGN_OR_RETURN(l.all_but, ev.evaluate(**g, "all but " + l.layer));
        }
    }
    std::stable_sort(rep.layers.begin(), rep.layers.end(), [&](const LayerSensitivity& a, const LayerSensitivity& b) {
        return more_damaging(a, b, o.metric, rep.int8);
    });
    return rep;
}

std::string format_sensitivity_report(const SensitivityReport& r) {
    std::ostringstream os;
    const bool acc = r.metric == Metric::kAccuracy;
    char buf[512];
    std::snprintf(buf, sizeof buf, "FP32: %s   INT8 (all layers): %s, SQNR %s, agreement %.2f%%, INT8 MACs %.1f%%\n",
                  acc ? format_metric(r.fp32, r.metric).c_str() : "reference", format_metric(r.int8, r.metric).c_str(),
                  format_db(r.int8.sqnr_db).c_str(), r.int8.agreement, r.coverage.percent());
    os << buf;
    size_t wn = 5;
    for (const auto& l : r.layers) wn = std::max(wn, std::min<size_t>(l.layer.size(), 40));
    os << "layers, most damaging first (only: this layer alone INT8; all but: every other layer INT8)\n";
    std::snprintf(buf, sizeof buf, "%-4s  %-*s  %-13s  %7s  %16s  %16s  %14s\n", "rank", static_cast<int>(wn), "layer",
                  "op", "MACs %", acc ? "only: top-1" : "only: SQNR", acc ? "all but: top-1" : "all but: SQNR",
                  "only: SQNR");
    os << buf;
    int64_t total = r.coverage.total_macs;
    int rank = 1;
    for (const auto& l : r.layers) {
        auto val = [&](const std::optional<EvalResult>& e) -> std::string {
            if (!e) return "-";
            char b[64];
            if (acc)
                std::snprintf(b, sizeof b, "%.2f%%", e->top1);
            else
                return format_db(e->sqnr_db);
            return b;
        };
        std::snprintf(buf, sizeof buf, "%-4d  %-*s  %-13s  %7.2f  %16s  %16s  %14s\n", rank++, static_cast<int>(wn),
                      l.layer.c_str(), l.op_type.c_str(),
                      total ? 100.0 * static_cast<double>(l.macs) / static_cast<double>(total) : 0.0,
                      val(l.only).c_str(), val(l.all_but).c_str(), l.only ? format_db(l.only->sqnr_db).c_str() : "-");
        os << buf;
    }
    return os.str();
}

namespace {
nlohmann::json eval_json(const EvalResult& e) {
    nlohmann::json j = {{"samples", e.samples}, {"agreement_percent", e.agreement}};
    j["sqnr_db"] = std::isinf(e.sqnr_db) ? nlohmann::json(e.sqnr_db > 0 ? "inf" : "-inf") : nlohmann::json(e.sqnr_db);
    if (e.labeled) j["top1"] = e.top1;
    return j;
}
}  // namespace

std::string sensitivity_report_json(const SensitivityReport& r) {
    nlohmann::json j;
    j["metric"] = metric_name(r.metric);
    j["fp32"] = eval_json(r.fp32);
    j["int8"] = eval_json(r.int8);
    j["int8_mac_percent"] = r.coverage.percent();
    nlohmann::json ls = nlohmann::json::array();
    for (const auto& l : r.layers) {
        nlohmann::json e = {{"layer", l.layer}, {"op_type", l.op_type}, {"macs", l.macs}};
        e["only"] = l.only ? eval_json(*l.only) : nlohmann::json(nullptr);
        e["all_but"] = l.all_but ? eval_json(*l.all_but) : nlohmann::json(nullptr);
        ls.push_back(e);
    }
    j["layers"] = ls;
    return j.dump(2);
}

// ---- mixed precision --------------------------------------------------------------------

bool meets_budget(const EvalResult& fp32, const EvalResult& r, const BudgetOptions& b) {
    if (b.metric == Metric::kAccuracy) return fp32.top1 - r.top1 <= b.budget + 1e-9;
    return r.sqnr_db >= b.budget;
}

Result<MixedPrecisionResult> search_mixed_precision(const ir::Graph& float_model, const QuantizeOptionsFactory& factory,
                                                    CalibrationSession& session, const CalibratorOptions& calib,
                                                    Evaluator& ev, const BudgetOptions& b) {
    MixedPrecisionResult r;
    r.metric = b.metric;
    r.budget = b.budget;
    r.fp32 = ev.fp32();
    if (b.metric == Metric::kAccuracy && !r.fp32.labeled)
        return invalid_argument("--accuracy-budget needs a labeled evaluation set (use --sqnr-budget)");
    if (!(b.budget >= 0.0) && b.metric == Metric::kAccuracy)
        return invalid_argument("--accuracy-budget must be >= 0, got ", b.budget);
    QuantizeSummary summary;
    QAT_ASSIGN_OR_RETURN(auto full, build_variant(float_model, factory, session, calib, {}, &summary));
    QAT_ASSIGN_OR_RETURN(r.full_int8, ev.evaluate(*full, "evaluate int8"));
    auto macs = ev.layer_macs(*full);
    r.full_coverage = int8_coverage(*full, macs);
    r.steps.push_back("all layers INT8: " + format_metric(r.full_int8, b.metric));
    if (meets_budget(r.fp32, r.full_int8, b)) {
        r.met = true;
        r.final = r.full_int8;
        r.final_coverage = r.full_coverage;
        r.graph = std::move(full);
        r.summary = std::move(summary);
        return r;
    }
    SensitivityOptions so;
    so.metric = b.metric;
    so.quiet = b.quiet;
    QAT_ASSIGN_OR_RETURN(SensitivityReport sens, analyze_sensitivity(float_model, factory, session, calib, ev, so));
    VariantSpec v;
    for (const auto& l : sens.layers) {
        v.float_layers.insert(l.layer);
        r.float_layers.push_back(l.layer);
        QuantizeSummary s;
        auto g = build_variant(float_model, factory, session, calib, v, &s);
        if (!g.ok()) return std::move(g).take_status().with_context("while keeping " + l.layer + " float");
        QAT_ASSIGN_OR_RETURN(EvalResult e, ev.evaluate(**g, "float: " + l.layer));
        r.steps.push_back("+ " + l.layer + " float: " + format_metric(e, b.metric));
        r.final = e;
        r.final_coverage = int8_coverage(**g, macs);
        r.graph = std::move(g).value();
        r.summary = std::move(s);
        if (meets_budget(r.fp32, e, b)) {
            r.met = true;
            break;
        }
    }
    r.sensitivity = std::move(sens);
    return r;
}

std::string format_mixed_precision(const MixedPrecisionResult& r) {
    std::ostringstream os;
    char buf[512];
    if (r.metric == Metric::kAccuracy)
        std::snprintf(buf, sizeof buf, "accuracy budget: at most %.2f points of top-1 below FP32 (%.2f%%)\n", r.budget,
                      r.fp32.top1);
    else
        std::snprintf(buf, sizeof buf, "SQNR budget: output SQNR at least %.2f dB against FP32\n", r.budget);
    os << buf;
    for (const auto& s : r.steps) os << "  " << s << "\n";
    if (r.float_layers.empty()) {
        os << "all quantized layers stay INT8";
    } else {
        os << "kept float (" << r.float_layers.size() << "): " << join(r.float_layers);
    }
    os << (r.met ? "" : "  (budget NOT met)") << "\n";
    std::snprintf(buf, sizeof buf, "result: %s (FP32 %s), INT8 MACs %.1f%% (all layers INT8: %.1f%%)\n",
                  format_metric(r.final, r.metric).c_str(),
                  r.metric == Metric::kAccuracy ? format_metric(r.fp32, r.metric).c_str() : "reference",
                  r.final_coverage.percent(), r.full_coverage.percent());
    os << buf;
    return os.str();
}

}  // namespace qat::quant
