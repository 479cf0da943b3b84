#include "quant/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/progress.h"
#include "quant/name_match.h"

namespace qat::quant {

// ---- error statistics -------------------------------------------------------------------

void ErrorStats::add(const float* r, const float* t, int64_t n) {
    double a = 0, e = 0, d = 0, b = 0, m = max_abs;
    for (int64_t i = 0; i < n; ++i) {
        double x = r[i], y = t[i], diff = x - y;
        a += x * x;
        b += y * y;
        d += x * y;
        e += diff * diff;
        m = std::max(m, std::fabs(diff));
    }
    ref2 += a;
    err2 += e;
    dot += d;
    test2 += b;
    max_abs = m;
    count += n;
}

double ErrorStats::sqnr_db() const {
    if (err2 == 0.0) return std::numeric_limits<double>::infinity();
    if (ref2 == 0.0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(ref2 / err2);
}

double ErrorStats::cosine() const {
    if (ref2 == 0.0 && test2 == 0.0) return 1.0;
    if (ref2 == 0.0 || test2 == 0.0) return 0.0;
    return dot / std::sqrt(ref2 * test2);
}

std::string format_db(double db) {
    if (std::isinf(db)) return db > 0 ? "inf dB" : "-inf dB";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f dB", db);
    return buf;
}

// ---- layers -----------------------------------------------------------------------------

namespace {
bool is_qdq(const ir::Node* n) { return n->op_type() == "QuantizeLinear" || n->op_type() == "DequantizeLinear"; }
}  // namespace

std::vector<const ir::Node*> quantized_layer_nodes(const ir::Graph& g) {
    std::vector<const ir::Node*> out;
    for (const ir::Node* n : g.nodes()) {
        if (is_qdq(n) || n->op_type() == "Constant" || n->num_outputs() == 0) continue;
        for (const ir::Value* v : n->inputs())
            if (v && v->producer() && v->producer()->op_type() == "DequantizeLinear") {
                out.push_back(n);
                break;
            }
    }
    return out;
}

std::vector<int64_t> argmax_rows(const Tensor& t, int64_t rows) {
    std::vector<int64_t> out;
    if (!t.defined() || t.rank() < 1 || t.dim(0) == 0) return out;
    const int64_t k = t.numel() / t.dim(0);
    for (int64_t r = 0; r < rows && r < t.dim(0); ++r) {
        int64_t best = 0;
        double bv = t.get_as_double(r * k);
        for (int64_t j = 1; j < k; ++j) {
            double v = t.get_as_double(r * k + j);
            if (v > bv) bv = v, best = j;
        }
        out.push_back(best);
    }
    return out;
}

namespace {

// The FP32 graph plus, per layer, the layer's own Q/DQ chain and a copy of the layer reading
// the FP32 tensors. own_names maps a layer's output name to its copy's output name.
Result<std::unique_ptr<ir::Graph>> build_own_error_graph(const ir::Graph& fp32,
                                                         const std::vector<const ir::Node*>& layers,
                                                         std::map<std::string, std::string>* own_names,
                                                         std::vector<std::string>* without_own) {
    std::unique_ptr<ir::Graph> g = fp32.clone();
    std::unordered_map<const ir::Value*, ir::Value*> consts;
    std::unordered_map<const ir::Node*, ir::Node*> copies;

    std::function<Result<ir::Value*>(const ir::Value*)> resolve;
    auto copy_node = [&](const ir::Node* n, std::vector<ir::Value*> ins, const std::string& suffix) -> ir::Node* {
        std::vector<std::string> outs;
        for (const ir::Value* o : n->outputs())
            outs.push_back(g->unique_value_name((o ? o->name() : n->name()) + suffix));
        ir::Node* c = g->add_node(n->op_type(), ins, outs, g->unique_node_name(n->name() + suffix), n->domain());
        for (const auto& [k, a] : n->attrs()) c->set_attr(k, a);
        for (size_t i = 0; i < n->num_outputs() && i < c->num_outputs(); ++i)
            if (n->output(i)) {
                c->output(i)->set_dtype(n->output(i)->dtype());
                c->output(i)->set_shape(n->output(i)->shape());
            }
        return c;
    };
    resolve = [&](const ir::Value* v) -> Result<ir::Value*> {
        if (v->is_constant()) {
            auto it = consts.find(v);
            if (it != consts.end()) return it->second;
            ir::Value* c = g->add_initializer(g->unique_value_name(v->name() + "__own"), v->constant());
            consts[v] = c;
            return c;
        }
        const ir::Node* p = v->producer();
        if (p && is_qdq(p)) {
            auto it = copies.find(p);
            if (it == copies.end()) {
                std::vector<ir::Value*> ins;
                for (const ir::Value* in : p->inputs()) {
                    if (!in) {
                        ins.push_back(nullptr);
                        continue;
                    }
                    QAT_ASSIGN_OR_RETURN(ir::Value * r, resolve(in));
                    ins.push_back(r);
                }
                it = copies.emplace(p, copy_node(p, ins, "__own")).first;
            }
            return it->second->output(static_cast<size_t>(v->producer_index()));
        }
        ir::Value* f = g->find_value(v->name());
        if (!f) return not_found("its input '", v->name(), "' is not in the FP32 model");
        return f;
    };
    for (const ir::Node* L : layers) {
        std::vector<ir::Value*> ins;
        Status failed;
        for (const ir::Value* v : L->inputs()) {
            if (!v) {
                ins.push_back(nullptr);
                continue;
            }
            auto r = resolve(v);
            if (!r.ok()) {
                failed = std::move(r).take_status();
                break;
            }
            ins.push_back(*r);
        }
        if (!failed.ok()) {
            without_own->push_back(L->name() + " (" + failed.message() + ")");
            continue;
        }
        ir::Node* c = copy_node(L, ins, "__own");
        for (size_t i = 0; i < c->num_outputs(); ++i) g->add_output(c->output(i));
        (*own_names)[L->output(0)->name()] = c->output(0)->name();
    }
    return g;
}

Status check_same_dims(const Tensor& a, const Tensor& b, const std::string& what) {
    if (a.dims() != b.dims())
        return invalid_argument(what, ": FP32 shape ", dims_to_string(a.dims()), ", quantized shape ",
                                dims_to_string(b.dims()));
    if (a.dtype() != DataType::kFloat32 || b.dtype() != DataType::kFloat32)
        return invalid_argument(what, ": compares float32 tensors, got ", dtype_name(a.dtype()), " and ",
                                dtype_name(b.dtype()));
    return OkStatus();
}

// Elements of the first `rows` rows when the tensor's dim 0 is a padded batch.
int64_t valid_elems(const Tensor& t, int64_t rows, int64_t fixed) {
    if (fixed > 0 && rows < fixed && t.rank() >= 1 && t.dim(0) == fixed) return t.numel() / fixed * rows;
    return t.numel();
}

}  // namespace

Result<CompareReport> compare_models(const ir::Graph& fp32, const ir::Graph& qdq, BatchSource& source,
                                     const CompareOptions& o) {
    CompareReport rep;
    std::vector<const ir::Node*> all_layers = quantized_layer_nodes(qdq), layers;
    for (const ir::Node* L : all_layers) {
        const ir::Value* out = L->output(0);
        if (!out || !fp32.find_value(out->name())) {
            rep.unmatched.push_back(L->name() + " (output '" + (out ? out->name() : "") +
                                    "' is not in the FP32 model)");
            continue;
        }
        layers.push_back(L);
    }
    if (all_layers.empty()) return invalid_argument("the quantized model has no layer that reads a DequantizeLinear");

    std::map<std::string, std::string> own_names;
    std::unique_ptr<ir::Graph> ref_graph;
    if (o.own && !layers.empty()) {
        QAT_ASSIGN_OR_RETURN(ref_graph, build_own_error_graph(fp32, layers, &own_names, &rep.without_own));
    } else {
        ref_graph = fp32.clone();
    }
    QAT_ASSIGN_OR_RETURN(auto ref_run, GraphRunner::create(*ref_graph, o.run, "the FP32 model"));
    QAT_ASSIGN_OR_RETURN(auto q_run, GraphRunner::create(qdq, o.run, "the quantized model"));
    if (fp32.outputs().empty() || qdq.outputs().empty()) return invalid_argument("a model has no output");
    rep.output_name = fp32.outputs()[0]->name();

    std::map<std::string, size_t> index;  // layer output name -> rep.layers index
    for (const ir::Node* L : layers) {
        LayerCompare lc;
        lc.node = L->name();
        lc.op_type = L->op_type();
        lc.tensor = L->output(0)->name();
        if (own_names.count(lc.tensor)) lc.own = ErrorStats{};
        index[lc.tensor] = rep.layers.size();
        rep.layers.push_back(std::move(lc));
    }
    std::map<std::string, std::string> own_to_layer;
    for (const auto& [l, c] : own_names) own_to_layer[c] = l;

    if (source.num_samples() <= 0) return invalid_argument("the comparison data set is empty");
    QAT_RETURN_IF_ERROR(source.rewind());
    ProgressBar bar("compare", source.num_samples(), {.quiet = o.quiet});
    std::map<std::string, Tensor> ref_vals, own_vals;
    Tensor x, labels;
    const int64_t fixed_ref = ref_run->fixed_batch(), fixed_q = q_run->fixed_batch();
    for (;;) {
        QAT_ASSIGN_OR_RETURN(bool more, source.next(&x, &labels));
        if (!more) break;
        const int64_t rows = x.dim(0);
        ref_vals.clear();
        own_vals.clear();
        auto ref_hook = [&](const ir::Node& n, const std::vector<Tensor>& outs, int64_t) -> Status {
            for (size_t i = 0; i < outs.size() && i < n.num_outputs(); ++i) {
                const ir::Value* v = n.output(i);
                if (!v || !outs[i].defined()) continue;
                if (index.count(v->name())) ref_vals[v->name()] = outs[i].clone();
                auto it = own_to_layer.find(v->name());
                if (it != own_to_layer.end()) own_vals[it->second] = outs[i].clone();
            }
            return OkStatus();
        };
        auto ref_out = ref_run->run(x, ref_hook);
        if (!ref_out.ok()) return std::move(ref_out).take_status().with_context("while running the FP32 model");
        for (auto& [name, t] : own_vals) {
            LayerCompare& lc = rep.layers[index.at(name)];
            auto r = ref_vals.find(name);
            if (r == ref_vals.end()) continue;
            QAT_RETURN_IF_ERROR(check_same_dims(r->second, t, "layer " + lc.node));
            lc.own->add(r->second.data<float>(), t.data<float>(), valid_elems(t, rows, fixed_ref));
        }
        auto q_hook = [&](const ir::Node& n, const std::vector<Tensor>& outs, int64_t) -> Status {
            for (size_t i = 0; i < outs.size() && i < n.num_outputs(); ++i) {
                const ir::Value* v = n.output(i);
                if (!v || !outs[i].defined()) continue;
                auto it = index.find(v->name());
                if (it == index.end()) continue;
                auto r = ref_vals.find(v->name());
                if (r == ref_vals.end()) continue;
                LayerCompare& lc = rep.layers[it->second];
                QAT_RETURN_IF_ERROR(check_same_dims(r->second, outs[i], "layer " + lc.node));
                lc.cumulative.add(r->second.data<float>(), outs[i].data<float>(), valid_elems(outs[i], rows, fixed_q));
            }
            return OkStatus();
        };
        auto q_out = q_run->run(x, q_hook);
        if (!q_out.ok()) return std::move(q_out).take_status().with_context("while running the quantized model");
        const Tensor& fa = (*ref_out)[0];
        const Tensor& qa = (*q_out)[0];
        QAT_RETURN_IF_ERROR(check_same_dims(fa, qa, "output '" + rep.output_name + "'"));
        rep.output.add(fa.data<float>(), qa.data<float>(), valid_elems(fa, rows, fixed_ref));
        auto a1 = argmax_rows(fa, rows), a2 = argmax_rows(qa, rows);
        for (size_t i = 0; i < a1.size() && i < a2.size(); ++i) rep.top1_matches += a1[i] == a2[i];
        rep.samples += rows;
        bar.advance(rows);
    }
    bar.finish();
    if (rep.samples == 0) return invalid_argument("the comparison data set is empty");
    std::stable_sort(rep.layers.begin(), rep.layers.end(),
                     [](const LayerCompare& a, const LayerCompare& b) { return a.rank_sqnr() < b.rank_sqnr(); });
    return rep;
}

// ---- reports ----------------------------------------------------------------------------

std::string format_compare_report(const CompareReport& r, size_t max_rows) {
    std::ostringstream os;
    size_t wn = 5, wo = 2, wt = 6;
    for (const auto& l : r.layers) {
        wn = std::max(wn, l.node.size());
        wo = std::max(wo, l.op_type.size());
        wt = std::max(wt, l.tensor.size());
    }
    wn = std::min<size_t>(wn, 40);
    wt = std::min<size_t>(wt, 40);
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-*s  %-*s  %-*s  %12s  %12s  %9s  %10s\n", static_cast<int>(wn), "layer",
                  static_cast<int>(wo), "op", static_cast<int>(wt), "output", "SQNR own", "SQNR cum", "cosine",
                  "max-abs");
    os << "per-layer error, worst first (own: the layer alone on FP32 inputs; cum: as the quantized model runs)\n"
       << buf;
    size_t shown = 0;
    for (const auto& l : r.layers) {
        if (max_rows && shown >= max_rows) break;
        const ErrorStats& c = l.cumulative;
        std::snprintf(buf, sizeof buf, "%-*s  %-*s  %-*s  %12s  %12s  %9.6f  %10.4g\n", static_cast<int>(wn),
                      l.node.c_str(), static_cast<int>(wo), l.op_type.c_str(), static_cast<int>(wt), l.tensor.c_str(),
                      l.own ? format_db(l.own->sqnr_db()).c_str() : "-", format_db(c.sqnr_db()).c_str(), c.cosine(),
                      c.max_abs);
        os << buf;
        ++shown;
    }
    if (shown < r.layers.size()) os << "... " << (r.layers.size() - shown) << " more layer(s) (--top 0 shows all)\n";
    for (const auto& u : r.unmatched) os << "not compared: " << u << "\n";
    for (const auto& u : r.without_own) os << "own error not measured: " << u << "\n";
    std::snprintf(buf, sizeof buf,
                  "final output '%s': top-1 agreement %.2f%% (%lld/%lld samples), SQNR %s, cosine %.6f, max-abs %.4g\n",
                  r.output_name.c_str(), r.top1_match_percent(), static_cast<long long>(r.top1_matches),
                  static_cast<long long>(r.samples), format_db(r.output.sqnr_db()).c_str(), r.output.cosine(),
                  r.output.max_abs);
    os << buf;
    return os.str();
}

namespace {
nlohmann::json db_json(double v) {
    if (std::isinf(v)) return v > 0 ? nlohmann::json("inf") : nlohmann::json("-inf");
    return v;
}
nlohmann::json stats_json(const ErrorStats& s) {
    return {{"sqnr_db", db_json(s.sqnr_db())}, {"cosine", s.cosine()}, {"max_abs", s.max_abs}, {"elements", s.count}};
}
}  // namespace

std::string compare_report_json(const CompareReport& r) {
    nlohmann::json j;
    nlohmann::json ls = nlohmann::json::array();
    for (const auto& l : r.layers) {
        nlohmann::json e = {
            {"layer", l.node}, {"op_type", l.op_type}, {"output", l.tensor}, {"cumulative", stats_json(l.cumulative)}};
        e["own"] = l.own ? stats_json(*l.own) : nlohmann::json(nullptr);
        ls.push_back(e);
    }
    j["layers"] = ls;
    j["unmatched"] = r.unmatched;
    j["without_own"] = r.without_own;
    j["samples"] = r.samples;
    j["output"] = {{"name", r.output_name},
                   {"top1_match_percent", r.top1_match_percent()},
                   {"top1_matches", r.top1_matches},
                   {"error", stats_json(r.output)}};
    return j.dump(2);
}

}  // namespace qat::quant
